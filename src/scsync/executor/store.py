"""The SQLite store: connection, migrations, and the queries on connectors and executions.

The schema is in schema.py; the outbox's queries (store_outbox.py) and admission's
(store_admission.py) are mixins of `Store`, and the slot timer has its own connection
(store_schedule.py): all SQL lives in these modules.

The connection lives on the event-loop thread and is used by nobody else.  Each
state change is one `BEGIN IMMEDIATE` transaction with no `await` inside it, so
the check-and-start of admission cannot interleave with a trigger or a PATCH:
that, not a lock in Python, is what makes the concurrency limit exact.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from scsync.errors import ScsyncError
from scsync.executor.database import (
    PG_PRELUDE,
    Connection,
    PgConnection,
    PgPool,
    begin,
    integrity_errors,
    is_postgres_url,
    sqlite_connect,
    translate_ddl,
)
from scsync.executor.records import (
    Activity,
    Connector,
    ConnectorSettings,
    Ending,
    Execution,
    Notification,
    Row,
    StoredFile,
)
from scsync.executor.schema import MIGRATIONS
from scsync.executor.store_admission import AdmissionQueries
from scsync.executor.store_outbox import OutboxQueries
from scsync.executor.store_outbox import now_iso as now_iso
from scsync.executor.store_replicas import ReplicaQueries
from scsync.executor.store_schedule import ScheduleStore, schedule_change, schedule_start
from scsync.hosting import prepare_data_dir


class StoreError(ScsyncError):
    """The executor database cannot be opened, migrated or locked."""


class ApiNameTaken(ScsyncError):
    """Another connector already has this api_name."""


def new_id() -> str:
    return str(uuid.uuid4())


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Store(OutboxQueries, AdmissionQueries, ReplicaQueries):
    """SQLite at a path (one executor per file), or PostgreSQL at a URL (any number)."""

    def __init__(self, where: Path | str) -> None:
        self.replica_id: str | None = None
        """On PostgreSQL, this replica's id (replicas.py sets it); None on SQLite."""
        self._path: Path | None = None
        self._pool: PgPool | None = None
        self._lock: Any = None
        self._db: Connection
        if isinstance(where, str) and is_postgres_url(where):
            self._pool = PgPool(where)
            try:
                self._db = self._pool.connection()
                self._migrate_postgres()
            except BaseException:
                self._pool.close()
                raise
            return
        path = Path(where)
        prepare_data_dir(path.parent)
        self._lock = _exclusive_lock(path)
        # Created 0600 before SQLite opens it, which would use the umask (often 0644):
        # the database holds job environments and outputs. SQLite gives its -wal and
        # -shm files the database file's mode.
        try:
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            self._db = sqlite_connect(path)
        except (OSError, sqlite3.Error) as exc:
            self._lock.close()
            raise StoreError(f"cannot open {path}: {exc}") from exc
        self._path = path
        self._migrate_sqlite()

    def listen_connection(self) -> Any:
        """PostgreSQL: a connection of its own, outside the pool, for LISTEN."""
        assert isinstance(self._db, PgConnection), "only replicas on PostgreSQL listen"
        return self._db.listen_connection()

    def ping(self) -> None:
        self._db.execute("SELECT 1").fetchone()

    @property
    def postgres(self) -> bool:
        return self._pool is not None

    def schedule_store(self) -> ScheduleStore:
        """A second connection, for the slot timer's thread (open it on that thread)."""
        if self._pool is not None:
            return ScheduleStore(self._pool.connection())
        assert self._path is not None
        return ScheduleStore(sqlite_connect(self._path))

    def close(self) -> None:
        self._db.close()
        if self._pool is not None:
            self._pool.close()
        else:
            self._lock.close()

    def _migrate_sqlite(self) -> None:
        version: int = self._db.execute("PRAGMA user_version").fetchone()["user_version"]
        _check_version(version)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in _statements(script):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={number}")

    def _migrate_postgres(self) -> None:
        """The same migrations, translated; replicas starting at once take turns."""
        with self.transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            db.execute("CREATE TABLE IF NOT EXISTS scsync_schema (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM scsync_schema").fetchone()
            version = row["version"] if row else 0
            _check_version(version)
            if version == 0:
                db.execute(PG_PRELUDE)
            for script in MIGRATIONS[version:]:
                for statement in _statements(script):
                    db.execute(translate_ddl(statement))
            db.execute("DELETE FROM scsync_schema")
            db.execute("INSERT INTO scsync_schema (version) VALUES (?)", (len(MIGRATIONS),))

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with begin(self._db) as db:
            yield db

    # -- connectors ---------------------------------------------------------

    def get_connector(self, ref: str) -> Connector | None:
        """By id (any UUID spelling) or by api_name; 32 hex letters may be either."""
        row: Row | None = None
        if (canonical := _canonical_uuid(ref)) is not None:
            row = self._db.execute("SELECT * FROM connectors WHERE id = ?", (canonical,)).fetchone()
        if row is None:
            row = self._db.execute(
                "SELECT * FROM connectors WHERE api_name = ?", (ref,)
            ).fetchone()
        return Connector.from_row(row) if row else None

    def list_connectors(
        self, *, status: str | None, search: str | None, offset: int, limit: int,
        order: tuple[str, bool] | None = None, connector_type: str | None = None,
        custom_object: str | None = None, statuses: Sequence[str] | None = None,
    ) -> tuple[int, list[Connector]]:
        where, params = ["1=1"], []
        for column, value in (("status", status), ("connector_type", connector_type),
                              ("custom_object", custom_object)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if statuses is not None:
            where.append("status IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(statuses)))
        if search:
            where.append("(name LIKE ? ESCAPE '\\' OR api_name LIKE ? ESCAPE '\\' "
                         "OR description LIKE ? ESCAPE '\\')")
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            params += [pattern] * 3
        clause = " AND ".join(where)
        # The ordering column comes from dialect's fixed map, never from the request.
        sort = "created, api_name"
        if order is not None:
            column, descending = order
            sort = f"{column} {'DESC' if descending else 'ASC'}, api_name"
        total = self._db.execute(
            f"SELECT count(*) AS n FROM connectors WHERE {clause}", params  # noqa: S608
        ).fetchone()["n"]
        rows = self._db.execute(
            f"SELECT * FROM connectors WHERE {clause} ORDER BY {sort} "  # noqa: S608
            "LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return total, [Connector.from_row(r) for r in rows]

    def create_connector(self, fields: ConnectorSettings) -> Connector:
        now = now_iso()
        row: Row = {**fields, "id": str(uuid.uuid4()), "created": now, "updated": now,
                    "schedule_cursor": schedule_start(fields.get("connector_type"),
                                                      fields.get("cadence"), time.time())}
        row["job"] = json.dumps(row["job"]) if row.get("job") is not None else None
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        try:
            with self.transaction() as db:
                db.execute(
                    f"INSERT INTO connectors ({columns}) VALUES ({marks})",  # noqa: S608
                    list(row.values()),
                )
        except integrity_errors() as exc:
            raise ApiNameTaken(fields["api_name"]) from exc
        created = self.get_connector(row["id"])
        assert created is not None
        return created

    def update_connector(self, connector_id: str, changes: ConnectorSettings) -> Connector:
        if changes:
            values: Row = dict(changes)
            if "job" in values:
                values["job"] = json.dumps(values["job"]) if values["job"] is not None else None
            try:
                with self.transaction() as db:
                    if "cadence" in values or "connector_type" in values:
                        values |= schedule_change(db, connector_id, changes)
                    assignments = ", ".join(f"{name} = ?" for name in values)
                    db.execute(
                        f"UPDATE connectors SET {assignments}, updated = ? WHERE id = ?",  # noqa: S608
                        [*values.values(), now_iso(), connector_id],
                    )
            except integrity_errors() as exc:
                raise ApiNameTaken(changes.get("api_name", "")) from exc
        updated = self.get_connector(connector_id)
        assert updated is not None
        return updated

    # -- executions ---------------------------------------------------------

    def enqueue(
        self, connector_id: str, *, initiated_by: str | None, initiator_email: str | None,
        is_dry_run: bool, diff_check: bool,
    ) -> str:
        execution_id = str(uuid.uuid4())
        values = (execution_id, connector_id, initiated_by, initiator_email, int(is_dry_run),
                  int(diff_check), now_iso())
        if self.postgres:  # one statement, atomic by itself: one round trip, not four
            self._db.execute(_ENQUEUE_COUNTED, values)
            return execution_id
        with self.transaction() as db:
            db.execute(_ENQUEUE, values)
            db.execute("UPDATE connectors SET used_count = used_count + 1 WHERE id = ?",
                       (connector_id,))
        return execution_id

    def get_execution(self, execution_id: str,
                      connector_id: str | None = None) -> Execution | None:
        row: Row | None = self._db.execute(
            "SELECT * FROM executions WHERE id = ?", (_canonical_uuid(execution_id),)
        ).fetchone()
        if row is None or (connector_id is not None and row["connector_id"] != connector_id):
            return None
        return Execution.from_row(row)

    def list_executions(
        self, connector_id: str, *, status: str | None, offset: int, limit: int,
        order: tuple[str, bool] = ("seq", True), include_dry_run: bool = True,
    ) -> tuple[int, list[Execution]]:
        where, params = "connector_id = ?", [connector_id]
        if status:
            where += " AND status = ?"
            params.append(status)
        if not include_dry_run:
            where += " AND is_dry_run = 0"
        column, descending = order  # from dialect's fixed map, never from the request
        sort = f"{column} {'DESC' if descending else 'ASC'}"
        total = self._db.execute(
            f"SELECT count(*) AS n FROM executions WHERE {where}", params  # noqa: S608
        ).fetchone()["n"]
        rows = self._db.execute(
            f"SELECT * FROM executions WHERE {where} ORDER BY {sort} LIMIT ? OFFSET ?",  # noqa: S608
            [*params, limit, offset],
        ).fetchall()
        return total, [Execution.from_row(r) for r in rows]

    def queue_positions(self, connector_id: str) -> dict[str, int]:
        """Each queued execution's place in its connector's queue, 1 for the next to start."""
        rows = self._db.execute(
            "SELECT id FROM executions WHERE connector_id = ? AND status = 'queued' ORDER BY seq",
            (connector_id,),
        ).fetchall()
        return {row["id"]: n for n, row in enumerate(rows, start=1)}

    def running_count(self, connector_id: str) -> int:
        n: int = self._db.execute(
            "SELECT count(*) AS n FROM executions WHERE connector_id = ? AND status = 'running'",
            (connector_id,),
        ).fetchone()["n"]
        return n

    def activity(self, connector_ids: Sequence[str]) -> dict[str, Activity]:
        """Running and queued counts and the newest execution of each connector given, in
        two queries on the index; a connector without executions has none, an unknown id
        is left out."""
        ids = [c for i in connector_ids if (c := _canonical_uuid(i)) is not None]
        if not ids:
            return {}
        given = (json.dumps(ids),)  # one parameter: a JSON array, read by json_each
        out = {row["id"]: Activity(Connector.from_row(row), 0, 0, None)
               for row in self._db.execute(
                   "SELECT * FROM connectors WHERE id IN (SELECT value FROM json_each(?))",
                   given)}
        counts = ("SELECT connector_id, status, count(*) AS n FROM executions"
                  " WHERE status IN ('running', 'queued')"
                  " AND connector_id IN (SELECT value FROM json_each(?))"
                  " GROUP BY connector_id, status")
        newest = ("SELECT * FROM executions WHERE seq IN (SELECT (SELECT max(seq)"
                  " FROM executions WHERE connector_id = c.id) FROM connectors c"
                  " WHERE c.id IN (SELECT value FROM json_each(?)))")
        for row in self._db.execute(counts, given):
            kept = out[row["connector_id"]]
            out[row["connector_id"]] = replace(kept, **{row["status"]: row["n"]})
        for row in self._db.execute(newest, given):
            kept = out[row["connector_id"]]
            out[row["connector_id"]] = replace(kept, last=Execution.from_row(row))
        return out

    def cancel(self, execution_id: str, ending: Ending,
               notifications: Sequence[Notification]) -> bool:
        """End a queued execution; False when it is no longer queued."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE executions SET status = ?, reason = ?, ended_at = ?"
                " WHERE id = ? AND status = 'queued'",
                (ending.status, ending.reason, ending.ended_at, execution_id),
            )
            if cursor.rowcount == 0:
                return False
            self._insert_notifications(db, execution_id, notifications)
        return True

    def finish(self, execution_id: str, ending: Ending,
               notifications: Sequence[Notification], *, owner: str | None = None) -> bool:
        """End a running execution, its report and its notifications in one transaction.

        False (and nothing written) when the execution was not running any more, or, on
        PostgreSQL, not run by `owner` (by default this replica): a replica taken for
        lost never ends what another has ended for it.
        """
        owner = owner or self.replica_id
        now, report = ending.ended_at, ending.report
        assert report is not None, "an execution that ran has a report"
        file_id = report.file_id
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE executions SET status = ?, reason = ?, ended_at = ?, exit_code = ?,"
                " record_counts = ?, report_file_id = ? WHERE id = ? AND status = 'running'"
                " AND (CAST(? AS TEXT) IS NULL OR replica_id = ?)",
                (ending.status, ending.reason, now, ending.exit_code,
                 json.dumps(ending.record_counts) if ending.record_counts is not None else None,
                 file_id, execution_id, owner, owner),
            )
            if cursor.rowcount == 0:
                return False
            db.execute(
                "INSERT INTO files (id, execution_id, name, content_type, content, created)"
                " VALUES (?, ?, ?, 'application/json', ?, ?)",
                (file_id, execution_id, f"report-{execution_id}.json", report.content, now),
            )
            self._insert_notifications(db, execution_id, notifications)
        return True

    def running_executions(self, replica_id: str | None = None) -> list[Execution]:
        """Every running execution; with `replica_id`, those that replica runs."""
        if replica_id is None:
            rows = self._db.execute("SELECT * FROM executions WHERE status = 'running'")
        else:
            rows = self._db.execute("SELECT * FROM executions WHERE status = 'running'"
                                    " AND replica_id = ?", (replica_id,))
        return [Execution.from_row(r) for r in rows.fetchall()]

    def get_file(self, file_id: str) -> StoredFile | None:
        row: Row | None = self._db.execute(
            "SELECT id, name, content_type, content FROM files WHERE id = ?", (file_id,)
        ).fetchone()
        return StoredFile.from_row(row) if row else None

    def counts_by_status(self) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT status, count(*) AS n FROM executions GROUP BY status"
        ).fetchall()
        return {r["status"]: r["n"] for r in rows}


def _exclusive_lock(path: Path) -> Any:
    """One executor per database: two schedulers on one file would break the limits."""
    handle = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 - held until close()
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise StoreError(f"another executor is already serving {path}") from exc
    os.set_inheritable(handle.fileno(), False)
    return handle


_ENQUEUE = ("INSERT INTO executions (id, connector_id, status, initiated_by, initiator_email,"
            " is_dry_run, diff_check, created) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)")

_ENQUEUE_COUNTED = (  # PostgreSQL: the insert and the count in one statement
    "WITH e AS (INSERT INTO executions (id, connector_id, status, initiated_by,"
    " initiator_email, is_dry_run, diff_check, created)"
    " VALUES (?, ?, 'queued', ?, ?, ?, ?, ?) RETURNING connector_id)"
    " UPDATE connectors SET used_count = used_count + 1 WHERE id = (SELECT connector_id FROM e)")

MIGRATION_LOCK = 0x5C5_E0EC
"""The advisory lock PostgreSQL replicas take turns on to migrate."""


def _check_version(version: int) -> None:
    if version > len(MIGRATIONS):
        raise StoreError(f"database schema version {version} is newer than this scsync "
                         f"({len(MIGRATIONS)}); upgrade scsync")


def _statements(script: str) -> list[str]:
    return [s for s in script.split(";") if s.strip()]


def _canonical_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
