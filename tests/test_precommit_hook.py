"""The `scsync-validate` hook of .pre-commit-hooks.yaml, run by the `pre-commit` tool itself.

pre-commit clones this repository at its current HEAD commit and builds the
hook's environment from it (package downloads included), so the hook tested
is the committed one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

if TYPE_CHECKING:
    from conftest import GitRepo

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_the_hook_definition() -> None:
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "scsync-validate"]
    assert hook["entry"] == "scsync validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False  # the whole set: cross-file duplicates too
    assert hook["files"] == r"^connectors/.*\.ya?ml$"


def _pre_commit(repo: GitRepo, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env["PRE_COMMIT_HOME"] = str(home)
    env["PRE_COMMIT_COLOR"] = "never"
    return subprocess.run(
        ["pre-commit", "run", "--all-files"], cwd=repo.path, env=env, capture_output=True,
        text=True, timeout=600, check=False,
    )


@pytest.mark.slow
def test_pre_commit_runs_the_hook(in_git_dir: GitRepo, tmp_path: Path) -> None:
    if shutil.which("pre-commit") is None:
        pytest.fail("pre-commit is not installed (it is in the [test] extra)")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    repo = in_git_dir
    for manifest in sorted((REPO_ROOT / "connectors").glob("*.yaml")):
        repo.write(f"connectors/{manifest.name}", manifest.read_text())
    repo.write(".pre-commit-config.yaml", (
        "repos:\n"
        f"  - repo: {REPO_ROOT}\n"
        f"    rev: {head}\n"
        "    hooks:\n"
        "      - id: scsync-validate\n"
    ))
    repo.commit("connectors")
    home = tmp_path / "pre-commit-home"

    proc = _pre_commit(repo, home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "scsync validate" in proc.stdout and "Passed" in proc.stdout

    repo.commit("a bad manifest", {
        "connectors/team/orders.yaml": (
            "apiVersion: scsync/v1\nkind: SmartConnector\napi_name: orders\nname: Orders\n"
            "description: Imports orders from the shop into Kizen every hour.\n"
            "status: operational\n"
        ),
    })
    proc = _pre_commit(repo, home)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Failed" in proc.stdout
    assert "connectors/team/orders.yaml:6:9: error[SC023] status is 'operational'" in proc.stdout
    assert "did you mean 'Operational'?" in proc.stdout
