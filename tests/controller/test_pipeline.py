"""The one plan pipeline, the one settings builder and the errors that stay in their module.

In-process, with real parts: git repositories in a temporary folder, the real
executor on a loopback port (the `executor` fixture), the real CLI in a
subprocess where a user would see the result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.controller.conftest import (
    API_KEY,
    Clone,
    CountingProxy,
    Executor,
    base_env,
    init_repo,
    manifest,
)

from scsync.client import Credentials, ExecutorClient, RetryPolicy
from scsync.controller.desired import DesiredReader
from scsync.controller.loop import Reconciler
from scsync.controller.metrics import ControllerMetrics
from scsync.controller.pipeline import git_renames, plan_against_live
from scsync.controller.plan import Action
from scsync.controller.settings import ControllerSettings, settings_from_args
from scsync.controller.state import LAST_APPLIED, State
from scsync.controller.up import UpOptions
from scsync.errors import ConfigError, GitError
from scsync.gitsource import open_repo
from scsync.hosting import DEADLINE_ENV
from scsync.manifest.discover import DEFAULT_FOLDER
from support import free_port

SECRET_ENV = "SCSYNC_GIT_WEBHOOK_SECRET"


def _client(url: str) -> ExecutorClient:
    return ExecutorClient(url, Credentials(API_KEY), retry=RetryPolicy(attempts=1))


# -- one pipeline ------------------------------------------------------------------


def test_the_pipeline_plans_what_scsync_plan_shows(work: Clone, executor: Executor) -> None:
    """The loop's plan function and `scsync plan --ref` agree, connector by connector."""
    work.commit("two", {"connectors/a.yaml": manifest("alpha"),
                        "connectors/b.yaml": manifest("beta")})
    with executor.client() as client:
        client.create_connector({"api_name": "beta", "name": "Beta", "status": "inactive"})
    with open_repo(str(work.path)) as repo, _client(executor.url) as client:
        desired = DesiredReader(DEFAULT_FOLDER).at_commit(repo, work.shas[-1])
        plan = plan_against_live(desired, client, {}, renames={}, allow=frozenset(),
                                 prune=False)
    proc = subprocess.run(
        [sys.executable, "-m", "scsync", "plan", "--repo", str(work.path), "--ref", "HEAD",
         "--executor", executor.url, "--format", "json"],
        capture_output=True, text=True, env=base_env(), check=False)
    assert proc.returncode == 0, proc.stderr
    shown = {c["path"]: c["action"] for c in json.loads(proc.stdout)["plan"]["connectors"]}
    planned = {c.path: c.action.value for c in plan.connectors}
    assert planned == shown
    assert planned == {"connectors/a.yaml": Action.CREATE.value,
                       "connectors/b.yaml": Action.UPDATE.value}


def test_invalid_manifests_plan_without_asking_the_executor(
        work: Clone, proxy: CountingProxy) -> None:
    work.commit("broken", {"connectors/a.yaml": manifest("alpha", status="Running")})
    with open_repo(str(work.path)) as repo, _client(proxy.url) as client:
        desired = DesiredReader().at_commit(repo, work.shas[-1])
        plan = plan_against_live(desired, client, {}, renames={}, allow=frozenset(),
                                 prune=True)
    assert not plan.valid
    assert proxy.calls == []  # no live read: an invalid commit applies nothing, prunes nothing


def test_git_renames_pair_a_moved_manifest_and_survive_a_lost_base(work: Clone) -> None:
    base = work.commit("one", {"connectors/a.yaml": manifest("alpha")})
    work.git("mv", "connectors/a.yaml", "connectors/renamed.yaml")
    head = work.commit("moved")
    with open_repo(str(work.path)) as repo:
        assert git_renames(repo, base, head, DEFAULT_FOLDER) == {
            "connectors/renamed.yaml": "connectors/a.yaml"}
        # A base gone after a force-push: no renames, pairing falls back on names.
        assert git_renames(repo, "0" * 40, head, DEFAULT_FOLDER) == {}


# -- one settings builder ----------------------------------------------------------


