"""The slot timer: fires each scheduled connector's slots when the wall clock reaches them.

It runs on a thread of its own, with its own database connection
(store_schedule.ScheduleStore), so that the event loop being busy (a burst
of a thousand job starts and ends on the minute) never makes a slot late or
missed; it hands what it fired to admission with a thread-safe wake-up.
It keeps, in memory, when each scheduled connector's next slot is due, sleeps
until the earliest, and then has the store decide every due connector in one
transaction (store_schedule.py: fired, skipped or missed, never twice).  The
memory is only a hint of when to look; the store's cursors are the truth, so
a stale hint costs a wake-up, never a wrong slot.

Slots are wall-clock UTC, but the thread sleeps on the monotonic clock, so a
sleep never lasts more than a second: after a step of the wall clock the
timer sees the new time within one.  A backwards step fires nothing until the
clock passes the next slot after the cursor; a forward one fires the latest
slot and counts the ones it jumped as missed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from scsync.executor.metrics import ExecutorMetrics
from scsync.executor.records import SlotOutcome
from scsync.executor.store import Store
from scsync.executor.store_schedule import ScheduleStore

log = logging.getLogger("scsync.executor.timer")

_MAX_SLEEP_SECONDS = 1.0
_RELOAD_SECONDS = 30.0
"""Re-read every schedule this often even without a change: a safety net."""


class SlotTimer:
    def __init__(self, store: Store, metrics: ExecutorMetrics,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._due: dict[str, int] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._stale = True
        self._loaded_at = 0.0
        self._thread: threading.Thread | None = None

    def start(self, on_fired: Callable[[], None]) -> None:
        """Run on a thread; `on_fired` (called on that thread) wakes admission."""
        self._thread = threading.Thread(target=self._run, args=(on_fired,),
                                        name="slot-timer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Fire nothing more; returns once the thread has ended (blocks up to one pass)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def changed(self) -> None:
        """A connector was created or updated: its schedule may be new, changed or gone."""
        self._stale = True
        self._wake.set()

    def _run(self, on_fired: Callable[[], None]) -> None:
        schedules = self._store.schedule_store()
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    if any(o.execution_id for o in self.tick(schedules)):
                        on_fired()
                except Exception:  # the timer must outlive one bad pass
                    log.exception("firing scheduled slots failed; retrying")
                    self._stale = True
                delay = _MAX_SLEEP_SECONDS
                if self._due:
                    delay = min(delay, max(0.0, min(self._due.values()) - self._clock()))
                self._wake.wait(delay)
        finally:
            schedules.close()

    def tick(self, schedules: ScheduleStore) -> list[SlotOutcome]:
        """Fire whatever is due now; what the store decided."""
        now = self._clock()
        if self._stale or now - self._loaded_at >= _RELOAD_SECONDS:
            self._stale, self._loaded_at = False, now
            self._due = {s.connector_id: s.next_due(now) for s in schedules.schedules()}
        due = [cid for cid, at in self._due.items() if at <= now]
        if not due:
            return []
        outcomes = schedules.fire_slots(due, now)
        decided = self._clock()
        for outcome in outcomes:
            if outcome.next_due is None:
                self._due.pop(outcome.connector_id, None)
            else:
                self._due[outcome.connector_id] = outcome.next_due
            self._count(outcome, decided)
        for missing in set(due) - {o.connector_id for o in outcomes}:  # deleted meanwhile
            self._due.pop(missing, None)
        return outcomes

    def _count(self, outcome: SlotOutcome, decided: float) -> None:
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
