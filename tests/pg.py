"""A fresh PostgreSQL database for a test, on the server the project's machines run.

The server is `SCSYNC_TEST_PG` (default: postgres on 127.0.0.1:5432, trust
authentication, database `test`, as on the project's machines and as `.ci/run`
sets up on a bare Debian machine).  Each test gets a database of its own,
created from the server's template and dropped (with FORCE: a killed replica
may leave sessions) afterwards.  Outside CI a machine without the server skips
these tests; with CI=true a missing server fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

SERVER = os.environ.get("SCSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _unreachable() -> str | None:
    try:
        with psycopg.connect(SERVER, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


def require_server() -> None:
    """Skip (fail in CI) when the server does not answer."""
    if (why := _unreachable()) is not None:
        message = (f"no PostgreSQL at {SERVER}: {why} (.ci/run installs and starts one; "
                   "or set SCSYNC_TEST_PG)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def database_url(name: str) -> str:
    parts = urlsplit(SERVER)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def fresh_database(prefix: str = "scsync_test") -> Iterator[str]:
    """A new, empty database's URL; dropped at the end."""
    require_server()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
