"""`scsync watch` and `scsync up`, run as a user would, as subprocesses."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from tests.controller.conftest import (
    API_KEY,
    REPO_ROOT,
    Executor,
    Process,
    base_env,
    free_port,
    init_repo,
    manifest,
    wait_for,
)

from specs import check_output

Cli = Callable[..., tuple[int, str, str]]


def test_watch_applies_each_save_within_a_second(
        tmp_path: Path, executor: Executor) -> None:
    work = tmp_path / "work"
    (work / "connectors").mkdir(parents=True, exist_ok=True)
    (work / "connectors" / "w.yaml").write_text(manifest("watched", name="Watched"), "utf-8")
    process = Process([sys.executable, "-m", "scsync", "watch", str(work), "--executor",
                       executor.url], tmp_path, base_env(), tmp_path / "watch.log").start()
    try:
        with executor.client() as client:
            wait_for(lambda: any(c["api_name"] == "watched" for c in client.list_connectors()),
                     message=f"the first round\n{process.log()}")
            wait_for(lambda: "watching" in process.log(), message="the watcher")
            time.sleep(0.3)  # the watcher's inotify is set up just after the first round
            (work / "connectors" / "w.yaml").write_text(
                manifest("watched", name="Watched Edited"), "utf-8")
            wait_for(lambda: client.get_connector("watched")["name"] == "Watched Edited",
                     interval=0.02, message=f"the save applied\n{process.log()}")
            (work / "connectors" / "w.yaml").write_text("api_name: [broken\n", "utf-8")
            wait_for(lambda: "invalid, nothing applied" in process.log(),
                     message="the invalid save reported")
            assert client.get_connector("watched")["name"] == "Watched Edited"
        assert "w.yaml: 1 change(s) applied" in process.log()
    finally:
        assert process.stop(signal.SIGINT) == 0, process.log()


def test_up_as_a_new_user_then_run_a_connector_end_to_end(tmp_path: Path, scsync: Cli) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(REPO_ROOT / "connectors", project / "connectors")
    shutil.copytree(REPO_ROOT / "jobs", project / "jobs")
    repo = init_repo(project)
    (project / ".gitignore").unlink()  # a user's repository knows nothing of .scsync/
    repo.commit("my SmartConnectors")
    env = {k: v for k, v in base_env().items() if k != "SCSYNC_API_KEY"}  # a new user has none
    port, listen = free_port(), free_port()
    up = Process([sys.executable, "-m", "scsync", "up", "--port", str(port), "--listen-port",
                  str(listen)], project, env, tmp_path / "up.log",
                 f"http://127.0.0.1:{listen}/healthz").start(timeout=40)
    try:
        status_url = f"http://127.0.0.1:{listen}/status"

        def synced() -> dict | None:
            with requests.get(status_url, timeout=5) as answer:
                data = answer.json()
            rows = data["connectors"]
            return data if len(rows) == 4 and {r["sync"] for r in rows} == {"Synced"} else None

        wait_for(synced, timeout=30, message=f"the connectors applied\n{up.log()}")
        log = up.log()
        assert "scsync is up" in log and f"http://127.0.0.1:{port}" in log
        # The banner suggests a connector that runs (not the paused or the inactive one),
        # and the suggested command is the one the user types next.
        assert "scsync run hubspot_contacts --wait" in log
        assert (project / ".scsync" / "api-key").exists()

        executor_url = f"http://127.0.0.1:{port}"
        no_key = {**env, "SCSYNC_API_KEY": ""}
        code, out, err = scsync("run", "hubspot_contacts", "--wait", "--executor",
                                executor_url, cwd=project, env=no_key, timeout=60)
        assert code == 0, out + err
        assert "success (exit 0): records created 3, updated 2, skipped 1, failed 0" in out

        edited = (project / "connectors" / "hubspot_contacts.yaml").read_text()
        repo.commit("relabel", {"connectors/hubspot_contacts.yaml":
                                edited.replace("HubSpot Contacts Sync", "HubSpot Contacts")})
        assert repo.git("ls-files", ".scsync") == ""  # `git add --all` left the key out
        code, out, err = scsync("executions", "hubspot_contacts", "--executor", executor_url,
                                cwd=project, env=no_key)
        assert code == 0 and "success" in out
        wait_for(lambda: check_output(subprocess.run(
            [sys.executable, "-m", "scsync", "plan", "--executor", executor_url,
             "--format", "json"], cwd=project, env=no_key, capture_output=True,
            check=False).stdout.decode())["plan"]["has_changes"] is False, timeout=20,
            message="the commit applied by the controller")
        key = (project / ".scsync" / "api-key").read_text().strip()
        assert key not in up.log() and key not in out
    finally:
        assert up.stop(signal.SIGINT) == 0, up.log()
    assert "controller stopped" in up.log()
    try:
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
        raise AssertionError("the executor outlived scsync up")
    except requests.ConnectionError:
        pass
    assert API_KEY not in up.log()


def test_up_checks_its_ports_and_interval_first(tmp_path: Path, scsync: Cli) -> None:
    for args, message in ((["--port", "99999"], "--port 99999: a port is a number from 1"),
                          (["--listen-port", "0"], "--listen-port 0: a port is a number"),
                          (["--interval", "0"], "--interval must be a positive number"),
                          (["--interval", "nan"], "--interval must be a positive number")):
        code, out, err = scsync("up", *args, cwd=tmp_path, timeout=30)
        assert (code, out) == (2, ""), err
        assert err == f"scsync: error: {message}" + err.split(message, 1)[-1], err
        assert err.count("\n") == 1