def _controller_args(repo: Path, data: Path) -> argparse.Namespace:
    return argparse.Namespace(
        repo=str(repo), executor="http://127.0.0.1:8765", branch="main", folder="connectors",
        data_dir=data, interval=5.0, drift="fix", prune=False, allow_api_name_change=None,
        listen="127.0.0.1:0")


@pytest.mark.parametrize("build", ["controller", "up"])
def test_both_commands_take_the_environment_the_same_way(tmp_path: Path, build: str) -> None:
    environ = {DEADLINE_ENV: "7.5", SECRET_ENV: "shh-a-secret"}
    settings = (settings_from_args(_controller_args(tmp_path, tmp_path / "d"), environ)
                if build == "controller" else UpOptions(tmp_path).settings("main", environ))
    assert settings.request_deadline == 7.5
    assert settings.webhook_secret == "shh-a-secret"
    assert "shh-a-secret" not in repr(settings)
    with pytest.raises(ConfigError, match=DEADLINE_ENV):
        if build == "controller":
            settings_from_args(_controller_args(tmp_path, tmp_path / "d"), {DEADLINE_ENV: "0"})
        else:
            UpOptions(tmp_path).settings("main", {DEADLINE_ENV: "0"})


def test_up_settings_follow_the_folder_it_runs_in(tmp_path: Path) -> None:
    settings = UpOptions(tmp_path, port=8800, listen_port=9191, interval=3).settings("trunk", {})
    assert settings.repo == str(tmp_path.resolve())
    assert settings.executor_url == "http://127.0.0.1:8800"
    assert (settings.branch, settings.listen_port, settings.interval) == ("trunk", 9191, 3)
    assert settings.data_dir == tmp_path.resolve() / ".scsync"
    assert settings.folder == "connectors"


# -- errors stay in their module ---------------------------------------------------


def test_a_commit_git_cannot_list_is_a_git_error_with_a_fix(work: Clone) -> None:
    work.commit("one", {"connectors/a.yaml": manifest("alpha")})
    with open_repo(str(work.path)) as repo, pytest.raises(GitError) as caught:
        repo.manifest_paths("0123456789" * 4)
    message = str(caught.value)
    assert "commit 012345678901" in message and "git fsck" in message


def test_a_lost_last_applied_commit_is_no_internal_error(tmp_path: Path) -> None:
    """Restart on a broken head after a force-push removed the commit last applied.

    The loop looks for that commit to keep it in force; git cannot list it.  That
    is a git condition the pass survives (nothing is in force), not "internal error".
    """
    work = init_repo(tmp_path / "work")
    work.commit("broken", {"connectors/a.yaml": manifest("alpha", status="Running")})
    settings = ControllerSettings(repo=str(work.path), data_dir=tmp_path / "data",
                                  executor_url=f"http://127.0.0.1:{free_port()}")
    with State(settings.state_path) as state, _client(settings.executor_url) as client:
        state.put(LAST_APPLIED, "0123456789" * 4)
        reconciler = Reconciler(settings, state, client, ControllerMetrics())
        try:
            assert reconciler.run_pass() is True
        finally:
            reconciler.close()
        snapshot = reconciler.snapshot
    assert snapshot.last_error is None
    assert snapshot.invalid_commit is not None
    assert snapshot.invalid_commit["commit"] == work.shas[-1]


def test_a_missing_api_key_names_the_variable_and_the_file(work: Clone) -> None:
    work.commit("one", {"connectors/a.yaml": manifest("alpha")})
    env = {k: v for k, v in base_env().items() if k != "SCSYNC_API_KEY"}
    proc = subprocess.run(
        [sys.executable, "-m", "scsync", "plan", "--repo", str(work.path),
         "--executor", f"http://127.0.0.1:{free_port()}"],
        capture_output=True, text=True, env=env, check=False, cwd=work.path)
    assert proc.returncode == 2
    assert "SCSYNC_API_KEY" in proc.stderr
    assert os.path.join(".scsync", "api-key") in proc.stderr
    assert "HTTP" not in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(ConfigError):
        Credentials.from_env(work.path, environ={})
