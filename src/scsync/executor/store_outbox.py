"""The outbox's queries: rows written with an ending, attempts recorded by the delivery worker.

A mixin of `Store`, so these run on the same connection and, for
`_insert_notifications`, inside the transaction that ends the execution.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from scsync.executor.database import Connection, is_postgres
from scsync.executor.records import Attempt, Delivery, Notification, NotificationState


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


CLAIM_SECONDS = 120.0
"""How long a replica has to send a claimed row before any replica may (PostgreSQL)."""


class OutboxQueries:
    _db: Connection
    replica_id: str | None

    def transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _insert_notifications(
        self, db: Connection, execution_id: str, notifications: Sequence[Notification]
    ) -> None:
        now, created = datetime.now(UTC).timestamp(), now_iso()
        db.executemany(
            "INSERT INTO outbox (execution_id, kind, target, payload, state, next_attempt_at,"
            " last_error, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(execution_id, n.kind, n.target, json.dumps(n.payload), n.state, now,
              n.last_error, created) for n in notifications],
        )

    def due_deliveries(self, now: float, limit: int, exclude: Sequence[int],
                       claim_seconds: float = CLAIM_SECONDS) -> list[Delivery]:
        """Rows due now, at most `limit`.  On PostgreSQL each is claimed for this replica
        until `claim_seconds` from now (`FOR UPDATE SKIP LOCKED`: a row another replica is
        claiming is left to it), so no two replicas send it at once; a claim that runs out
        (its replica died while sending) lets any replica send it again: at least once."""
        if is_postgres(self._db):  # one statement, atomic by itself: no BEGIN and COMMIT
            rows = self._db.execute(
                "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id IN ("
                " SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?"
                " AND (claimed_until IS NULL OR claimed_until < ?)"
                " AND id NOT IN (SELECT CAST(value AS INTEGER) FROM json_each(?))"
                " ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED)"
                " RETURNING id, kind, target, payload, attempts, next_attempt_at",
                (self.replica_id, now + claim_seconds, now, now,
                 json.dumps(list(exclude)), limit)).fetchall()
            rows.sort(key=lambda r: (r["next_attempt_at"], r["id"]))
            return [Delivery.from_row(r) for r in rows]
        rows = self._db.execute(
            "SELECT id, kind, target, payload, attempts FROM outbox"
            " WHERE state = 'pending' AND next_attempt_at <= ?"
            " AND id NOT IN (SELECT CAST(value AS INTEGER) FROM json_each(?))"
            " ORDER BY next_attempt_at, id"
            " LIMIT ?", (now, json.dumps(list(exclude)), limit),
        ).fetchall()
        return [Delivery.from_row(r) for r in rows]

    def next_delivery_at(self, exclude: Sequence[int]) -> float | None:
        row = self._db.execute(
            "SELECT min(CASE WHEN claimed_until > next_attempt_at THEN claimed_until"
            " ELSE next_attempt_at END) AS t FROM outbox WHERE state = 'pending'"
            " AND id NOT IN (SELECT CAST(value AS INTEGER) FROM json_each(?))",
            (json.dumps(list(exclude)),),
        ).fetchone()
        value: float | None = row["t"]
        return value

    def record_attempt(
        self, outbox_id: int, *, ok: bool, detail: str, retry_at: float | None
    ) -> None:
        """Keep the attempt; the row becomes sent, failed (no retry_at) or stays pending."""
        state = "sent" if ok else ("pending" if retry_at is not None else "failed")
        with self.transaction() as db:
            attempt = db.execute(
                "UPDATE outbox SET attempts = attempts + 1, state = ?, last_error = ?,"
                " next_attempt_at = coalesce(?, next_attempt_at), claimed_until = NULL"
                " WHERE id = ? RETURNING attempts",
                (state, None if ok else detail, retry_at, outbox_id),
            ).fetchone()["attempts"]
            db.execute(
                "INSERT INTO delivery_attempts (outbox_id, attempt, at, ok, detail)"
                " VALUES (?, ?, ?, ?, ?)", (outbox_id, attempt, now_iso(), int(ok), detail),
            )

    def notifications_of(self, execution_id: str) -> list[NotificationState]:
        """An execution's outbox rows, each with the result of every attempt so far."""
        notes = self._db.execute(
            "SELECT id, kind, target, state, attempts, last_error FROM outbox"
            " WHERE execution_id = ? ORDER BY id", (execution_id,),
        ).fetchall()
        history = self._db.execute(
            "SELECT a.outbox_id, a.attempt, a.at, a.ok, a.detail FROM delivery_attempts a"
            " JOIN outbox o ON o.id = a.outbox_id WHERE o.execution_id = ? ORDER BY a.id",
            (execution_id,),
        ).fetchall()
        attempts: dict[int, list[Attempt]] = {}
        for h in history:
            attempts.setdefault(h["outbox_id"], []).append(Attempt(
                attempt=h["attempt"], at=h["at"], ok=bool(h["ok"]), detail=h["detail"]))
        return [NotificationState(kind=n["kind"], target=n["target"], state=n["state"],
                                  attempts=n["attempts"], last_error=n["last_error"],
                                  history=attempts.get(n["id"], []))
                for n in notes]

    def outbox_counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT state, count(*) AS n FROM outbox GROUP BY state").fetchall()
        return {r["state"]: r["n"] for r in rows}
