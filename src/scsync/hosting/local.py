"""A local service's own files: its data folder, and SQLite transactions on it.

The controller (`controller.db`, the mirror) and the executor (`executor.db`,
its API key, run files) both keep state in a folder that usually sits in the
user's repository as `.scsync/`.  One routine creates it and keeps it out of
git, so the two cannot drift apart again (they did: one wrote the `.gitignore`
only in a folder it created, the other also in an existing `.scsync`).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATA_DIR = ".scsync"
"""The default data folder, at the top of the repository."""

GITIGNORE = "*\n"


def prepare_data_dir(path: Path) -> None:
    """Create the data folder (0700: it will hold an API key); keep scsync's own out of git.

    Its `.gitignore` (`*`) is written only if missing, and only in a folder
    created here or named `.scsync`: never in a folder of the user's that
    `--data-dir` points at (`--data-dir .` would hide the whole repository).
    An existing folder keeps its mode: it is its owner's to configure.
    """
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=0o700, exist_ok=True)
    if created or path.name == DATA_DIR:
        with contextlib.suppress(FileExistsError), \
                open(path / ".gitignore", "x", encoding="utf-8") as ignore:
            ignore.write(GITIGNORE)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One `BEGIN IMMEDIATE` transaction: committed when the block ends, rolled back if it raises.

    The connection must be in autocommit mode (`isolation_level=None`), so that
    Python's sqlite3 opens no transaction of its own around ours.  IMMEDIATE
    takes the write lock at the start: a read-then-write inside the block cannot
    be overtaken by another writer between the two.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
