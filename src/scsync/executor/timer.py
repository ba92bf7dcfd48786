"""The slot timer: fires each scheduled connector's slots when the wall clock reaches them.

It keeps, in memory, when each scheduled connector's next slot is due, sleeps
until the earliest, and then has the store decide every due connector in one
transaction (store_schedule.py: fired, skipped or missed, never twice).  The
memory is only a hint of when to look; the store's cursors are the truth, so
a stale hint costs a wake-up, never a wrong slot.

Slots are wall-clock UTC, but asyncio sleeps on the monotonic clock, so a
sleep never lasts more than a second: after a step of the wall clock the
timer sees the new time within one.  A backwards step fires nothing until the
clock passes the next slot after the cursor; a forward one fires the latest
slot and counts the ones it jumped as missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from scsync.executor.metrics import ExecutorMetrics
from scsync.executor.records import SlotOutcome
from scsync.executor.store import Store

log = logging.getLogger("scsync.executor.timer")

_MAX_SLEEP_SECONDS = 1.0
_RELOAD_SECONDS = 30.0
"""Re-read every schedule this often even without a change: a safety net."""


class SlotTimer:
    def __init__(self, store: Store, metrics: ExecutorMetrics, on_fired: Callable[[], None],
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._metrics = metrics
        self._on_fired = on_fired
        self._clock = clock
        self._due: dict[str, int] = {}
        self._changed = asyncio.Event()
        self._stale = True
        self._loaded_at = 0.0

    def changed(self) -> None:
        """A connector was created or updated: its schedule may be new, changed or gone."""
        self._stale = True
        self._changed.set()

    def next_wakeup(self) -> float | None:
        return min(self._due.values(), default=None)

    async def run(self) -> None:
        while True:
            self._changed.clear()
            try:
                self.tick()
            except Exception:  # the timer must outlive one bad pass
                log.exception("firing scheduled slots failed; retrying")
                self._stale = True
            delay = _MAX_SLEEP_SECONDS
            if (earliest := self.next_wakeup()) is not None:
                delay = min(delay, max(0.0, earliest - self._clock()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=delay)

    def tick(self) -> list[SlotOutcome]:
        """Fire whatever is due now; what the store decided."""
        now = self._clock()
        if self._stale or now - self._loaded_at >= _RELOAD_SECONDS:
            self._due = {s.connector_id: s.next_due(now) for s in self._store.schedules()}
            self._stale, self._loaded_at = False, now
        due = [cid for cid, at in self._due.items() if at <= now]
        if not due:
            return []
        outcomes = self._store.fire_slots(due, now)
        decided = self._clock()
        fired = 0
        for outcome in outcomes:
            if outcome.next_due is None:
                self._due.pop(outcome.connector_id, None)
            else:
                self._due[outcome.connector_id] = outcome.next_due
            fired += self._count(outcome, decided)
        for missing in set(due) - {o.connector_id for o in outcomes}:  # deleted meanwhile
            self._due.pop(missing, None)
        if fired:
            self._on_fired()
        return outcomes

    def _count(self, outcome: SlotOutcome, decided: float) -> int:
        slots = self._metrics.slots
        if outcome.missed:
            slots.labels("missed").inc(outcome.missed)
            log.warning("connector %s: %d scheduled slot(s) passed while the executor was "
                        "not running; they are counted as missed", outcome.connector_id,
                        outcome.missed)
        if outcome.skipped:
            slots.labels("skipped").inc()
        if outcome.execution_id is not None and outcome.slot is not None:
            slots.labels("fired").inc()
            self._metrics.fire_lateness.observe(max(0.0, decided - outcome.slot))
            return 1
        return 0
