"""PostgreSQL for `scsync controller --lock`: the leader's lock and the shared state.

The only module that imports psycopg, and only `server` imports it, when a lock
URL is given: a controller without `--lock` never loads the driver.

One database may serve the controllers of many repositories.  Those of one
*group* (the same repository, branch and executor) share a key: the first 8
bytes of SHA-256 over `scsync controller`, the repository URL without its
credentials, the branch and the executor URL, as a signed 64-bit integer.  The
key is the advisory lock they elect their leader with, and it names the schema
(`scsync_` and the same 8 bytes in hex) that holds their state: `managed`,
`meta` and `passes` as in `controller.db` (the same statements, `state.py`), and
`leader`, the holder's name and address for the standbys' /status.  Another
group, with another key, neither waits for this one's lock nor sees its rows.

The lock is session-level, on a connection of its own, so it lasts exactly as
long as the leader's session: a killed leader's socket closes and the server
frees it at once; a dead leader host stops answering TCP keepalives, which this
session asks the server to send every 2 s after 3 s idle (3 missed: about 9 s).
The leader's side keeps alive the same way, so it notices a dead server as fast.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from scsync.controller.leader import Holder
from scsync.controller.settings import LOCK_URL_ENV, ControllerSettings, redact_url
from scsync.controller.state import SCHEMA, State, StateError, Writer

NAMESPACE = "scsync controller"

_LEADER_SCHEMA = """
CREATE TABLE IF NOT EXISTS leader (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    holder TEXT NOT NULL,
    url TEXT NOT NULL,
    backend_pid INTEGER NOT NULL,
    since DOUBLE PRECISION NOT NULL
);
"""

# What libpq asks of the socket (the URL's own values win): connect within 5 s;
# keepalives and an unacknowledged write failing after 9 s, so a dead server is noticed.
_CONNECTION = {"connect_timeout": "5", "keepalives": "1", "keepalives_idle": "3",
               "keepalives_interval": "2", "keepalives_count": "3",
               "tcp_user_timeout": "9000"}
# The same of the server, for this session: it notices a dead controller host as fast.
_SERVER_KEEPALIVES = (("tcp_keepalives_idle", "3"), ("tcp_keepalives_interval", "2"),
                      ("tcp_keepalives_count", "3"), ("tcp_user_timeout", "9000"))

_HELD = """
SELECT l.holder, l.url, l.since FROM leader l
WHERE l.id = 1 AND EXISTS (
    SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted
    AND k.pid = l.backend_pid AND k.database = (
        SELECT oid FROM pg_database WHERE datname = current_database())
    AND k.classid::bigint = %s AND k.objid::bigint = %s AND k.objsubid = 1)
"""
_MINE = """
SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
               AND pid = pg_backend_pid() AND classid::bigint = %s AND objid::bigint = %s
               AND objsubid = 1)
"""
_CLAIM = """
INSERT INTO leader (id, holder, url, backend_pid, since)
VALUES (1, %s, %s, pg_backend_pid(), extract(epoch FROM clock_timestamp()))
ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, url = excluded.url,
    backend_pid = excluded.backend_pid, since = excluded.since
RETURNING since
"""


def _key(*parts: str) -> bytes:
    return hashlib.sha256("\n".join(parts).encode()).digest()[:8]


_DDL_KEY = int.from_bytes(_key(NAMESPACE, "schema"), "big", signed=True)
"""Held (for a transaction) while tables are created: two controllers starting at once
would otherwise both try to create the same schema, and one would fail."""


@dataclass(frozen=True, slots=True)
class Scope:
    """The group of controllers that elect one leader and share one state."""

    key: int
    schema: str

    @classmethod
    def of(cls, settings: ControllerSettings) -> Scope:
        digest = _key(NAMESPACE, redact_url(settings.repo).rstrip("/"), settings.branch,
                      settings.executor_url.rstrip("/"))
        return cls(int.from_bytes(digest, "big", signed=True), f"scsync_{digest.hex()}")

    @property
    def lock_ids(self) -> tuple[int, int]:
        """The key as pg_locks shows it: high half in `classid`, low half in `objid`."""
        unsigned = self.key & 0xFFFF_FFFF_FFFF_FFFF
        return unsigned >> 32, unsigned & 0xFFFF_FFFF


def describe(url: str) -> str:
    """`host:port/database` of a URL, for messages (never its user or password)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        return "the URL given"
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}/" \
           f"{params.get('dbname') or params.get('user') or 'postgres'}"


def _reason(exc: BaseException, url: str) -> str:
    """psycopg's message on one line, without what the message names anyway or a secret."""
    lines = [" ".join(line.split()) for line in str(exc).splitlines()]
    text = " ".join(line if line.endswith((".", "?", ":")) or line is lines[-1]
                    else f"{line}." for line in lines if line)
    text = re.sub(r"^connection failed: ", "", text)
    text = re.sub(r'connection to server at "[^"]*"(?: \([^)]*\))?, port \d+ failed: ', "",
                  text)
    parts = urlsplit(url) if "://" in url else None
    secrets = {parts.password, unquote(parts.password)} if parts and parts.password else set()
    secrets.update(re.findall(r"[?&]password=([^&#\s]*)", url, re.IGNORECASE))
    for secret in filter(None, secrets):
        text = text.replace(secret, "***")
    return text.replace("FATAL: ", "").strip() or type(exc).__name__


