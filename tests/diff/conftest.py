"""Fixtures for `scsync diff`: real repositories made with gitpython, manifests committed.

`repo` starts with one commit on `main` holding two connectors; a test commits
its change on top and reviews `HEAD~1..HEAD` (or any refs it makes).  Manifest
lines are fixed by `manifest_text` (tests/conftest.py): 3 api_name, 4 name,
5 description, 6 status, then the extra fields in the order given.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
import pytest

from conftest import GitRepo, manifest_text
from scsync.review.engine import ReviewOptions, review
from scsync.review.result import ReviewResult

HUBSPOT = "connectors/hubspot_contacts.yaml"
LEADS = "connectors/web_leads.yaml"
#: the settings of HUBSPOT in the first commit; tests change one and commit
HUBSPOT_FIELDS: dict[str, Any] = {
    "max_concurrent_executions": 1,
    "create_only": False,
    "additional_notification_email": "crm-ops@example.com",
    "additional_error_notification_email": "oncall@example.com",
    "execution_ended_webhook_url": "https://hooks.example.com/scsync/hubspot",
}


@dataclass
class Repo(GitRepo):
    """`GitRepo` of tests/conftest.py, committing through gitpython."""

    gitpython: git.Repo

    def manifest(self, relpath: str, api_name: str, **fields: Any) -> None:
        self.write(relpath, manifest_text(api_name, **fields))

    def hubspot(self, **changes: Any) -> None:
        """Rewrite HUBSPOT with `changes` over its first settings (None drops one)."""
        self.manifest(HUBSPOT, "hubspot_contacts", **{**HUBSPOT_FIELDS, **changes})

    def delete(self, relpath: str) -> None:
        (self.path / relpath).unlink()

    def move(self, old: str, new: str) -> None:
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        (self.path / old).rename(self.path / new)

    def commit(
        self, message: str = "change", files: Mapping[str, str | bytes | None] | None = None
    ) -> str:
        for relpath, content in (files or {}).items():
            if content is None:
                self.delete(relpath)
            else:
                self.write(relpath, content)
        self.gitpython.git.add(A=True)
        self.gitpython.git.commit("--quiet", "--allow-empty", "-m", message)
        return self.gitpython.head.commit.hexsha

    def checkout(self, branch: str, *, new: bool = False) -> None:
        self.gitpython.git.checkout("--quiet", *(["-b"] if new else []), branch)

    def review(
        self, base: str = "HEAD~1", head: str | None = "HEAD", **options: Any
    ) -> ReviewResult:
        return review(base, head, repo=str(self.path), options=ReviewOptions(**options))


def make_repo(path: Path) -> Repo:
    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "scsync tests")
        config.set_value("user", "email", "tests@example.com")
        config.set_value("commit", "gpgsign", "false")
        config.set_value("gc", "auto", "0")
    return Repo(path, repo)


@pytest.fixture
def empty_repo(tmp_path: Path) -> Iterator[Repo]:
    """A repository with no commits, on branch main."""
    repo = make_repo(tmp_path / "repo")
    yield repo
    repo.gitpython.close()


@pytest.fixture
def repo(empty_repo: Repo) -> Repo:
    """main with one commit: HUBSPOT (every optional setting set), LEADS (parallel, create-only)."""
    empty_repo.hubspot()
    empty_repo.manifest(LEADS, "web_leads", max_concurrent_executions=4, create_only=True)
    empty_repo.commit("two connectors")
    return empty_repo


@pytest.fixture(autouse=True)
def _no_ambient_git(monkeypatch: pytest.MonkeyPatch) -> None:
    # the machine's git config (hooks, signing, rename limits) must not change a test
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
