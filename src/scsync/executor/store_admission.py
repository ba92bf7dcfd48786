"""Admission's query: start the queued executions that free slots allow, in one transaction.

A mixin of `Store`, on the event loop's connection.  Each call is one
transaction with no `await` inside it, so no two admissions can see the same
free slot: that is what makes the concurrency limit exact.  On SQLite the
transaction is `BEGIN IMMEDIATE`, which no other writer of the file can
interleave.  On PostgreSQL, where replicas admit at once, each connector's
admission lock (a transaction-scoped advisory lock, `ADMISSION_LOCKS`) is taken
first and only then are its running executions counted, in a statement of
their own, so the count includes every admission committed before the lock was
granted.  Only admission raises a connector's running count, and only under
that lock; a trigger or a PATCH never waits for it (a row lock would make every
trigger wait behind an admission's spawns).  The lock is tried (a connector
another replica is admitting is left to it), except after a job's end, when
only its connector is looked at: then it is waited for, and as nothing else is
held, no cycle of waits can form.  A connector with no free slot in the first
read is not locked at all: a slot freed since is handed over by the end that
freed it, and a raised limit wakes every replica once it is committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace

from scsync.executor.database import Connection, is_postgres
from scsync.executor.domain import EXECUTABLE
from scsync.executor.records import Execution, JobProcess
from scsync.executor.store_outbox import now_iso


class AdmissionQueries:
    _db: Connection
    replica_id: str | None

    def transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def admit(self, spawn: Callable[[Execution], JobProcess | None], budget: int,
              connector_id: str | None = None, *, others: bool = False) -> list[Execution]:
        """Mark as running the queued executions free slots allow, oldest first, up to `budget`.

        `spawn` starts each one's job inside this transaction, so the job's process
        is recorded with the admission: a crash can never leave a running execution
        whose job a restart cannot find.  It must not raise.  Connectors take
        turns earliest deadline first; the budget bounds how long one call
        holds the event loop (each spawn is a fork and exec), and the caller calls
        again while it is used up.  With `connector_id` (one of its jobs ended, or it
        was triggered), that connector's queue is looked at, first, and on PostgreSQL
        its lock is waited for rather than its slot left to the next wake-up; with
        `others` too, then every other connector's.
        """
        started: list[Execution] = []
        with self.transaction() as db:
            # Live runs need an executable status; dry runs (as on Kizen) only a slot.
            if connector_id is None or others:
                candidates = db.execute(_ALL_CANDIDATES, (_EXECUTABLE,)).fetchall()
                # The one waited for goes first: a wait while holding no lock can form no
                # cycle with another replica's.
                candidates.sort(key=lambda c: c["id"] != connector_id)
            else:
                candidates = db.execute(_ONE_CANDIDATE, (_EXECUTABLE, connector_id)).fetchall()
            postgres = is_postgres(db)
            for candidate in candidates:
                free = candidate["free"]
                if free <= 0:
                    continue  # no slot as of this read: a slot freed since, its end hands over
                if postgres:
                    lock = _LOCK_WAIT if candidate["id"] == connector_id else _LOCK
                    if not db.execute(lock, (candidate["id"],)).fetchone()["held"]:
                        continue  # another replica is admitting it right now
                    free = db.execute(_FREE, (candidate["id"],)).fetchone()["free"]
                room = min(free, budget - len(started))
                if room <= 0:
                    continue
                now = now_iso()  # after the lock: start times follow the admission order
                rows = db.execute(
                    "SELECT * FROM executions WHERE connector_id = ? AND status = 'queued'"
                    " AND (? = 1 OR is_dry_run = 1) ORDER BY seq LIMIT ?",
                    (candidate["id"], candidate["live"], room),
                ).fetchall()
                for row in rows:
                    if not db.execute(
                        "UPDATE executions SET status = 'running', started_at = ?, reason = NULL,"
                        " replica_id = ? WHERE id = ? AND status = 'queued'",
                        (now, self.replica_id, row["id"]),
                    ).rowcount:
                        continue  # cancelled since it was read (PostgreSQL: another session)
                    execution = replace(Execution.from_row(row), status="running",
                                        started_at=now, reason=None, replica_id=self.replica_id)
                    started.append(execution)
                    if (process := spawn(execution)) is not None:
                        db.execute(
                            "UPDATE executions SET pid = ?, pid_start_time = ?, pgid = ?"
                            " WHERE id = ?",
                            (process.pid, process.start_time, process.pgid, row["id"]),
                        )
                if rows:
                    db.execute("UPDATE connectors SET last_used_at = ? WHERE id = ?",
                               (now, candidate["id"]))
        return started


_EXECUTABLE = json.dumps(sorted(EXECUTABLE))
_CANDIDATE = (
    "SELECT c.id, c.status IN (SELECT value FROM json_each(?)) AS live,"
    " c.max_concurrent_executions - (SELECT count(*) FROM executions r"
    "  WHERE r.connector_id = c.id AND r.status = 'running') AS free FROM connectors c")
_ONE_CANDIDATE = _CANDIDATE + " WHERE c.id = ?"
ADMISSION_LOCKS = 0x5C5A
"""The class of the connectors' admission locks: PostgreSQL advisory locks keyed (class,
hashtext(connector id)), a key space apart from the one-number keys of the migration and
the controller's leader locks."""
_KEY = f"{ADMISSION_LOCKS}, hashtext(?)"
_LOCK = f"SELECT pg_try_advisory_xact_lock({_KEY}) AS held"
_LOCK_WAIT = f"SELECT true AS held FROM (SELECT pg_advisory_xact_lock({_KEY})) l"  # noqa: S608 - constants
_FREE = ("SELECT c.max_concurrent_executions - (SELECT count(*) FROM executions r"
         " WHERE r.connector_id = c.id AND r.status = 'running') AS free"
         " FROM connectors c WHERE c.id = ?")
# Connectors with queued executions, earliest deadline first: the deadline of the next
# one to start (FIFO), in epoch seconds; a manual one's is when it was triggered, a
# scheduled one's its connector's next slot (after which that slot would be skipped).
_ALL_CANDIDATES = _CANDIDATE + (  # noqa: S608 - constants only, no value from a request
    " WHERE c.id IN (SELECT connector_id FROM executions WHERE status = 'queued')"
    " ORDER BY (SELECT CASE WHEN q.scheduled_for IS NULL"
    "   THEN julianday(q.created) * 86400.0 - 210866760000.0"
    "   ELSE q.scheduled_for + coalesce(c.cadence, 0) END"
    "  FROM executions q WHERE q.connector_id = c.id AND q.status = 'queued'"
    "  ORDER BY q.seq LIMIT 1)")