def connect(url: str, scope: Scope, application: str) -> psycopg.Connection[Any]:
    """A connection in autocommit mode, searching the group's schema (created if missing).

    Raises `StateError` in one line: what failed, where, and how to fix it."""
    try:
        params = {**_CONNECTION, **conninfo_to_dict(url)}
    except psycopg.Error as exc:
        raise StateError(f"--lock: not a valid PostgreSQL URL: {_reason(exc, url)} "
                         "(expected postgresql://USER@HOST:PORT/DATABASE, in --lock or "
                         f"{LOCK_URL_ENV})") from None
    params.setdefault("application_name", application[:63])
    try:
        conn = psycopg.connect(make_conninfo("", **params), autocommit=True)
    except psycopg.Error as exc:
        raise StateError(f"--lock: cannot connect to PostgreSQL at {describe(url)}: "
                         f"{_reason(exc, url)} (fix the URL's host, port, user or database "
                         f"in --lock or {LOCK_URL_ENV})") from None
    try:
        for name, value in _SERVER_KEEPALIVES:
            conn.execute(sql.SQL("SET {} = {}").format(sql.Identifier(name),
                                                       sql.Literal(value)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(scope.schema)))
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_KEY,))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(scope.schema)))
            conn.execute(SCHEMA + _LEADER_SCHEMA)
    except psycopg.Error as exc:
        conn.close()
        raise StateError(f"--lock: PostgreSQL at {describe(url)} refuses the controller's "
                         f"tables in schema {scope.schema}: {_reason(exc, url)} (the user "
                         "needs CREATE on the database, or an administrator creates the "
                         "schema for it)") from None
    return conn


def _marks(statement: str) -> str:
    """state.py's `?` parameters as psycopg's `%s` (none of its statements holds a `?`)."""
    return statement.replace("?", "%s")


class _Writer:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, statement: str, parameters: Sequence[Any] = (), /) -> Any:
        return self._conn.execute(_marks(statement), parameters)

    def executemany(self, statement: str, parameters: Iterable[Sequence[Any]], /) -> Any:
        with self._conn.cursor() as cursor:
            cursor.executemany(_marks(statement), list(parameters))


class PostgresState(State):
    """The controller's state in the group's schema; reconnects after a lost connection."""

    def __init__(self, url: str, scope: Scope) -> None:
        self._url, self._scope = url, scope
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = connect(url, scope, "scsync controller")

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self._url, self._scope, "scsync controller")
        return self._conn

    @contextmanager
    def _errors_pg(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            if self._conn is not None and self._conn.broken:
                self._conn.close()
                self._conn = None  # the next call connects anew
            raise StateError(f"the controller state in PostgreSQL at {describe(self._url)} "
                             f"cannot be used: {_reason(exc, self._url)}") from None

    @contextmanager
    def _tx(self) -> Iterator[Writer]:
        with self._lock, self._errors_pg():
            conn = self._connection()
            with conn.transaction():
                yield _Writer(conn)

    def _rows(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._errors_pg():
            return self._connection().execute(_marks(statement), parameters).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class AdvisoryLock:
    """Leadership as `pg_try_advisory_lock(key)` on a session of its own (`leader.Lock`)."""

    def __init__(self, url: str, scope: Scope, me: Holder) -> None:
        self._url, self._scope, self._me = url, scope, me
        self._conn: psycopg.Connection[Any] | None = None
        self._mutex = threading.Lock()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()  # ends the session: the lock, if held, is free
            self._conn = None

    def _query(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self._url, self._scope, f"scsync controller {self._me.name}")
        try:
            return self._conn.execute(statement, parameters).fetchall()
        except psycopg.Error as exc:
            self._drop()
            raise StateError(f"the lock's PostgreSQL at {describe(self._url)}: "
                             f"{_reason(exc, self._url)}") from None

    def try_acquire(self) -> Holder | None:
        with self._mutex:
            if not self._query("SELECT pg_try_advisory_lock(%s)", (self._scope.key,))[0][0]:
                return None
            since = self._query(_CLAIM, (self._me.name, self._me.url))[0][0]
            return Holder(self._me.name, self._me.url, float(since))

    def confirm(self) -> bool:
        with self._mutex:
            if self._conn is None:
                return False
            try:
                return bool(self._query(_MINE, self._scope.lock_ids)[0][0])
            except StateError:
                return False

    def holder(self) -> Holder | None:
        with self._mutex:
            rows = self._query(_HELD, self._scope.lock_ids)
        if not rows:
            return None
        name, url, since = rows[0]
        return Holder(str(name), str(url), float(since))

    def release(self) -> None:
        with self._mutex:
            self._drop()
