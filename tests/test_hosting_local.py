"""The data folder and the SQLite transaction both local services use (scsync.hosting)."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from scsync.hosting import prepare_data_dir, transaction


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_folder_is_private_and_ignored_by_git(tmp_path: Path) -> None:
    for name in (".scsync", "elsewhere"):  # any folder scsync creates is scsync's own
        folder = tmp_path / "repo" / name
        prepare_data_dir(folder)
        assert _mode(folder) == 0o700
        assert (folder / ".gitignore").read_text(encoding="utf-8") == "*\n"


def test_an_existing_dot_scsync_gets_its_gitignore_back(tmp_path: Path) -> None:
    folder = tmp_path / ".scsync"
    folder.mkdir()
    (folder / "api-key").write_text("k\n")
    prepare_data_dir(folder)  # the executor once left such a folder unignored
    assert (folder / ".gitignore").read_text(encoding="utf-8") == "*\n"


def test_a_users_own_folder_is_left_as_it_is(tmp_path: Path) -> None:
    prepare_data_dir(tmp_path)  # `--data-dir .`: ignoring it would hide the repository
    assert not (tmp_path / ".gitignore").exists()
    mine = tmp_path / ".scsync"
    mine.mkdir()
    (mine / ".gitignore").write_text("!keep-me\n")
    prepare_data_dir(mine)
    assert (mine / ".gitignore").read_text() == "!keep-me\n"


def test_a_transaction_commits_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    with transaction(db) as tx:
        tx.execute("INSERT INTO t VALUES ('kept')")
    with pytest.raises(sqlite3.IntegrityError), transaction(db) as tx:
        tx.execute("INSERT INTO t VALUES ('half')")
        tx.execute("INSERT INTO t VALUES ('kept')")  # fails: the first insert goes too
    other = sqlite3.connect(path)
    assert other.execute("SELECT k FROM t").fetchall() == [("kept",)]
    assert not db.in_transaction
    other.close()
    db.close()
