"""The executor's database schema, as the list of migrations that builds it.

Append only: a migration, once released, is never edited.  `PRAGMA user_version`
records how many have been applied; `Store` applies the rest at start-up.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE connectors (
        id TEXT PRIMARY KEY,
        api_name TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        max_concurrent_executions INTEGER NOT NULL,
        create_only INTEGER NOT NULL,
        additional_notification_email TEXT,
        additional_error_notification_email TEXT,
        execution_ended_webhook_url TEXT,
        job TEXT,
        used_count INTEGER NOT NULL DEFAULT 0,
        last_used_at TEXT,
        created TEXT NOT NULL,
        updated TEXT NOT NULL
    );
    CREATE TABLE executions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        connector_id TEXT NOT NULL REFERENCES connectors(id),
        status TEXT NOT NULL,
        reason TEXT,
        initiated_by TEXT,
        initiator_email TEXT,
        is_dry_run INTEGER NOT NULL,
        diff_check INTEGER NOT NULL,
        created TEXT NOT NULL,
        started_at TEXT,
        ended_at TEXT,
        pid INTEGER,
        exit_code INTEGER,
        record_counts TEXT,
        report_file_id TEXT,
        attempt INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX executions_queue ON executions (connector_id, status, seq);
    CREATE INDEX executions_status ON executions (status);
    CREATE TABLE files (
        id TEXT PRIMARY KEY,
        execution_id TEXT NOT NULL REFERENCES executions(id),
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        content BLOB NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        execution_id TEXT NOT NULL REFERENCES executions(id),
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        last_error TEXT,
        created TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
    CREATE INDEX outbox_execution ON outbox (execution_id);
    CREATE TABLE delivery_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        outbox_id INTEGER NOT NULL REFERENCES outbox(id),
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        ok INTEGER NOT NULL,
        detail TEXT NOT NULL
    );
    """,
    # Who a job's process is: a pid alone may be reused by the time a restart looks,
    # and a job may clear its environment, so the start time tells them apart.
    """
    ALTER TABLE executions ADD COLUMN pid_start_time INTEGER;
    ALTER TABLE executions ADD COLUMN pgid INTEGER
    """,
    # Kizen's fields of a connector (what it loads into, how it is triggered) and of
    # an execution (what started it); rows from before read as Kizen's defaults.
    """
    ALTER TABLE connectors ADD COLUMN connector_type TEXT;
    ALTER TABLE connectors ADD COLUMN custom_object TEXT;
    ALTER TABLE connectors ADD COLUMN cadence INTEGER;
    ALTER TABLE connectors ADD COLUMN activity_object TEXT;
    ALTER TABLE connectors ADD COLUMN sql_version TEXT;
    ALTER TABLE executions ADD COLUMN trigger_type TEXT NOT NULL DEFAULT 'manual'
    """,
    # Scheduled runs: an execution's slot (epoch seconds, unique per connector, so no
    # slot ever fires twice), and each connector's schedule cursor (every slot up to
    # it is decided: fired, skipped while one was queued, or missed) and counts.
    """
    ALTER TABLE executions ADD COLUMN scheduled_for INTEGER;
    CREATE UNIQUE INDEX executions_slot ON executions (connector_id, scheduled_for)
        WHERE scheduled_for IS NOT NULL;
    ALTER TABLE connectors ADD COLUMN schedule_cursor INTEGER;
    ALTER TABLE connectors ADD COLUMN schedule_last_slot INTEGER;
    ALTER TABLE connectors ADD COLUMN schedule_skipped INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE connectors ADD COLUMN schedule_missed INTEGER NOT NULL DEFAULT 0
    """,
    # A connector's newest execution without walking its queue index by status (the
    # default order of its executions, and the controller's overview of many at once).
    """
    CREATE INDEX executions_newest ON executions (connector_id, seq)
    """,
    # Replicas on one PostgreSQL database (unused on SQLite, one process per file):
    # which replica runs an execution, each replica's lease, and which replica is
    # delivering an outbox row until when.
    """
    ALTER TABLE executions ADD COLUMN replica_id TEXT;
    CREATE INDEX executions_replica ON executions (replica_id, status);
    CREATE TABLE executor_replicas (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        renewed_at REAL NOT NULL,
        lease_seconds REAL NOT NULL,
        state TEXT NOT NULL
    );
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
    ALTER TABLE outbox ADD COLUMN claimed_until REAL
    """,
)
