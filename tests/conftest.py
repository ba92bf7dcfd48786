"""Fixtures every test may use: the CLI run for real, manifests, a real git repository.

Kept generic on purpose: folders such as tests/executor/ and tests/diff/ add
their own fixtures in their own conftest.py.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from specs import check_output, is_json_report

REPO_ROOT = Path(__file__).resolve().parent.parent

#: (exit code, standard output, standard error)
CliResult = tuple[int, str, str]
RunCli = Callable[..., CliResult]

#: Variables that change what the CLI prints (GITHUB_ACTIONS switches --format
#: auto to annotations; SCSYNC_DEBUG prints tracebacks): a test sets them itself.
_AMBIENT = ("GITHUB_ACTIONS", "SCSYNC_DEBUG")


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _AMBIENT}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra or {})
    return env


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run the real `scsync` in a subprocess: `run_cli("validate", "x.yaml")`.

    Runs in `tmp_path` unless `cwd=` says otherwise; `stdin=` (str or bytes)
    feeds standard input; `env=` adds variables.
    """

    def run(
        *args: str | os.PathLike[str],
        cwd: str | os.PathLike[str] | None = None,
        stdin: str | bytes | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
    ) -> CliResult:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        proc = subprocess.run(
            [sys.executable, "-m", "scsync", *map(str, args)],
            cwd=cwd if cwd is not None else tmp_path,
            input=data if data is not None else b"",
            capture_output=True,
            env=cli_env(env),
            timeout=timeout,
            check=False,
        )
        out = proc.stdout.decode("utf-8")
        if out and is_json_report(args):
            check_output(out)  # every JSON report the suite makes meets the published schema
        return proc.returncode, out, proc.stderr.decode("utf-8")

    return run


@pytest.fixture
def run_main(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> RunCli:
    """The same as `run_cli`, in this process: `scsync.cli.main(argv)` with captured output."""
    from scsync.cli import main

    def run(
        *args: str | os.PathLike[str],
        cwd: str | os.PathLike[str] | None = None,
        stdin: str | bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CliResult:
        for name in _AMBIENT:
            monkeypatch.delenv(name, raising=False)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(cwd if cwd is not None else tmp_path)
        data = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        if out and is_json_report(args):
            check_output(out)
        return code, out, err

    return run


# -- manifests ---------------------------------------------------------------

DESCRIPTION = "Nightly import of test records into Kizen, for the test suite."


def manifest_text(api_name: str = "test_connector", **fields: Any) -> str:
    """A valid manifest; `fields` override or add settings (None drops one).

    Lines are fixed: 1 apiVersion, 2 kind, 3 api_name, 4 name, 5 description,
    6 status, then the extra fields in the order given.  Values are written as
    JSON, which YAML 1.2 reads unchanged.
    """
    settings: dict[str, Any] = {
        "apiVersion": "scsync/v1",
        "kind": "SmartConnector",
        "api_name": api_name,
        "name": api_name.replace("_", " ").title(),
        "description": DESCRIPTION,
        "status": "Operational",
    }
    settings.update(fields)
    return "".join(
        f"{key}: {json.dumps(value)}\n" for key, value in settings.items() if value is not None
    )


@pytest.fixture
def manifest() -> Callable[..., str]:
    """`manifest_text` as a fixture: `manifest("my_api", status="Inactive")`."""
    return manifest_text


@pytest.fixture
def write_manifest(tmp_path: Path) -> Callable[..., Path]:
    """Write `manifest_text(...)` to `<folder>/<api_name>.yaml` (folder relative to tmp_path)."""

    def write(api_name: str = "test_connector", folder: str = "connectors", **fields: Any) -> Path:
        path = tmp_path / folder / f"{api_name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(manifest_text(api_name, **fields), "utf-8")
        return path

    return write


# -- git -----------------------------------------------------------------------


@dataclass
class GitRepo:
    """A real repository in a temporary folder; `commit()` makes real commits."""

    path: Path

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, check=True,
            env=_git_env(),
        )
        return proc.stdout.strip()

    def write(self, relpath: str, content: str | bytes) -> Path:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, "utf-8")
        return target

    def commit(
        self, message: str = "change", files: Mapping[str, str | bytes | None] | None = None
    ) -> str:
        """Write `files` (None deletes one), commit everything, return the new commit's sha."""
        for relpath, content in (files or {}).items():
            if content is None:
                (self.path / relpath).unlink()
            else:
                self.write(relpath, content)
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="scsync tests", GIT_AUTHOR_EMAIL="tests@example.com",
        GIT_COMMITTER_NAME="scsync tests", GIT_COMMITTER_EMAIL="tests@example.com",
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


def make_git_repo(path: Path) -> GitRepo:
    path.mkdir(parents=True, exist_ok=True)
    repo = GitRepo(path)
    repo.git("init", "--quiet", "--initial-branch=main")
    repo.git("config", "commit.gpgsign", "false")
    repo.git("config", "user.name", "scsync tests")
    repo.git("config", "user.email", "tests@example.com")
    return repo


@pytest.fixture
def in_git_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """A fresh git repository (branch main, no commits yet), also the current directory."""
    repo = make_git_repo(tmp_path / "repo")
    monkeypatch.chdir(repo.path)
    return repo


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database of this test's own (tests/pg.py)."""
    from pg import fresh_database

    with fresh_database() as url:
        yield url
