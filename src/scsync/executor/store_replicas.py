"""The replicas' leases, on PostgreSQL: who is alive, and who was lost.

A mixin of `Store`.  Every replica has a row it renews; times are the
database's clock, `extract(epoch FROM clock_timestamp())` (one clock for all
replicas, whatever their hosts' say).  A row not renewed for its lease is taken
for lost by whichever replica looks first (one UPDATE ... RETURNING: exactly one
replica wins each row), and that replica ends the lost one's running
executions.  A lost replica never gets its row back: its renewal fails, and it
starts again under a new id.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from scsync.executor.database import Connection

CHANNEL = "scsync_admission"
"""What replicas LISTEN on: a change that may let a queued execution start."""


class ReplicaQueries:
    _db: Connection

    def transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def register_replica(self, replica_id: str, host: str, pid: int, started_at: str,
                         lease_seconds: float) -> bool:
        """Take (or, after a restart, take back) this replica's lease; False when the id
        was taken for lost meanwhile (then register under a new one)."""
        with self.transaction() as db:
            row = db.execute("SELECT state FROM executor_replicas WHERE id = ? FOR UPDATE",
                             (replica_id,)).fetchone()
            if row is not None and row["state"] != "live":
                return False
            db.execute(
                "INSERT INTO executor_replicas (id, host, pid, started_at, renewed_at,"
                " lease_seconds, state) VALUES (?, ?, ?, ?,"
                " extract(epoch FROM clock_timestamp()), ?, 'live')"
                " ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,"
                " started_at = excluded.started_at, renewed_at = excluded.renewed_at,"
                " lease_seconds = excluded.lease_seconds",
                (replica_id, host, pid, started_at, lease_seconds))
        return True

    def renew_lease(self, replica_id: str) -> bool:
        """False when the lease is no longer this replica's (it was taken for lost)."""
        return bool(self._db.execute(
            "UPDATE executor_replicas SET renewed_at = extract(epoch FROM clock_timestamp())"
            " WHERE id = ? AND state = 'live'", (replica_id,)).rowcount)

    def take_lost(self) -> list[str]:
        """The replicas whose lease ran out, now marked lost: this caller ends their runs."""
        rows = self._db.execute(
            "UPDATE executor_replicas SET state = 'lost' WHERE state = 'live'"
            " AND renewed_at + lease_seconds < extract(epoch FROM clock_timestamp())"
            " RETURNING id").fetchall()
        return [r["id"] for r in rows]

    def next_expiry(self, replica_id: str) -> float | None:
        """Seconds until the first lease of another live replica runs out (the database's
        clock; negative when one already has); None when there is no other."""
        row = self._db.execute(
            "SELECT min(renewed_at + lease_seconds) - extract(epoch FROM clock_timestamp())"
            " AS left_s FROM executor_replicas WHERE state = 'live' AND id <> ?",
            (replica_id,)).fetchone()
        return None if row is None or row["left_s"] is None else float(row["left_s"])

    def retire_replica(self, replica_id: str) -> None:
        """A clean stop: nothing of it runs any more, so nobody needs to take it for lost."""
        self._db.execute("DELETE FROM executor_replicas WHERE id = ?", (replica_id,))

    def replicas(self) -> list[dict[str, object]]:
        rows = self._db.execute(
            "SELECT id, host, pid, started_at, state,"
            " extract(epoch FROM clock_timestamp()) - renewed_at AS silent_for"
            " FROM executor_replicas ORDER BY started_at").fetchall()
        return [dict(r) for r in rows]

    def notify_replicas(self, replica_id: str) -> None:
        """Wake the other replicas' admission (delivered when this statement commits)."""
        self._db.execute("SELECT pg_notify(?, ?)", (CHANNEL, replica_id))
