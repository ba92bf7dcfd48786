"""The schedule's queries: which connectors have a schedule, and what each due slot comes to.

`ScheduleStore` is the slot timer's own connection to the executor's database:
the timer runs on a thread of its own, so that a busy event loop (a burst of
job starts and ends) never delays a slot.  It only inserts queued executions
and moves cursors, each in a `BEGIN IMMEDIATE` transaction, so admission (on
the loop's connection) stays exact.  A connector's `schedule_cursor` is the latest slot already
decided; a slot comes due when the wall clock passes the next one.  Deciding
is one transaction over every due connector (`fire_slots`): the cursor moves
forward by compare-and-set (the cadence and the old cursor in the WHERE), and
a fired slot's execution carries it in `scheduled_for`, which a unique index
on (connector, slot) allows once.  So a slot fires at most once whatever the
clock does (a backwards step finds the cursor ahead of it) and whoever else
decides (the next issue's replicas on one database).

Coalescing and missing:
- while a scheduled execution of the connector is still queued, a due slot is
  *skipped*: counted, never queued behind it as a backlog;
- when more than one slot passed since the cursor (the executor was down, or
  the clock stepped forward), only the latest fires; the older ones are
  *missed*, counted and not fired.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from scsync import cadence
from scsync.executor.database import Connection, begin
from scsync.executor.records import ConnectorSettings, Row, SlotOutcome
from scsync.executor.store_outbox import now_iso

SCHEDULER = "scheduler"
"""Who a scheduled execution says started it (`initiated_by`, Kizen's `started_by`)."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """A scheduled connector as the timer needs it: its cadence and where its slots stand."""

    connector_id: str
    cadence: int
    cursor: int | None

    def next_due(self, now: float) -> int:
        """When its next slot is due: now, when slots passed since the cursor."""
        if self.cursor is None:
            return int(now)
        return self.cursor + self.cadence


def schedule_start(connector_type: str | None, seconds: int | None, now: float) -> int | None:
    """The cursor of a schedule that begins now: its first slot is the next boundary."""
    every = cadence.schedule_of(connector_type, seconds)
    return cadence.slot_at(now, every) if every else None


class ScheduleStore:
    def __init__(self, db: Connection) -> None:
        self._db = db

    def close(self) -> None:
        self._db.close()

    def transaction(self) -> AbstractContextManager[Connection]:
        return begin(self._db)

    def schedules(self) -> list[Schedule]:
        rows = self._db.execute(
            "SELECT id, cadence, schedule_cursor FROM connectors"
            " WHERE connector_type = ? AND cadence IS NOT NULL",
            (cadence.SCHEDULE_TYPE,),
        ).fetchall()
        return [Schedule(r["id"], r["cadence"], r["schedule_cursor"]) for r in rows]

    def fire_slots(self, connector_ids: Sequence[str], now: float) -> list[SlotOutcome]:
        """Decide the due slot of each connector at wall-clock time `now`, in one transaction.

        Shortest cadence first: in a burst, admission starts the executions in this
        order, and the connector whose next slot comes soonest is the one a delay
        would make skip a slot.
        """
        outcomes: list[SlotOutcome] = []
        created = now_iso()
        ids = json.dumps(list(connector_ids))
        with self.transaction() as db:
            rows = db.execute(
                "SELECT id, connector_type, cadence, schedule_cursor FROM connectors"
                " WHERE id IN (SELECT value FROM json_each(?)) ORDER BY cadence, id", (ids,),
            ).fetchall()
            waiting = {r["connector_id"] for r in db.execute(
                "SELECT DISTINCT connector_id FROM executions WHERE status = 'queued'"
                " AND trigger_type = 'schedule'"
                " AND connector_id IN (SELECT value FROM json_each(?))", (ids,),
            ).fetchall()}
            for row in rows:
                outcomes.append(_decide(db, row, now, created,
                                        queued=row["id"] in waiting))
        return outcomes


def _decide(db: Connection, row: Row, now: float, created: str, *,
            queued: bool) -> SlotOutcome:
    connector_id: str = row["id"]
    every = cadence.schedule_of(row["connector_type"], row["cadence"])
    if every is None:
        return SlotOutcome(connector_id, next_due=None)
    slot = cadence.slot_at(now, every)
    cursor: int | None = row["schedule_cursor"]
    if cursor is None:
        # Scheduled before this executor kept cursors: the schedule begins now.
        db.execute("UPDATE connectors SET schedule_cursor = ? WHERE id = ?"
                   " AND schedule_cursor IS NULL", (slot, connector_id))
        return SlotOutcome(connector_id, next_due=slot + every)
    if slot <= cursor:  # not due yet, or the clock stepped back: never a slot twice
        return SlotOutcome(connector_id, next_due=cursor + every)
    missed = (slot - cursor) // every - 1
    moved = db.execute(
        "UPDATE connectors SET schedule_cursor = ?, schedule_last_slot = ?,"
        " schedule_skipped = schedule_skipped + ?, schedule_missed = schedule_missed + ?,"
        " used_count = used_count + ? WHERE id = ? AND schedule_cursor = ? AND cadence = ?",
        (slot, slot, int(queued), missed, int(not queued), connector_id, cursor, every),
    ).rowcount
    if not moved:  # decided by someone else since we read it
        return SlotOutcome(connector_id, next_due=slot + every)
    if queued:
        return SlotOutcome(connector_id, slot + every, slot, skipped=True, missed=missed)
    execution_id = str(uuid.uuid4())
    db.execute(
        "INSERT INTO executions (id, connector_id, status, initiated_by, is_dry_run,"
        " diff_check, created, trigger_type, scheduled_for)"
        " VALUES (?, ?, 'queued', ?, 0, 0, ?, 'schedule', ?)",
        (execution_id, connector_id, SCHEDULER, created, slot),
    )
    return SlotOutcome(connector_id, slot + every, slot, execution_id, missed=missed)


def schedule_change(db: Connection, connector_id: str,
                     changes: ConnectorSettings) -> Row:
    """A new schedule starts from the next boundary, so no slot of the old one fires after."""
    old = db.execute("SELECT connector_type, cadence FROM connectors WHERE id = ?",
                     (connector_id,)).fetchone()
    kind = changes.get("connector_type", old["connector_type"])
    seconds = changes.get("cadence", old["cadence"])
    if cadence.schedule_of(kind, seconds) == cadence.schedule_of(old["connector_type"],
                                                                 old["cadence"]):
        return {}
    return {"schedule_cursor": schedule_start(kind, seconds, time.time())}
