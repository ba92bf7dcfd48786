"""The controller's memory: which connector each manifest path manages, and what it applied.

One SQLite file (WAL) under the data folder; with `--lock`, tables in PostgreSQL
instead (`controller/postgres.py` runs the same statements there, so that a
standby taking over knows what the leader applied).  It is what turns an edited
`api_name` into a recognised API-name change rather than a delete and a create:
a path (or the path git says it was renamed from) maps to a connector id and
the api_name last applied to it.  Losing the file is survivable: the plan then
matches live connectors by api_name and by name (see plan.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from scsync.controller.journal import PASSES_KEPT, PassRecord
from scsync.errors import ScsyncError
from scsync.hosting import prepare_data_dir, transaction

# Every statement below is written once, in SQL that SQLite and PostgreSQL both read
# (`?` marks a parameter; controller/postgres.py runs them on PostgreSQL).
SCHEMA = """
CREATE TABLE IF NOT EXISTS managed (
    path TEXT PRIMARY KEY,
    connector_id TEXT NOT NULL,
    api_name TEXT NOT NULL,
    commit_id TEXT,
    applied_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS passes (
    number INTEGER PRIMARY KEY,
    record TEXT NOT NULL
);
"""

LAST_SEEN = "last_seen_commit"
LAST_APPLIED = "last_applied_commit"


@dataclass(frozen=True, slots=True)
class Record:
    path: str
    connector_id: str
    api_name: str
    commit: str | None


class StateError(ScsyncError):
    """The controller's data folder or state database cannot be used."""


@contextmanager
def _errors(path: Path) -> Iterator[None]:
    """OS and SQLite failures as one readable error (a bad --data-dir, a damaged file)."""
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StateError(f"cannot use the controller state {path}: {reason} (--data-dir "
                         "must be a folder scsync can write; move a damaged controller.db "
                         "away and the next run matches connectors by api_name and name)"
                         ) from None


class Writer(Protocol):
    """What a transaction runs statements on: a SQLite connection, or PostgreSQL's."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


class State:
    """Thread-safe: the reconcile loop writes while the HTTP endpoints may read.

    With `create=False` (plan, which only reads) nothing is created: a missing
    file reads as an empty state held in memory.  Subclasses over another
    database (`postgres.PostgresState`) replace `_rows`, `_tx`, `close` only.
    """

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self._lock = threading.Lock()
        with _errors(path):
            if path.parent.exists() and not path.parent.is_dir():
                raise NotADirectoryError(20, "not a folder", str(path.parent))
            if not create and not path.exists():
                self._db = sqlite3.connect(":memory:", check_same_thread=False,
                                           isolation_level=None)
            else:
                if create:
                    prepare_data_dir(path.parent)
                self._db = sqlite3.connect(path, check_same_thread=False,
                                           isolation_level=None, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    def __enter__(self) -> State:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[Writer]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._lock, _errors(self.path), transaction(self._db) as db:
            yield db

    def _rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock, _errors(self.path):
            return self._db.execute(sql, parameters).fetchall()

    def records(self) -> dict[str, Record]:
        rows = self._rows("SELECT path, connector_id, api_name, commit_id FROM managed")
        return {r[0]: Record(*r) for r in rows}

    def save(self, records: Iterable[Record], forget: Iterable[str] = ()) -> None:
        """Upsert `records` and drop the paths in `forget`, in one transaction."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._tx() as db:
            db.executemany("DELETE FROM managed WHERE path = ?", [(p,) for p in forget])
            db.executemany(
                "INSERT INTO managed (path, connector_id, api_name, commit_id, applied_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
                "connector_id = excluded.connector_id, api_name = excluded.api_name, "
                "commit_id = excluded.commit_id, applied_at = excluded.applied_at",
                [(r.path, r.connector_id, r.api_name, r.commit, now) for r in records],
            )

    def get(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return None if not rows or rows[0][0] is None else str(rows[0][0])

    def put(self, key: str, value: str | None) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def add_pass(self, record: PassRecord, keep: int = PASSES_KEPT) -> None:
        """Keep a pass (replacing one of the same number) and only the latest `keep`."""
        with self._tx() as db:
            db.execute("INSERT INTO passes (number, record) VALUES (?, ?) ON CONFLICT(number) "
                       "DO UPDATE SET record = excluded.record",
                       (record.number, json.dumps(asdict(record))))
            db.execute("DELETE FROM passes WHERE number <= ?", (record.number - keep,))

    def recent_passes(self, limit: int = PASSES_KEPT) -> list[PassRecord]:
        """The latest passes kept, newest first (a row this version cannot read is left
        out: the list is for people, not a ledger)."""
        rows = self._rows("SELECT record FROM passes ORDER BY number DESC LIMIT ?", (limit,))
        out = []
        for (text,) in rows:
            try:
                values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                          for k, v in json.loads(text).items()}
                out.append(PassRecord(**values))
            except (TypeError, ValueError, AttributeError):
                continue
        return out
