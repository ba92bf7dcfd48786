"""The executor's two databases behind one small interface: SQLite, the embedded default,
and PostgreSQL, for any number of replicas on one database.

The SQL of the store modules is written once, in SQLite's spelling, and runs on
SQLite as it is.  PostgreSQL gets each statement translated once (and kept):
`?` placeholders become `%s`, `json_each(?)` (a JSON array given as one
parameter) becomes `json_array_elements_text(%s::json)`, `LIKE` (which SQLite
folds for ASCII) `ILIKE`, `x COLLATE NOCASE` `lower(x)`.  The schema's
migrations are translated the same way (`INTEGER PRIMARY KEY AUTOINCREMENT`,
`BLOB`, `REAL`, `TEXT` in byte order as SQLite compares it), and a `julianday`
function is created so the one expression that needs it reads the same.

Transactions differ in what they lock, and the store says so where it matters:
SQLite's `BEGIN IMMEDIATE` serialises every writer of the file (one process);
PostgreSQL's are READ COMMITTED, so a read that decides a write takes a lock
first (`FOR UPDATE` on its rows, or admission's advisory lock per connector).

psycopg is imported only when a PostgreSQL URL is opened: the embedded default
does not need it installed (`pip install 'scsync[postgres]'`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from scsync.errors import ScsyncError
from scsync.hosting import transaction as sqlite_transaction
from scsync.redact import redact_url as redact

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

POSTGRES_SCHEMES = ("postgresql", "postgres")


class DatabaseError(ScsyncError):
    """The executor's database cannot be reached, opened or migrated."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the store's queries need of a connection: both kinds have it."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def close(self) -> None: ...


def is_postgres_url(text: str) -> bool:
    return urlsplit(text).scheme in POSTGRES_SCHEMES


# -- SQLite -------------------------------------------------------------------------


def sqlite_connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.row_factory = _dict_row
    db.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a killed process (the case we test); only a
    # power cut may lose the last commits, which costs a sync per write otherwise.
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    return db


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


# -- PostgreSQL ---------------------------------------------------------------------


class PgConnection:
    """One connection of the pool, with the store's SQL translated on the way."""

    kind = "postgresql"

    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]], url: str) -> None:
        self._pool, self._url = pool, url
        self._conn: psycopg.Connection[Any] = pool.getconn()

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        values = _values(parameters)
        return self._run(lambda c: c.execute(translate(sql), values))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        rows = list(parameters)

        def many(c: psycopg.Connection[Any]) -> Cursor:
            cursor = c.cursor()
            if rows:
                cursor.executemany(translate(sql), [_values(r) for r in rows])
            return cursor

        return self._run(many)

    def _run(self, call: Any) -> Cursor:
        import psycopg

        try:
            result: Cursor = call(self._conn)
            return result
        except psycopg.OperationalError:
            if self._conn.closed or self._conn.broken:
                self._replace()
            raise

    def _replace(self) -> None:
        """A broken connection goes back to the pool (which drops it); take a new one."""
        try:
            self._pool.putconn(self._conn)
        finally:
            self._conn = self._pool.getconn()

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        with self._conn.transaction():
            yield self

    def listen_connection(self) -> psycopg.Connection[Any]:
        """A connection of its own, outside the pool, for LISTEN."""
        import psycopg

        return psycopg.connect(self._url, autocommit=True)

    def close(self) -> None:
        self._pool.putconn(self._conn)


def _values(parameters: Sequence[Any]) -> list[Any]:
    """SQLite's booleans are integers, and so are the columns: bind them as such."""
    return [int(v) if isinstance(v, bool) else v for v in parameters]


class PgPool:
    """The pool every connection of one executor comes from."""

    def __init__(self, url: str, *, size: int = 4) -> None:
        try:
            import psycopg
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise DatabaseError(
                f"--db {redact(url)}: PostgreSQL needs psycopg ({exc.name} is not installed); "
                "install it with: pip install 'scsync[postgres]'") from None
        self.url = url
        options = {"autocommit": True, "row_factory": dict_row, "connect_timeout": 5,
                   "application_name": "scsync-executor"}
        try:
            # One connection first: its error says why (refused, no such database, the
            # password), where the pool would only time out.
            psycopg.connect(url, **options).close()  # type: ignore[arg-type]
            self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
                url, min_size=1, max_size=size, open=False, timeout=10, kwargs=options)
            self._pool.open(wait=True, timeout=10)
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot connect to {redact(url)}: {_reason(exc)} (is the "
                                "server running, and the URL right?)") from None

    def connection(self) -> PgConnection:
        return PgConnection(self._pool, self.url)

    def close(self) -> None:
        self._pool.close()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def begin(db: Connection) -> AbstractContextManager[Any]:
    """One write transaction on either kind (BEGIN IMMEDIATE on SQLite)."""
    if isinstance(db, PgConnection):
        return db.transaction()
    assert isinstance(db, sqlite3.Connection)
    return sqlite_transaction(db)


def is_postgres(db: Connection) -> bool:
    return isinstance(db, PgConnection)


@lru_cache(maxsize=2)
def _errors(kind: str) -> tuple[type[Exception], ...]:
    """`kind` ("Error", "IntegrityError") as both drivers spell it; psycopg's only when
    it is installed."""
    found: list[type[Exception]] = [getattr(sqlite3, kind)]
    try:
        import psycopg
    except ImportError:
        return tuple(found)
    return (*found, getattr(psycopg, kind))


def database_errors() -> tuple[type[Exception], ...]:
    """What a failing database raises, on either kind."""
    return _errors("Error")


def integrity_errors() -> tuple[type[Exception], ...]:
    """What a broken constraint raises, on either kind (a unique api_name taken)."""
    return _errors("IntegrityError")


# -- translation --------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\?")
_NOCASE = re.compile(r"(\w+(?:\.\w+)?) COLLATE NOCASE")


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """A statement in SQLite's spelling, in PostgreSQL's."""
    out = sql.replace("%", "%%")
    out = out.replace("json_each(?)", "json_array_elements_text(?::json)")
    out = re.sub(r"\bLIKE\b", "ILIKE", out)
    out = _NOCASE.sub(r"lower(\1)", out)
    return _PLACEHOLDER.sub("%s", out)


_DDL = (
    (re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"), "BIGSERIAL PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    # SQLite compares text byte by byte; so does PostgreSQL in the C collation.
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
)

PG_PRELUDE = """
CREATE OR REPLACE FUNCTION julianday(value TEXT) RETURNS DOUBLE PRECISION
    LANGUAGE SQL IMMUTABLE
    AS $$ SELECT extract(epoch FROM value::timestamptz) / 86400.0 + 2440587.5 $$
"""
"""What PostgreSQL is given before the first migration: SQLite's `julianday` of an ISO
timestamp (the one SQLite function the queries use)."""


def translate_ddl(sql: str) -> str:
    """A migration statement in PostgreSQL's spelling."""
    out = sql
    for pattern, replacement in _DDL:
        out = pattern.sub(replacement, out)
    return out
