"""`scsync controller`: commits reconciled, webhooks, a broken commit, drift, an executor outage."""

from __future__ import annotations

import json
import re
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from tests.controller.conftest import (
    API_KEY,
    REFUSED_JOB,
    WEBHOOK_SECRET,
    Clone,
    ControllerFactory,
    CountingProxy,
    Executor,
    Process,
    base_env,
    executor_process,
    manifest,
    sign,
    wait_for,
)

SECRET_ENV = {"SCSYNC_GIT_WEBHOOK_SECRET": WEBHOOK_SECRET}


def _push_body(sha: str, ref: str = "refs/heads/main") -> bytes:
    return json.dumps({"ref": ref, "after": sha}).encode()


def _by_api(status: dict) -> dict[str, dict]:
    return {c["api_name"]: c for c in status["connectors"]}


def test_commits_webhooks_and_a_broken_commit_between_two_good_ones(
        remote: tuple[Path, Clone], executor: Executor,
        start_controller: ControllerFactory) -> None:
    bare, clone = remote
    good = clone.commit("one", {"connectors/a.yaml": manifest("a_conn", name="A"),
                                "connectors/b.yaml": manifest("b_conn", name="B")})
    controller = start_controller(bare, executor.url, "--interval", "300", env=SECRET_ENV)
    controller.wait_applied(good)
    assert {c["sync"] for c in controller.status()["connectors"]} == {"Synced"}

    broken = clone.commit("two", {"connectors/a.yaml": manifest("a_conn", name="A changed"),
                                  "connectors/b.yaml": "api_name: b_conn\nstatus: Maybe\n"})
    body = _push_body(broken)
    assert controller.hook(body, sign(body, "not-the-secret")).status_code == 401
    assert controller.hook(body, None).status_code == 401
    assert controller.hook(body, sign(body)[:-2] + "00").status_code == 401
    time.sleep(0.5)
    assert controller.status()["last_seen_commit"] == good  # no pass was triggered

    assert controller.hook(body, sign(body)).status_code == 202
    status = wait_for(lambda: (s := controller.status())["last_seen_commit"] == broken and s,
                      message="the broken commit seen")
    assert status["last_applied_commit"] == good
    assert status["invalid_commit"]["commit"] == broken
    assert any("connectors/b.yaml" in e for e in status["invalid_commit"]["errors"])
    with executor.client() as client:
        assert client.get_connector("a_conn")["name"] == "A"  # nothing of it applied

    other = _push_body(broken, ref="refs/heads/feature")
    answer = controller.hook(other, sign(other))
    assert answer.status_code == 202 and "ignored" in answer.text

    fixed = clone.commit("three", {"connectors/b.yaml": manifest("b_conn", name="B",
                                                                 status="Inactive")})
    body = _push_body(fixed)
    assert controller.hook(body, sign(body)).status_code == 202
    # The interval is 300 s: only the push can have started the pass wait_applied sees
    # (its own wait is 20 s). How fast is bench_controller.py's business, not a test's.
    status = controller.wait_applied(fixed)
    assert status["invalid_commit"] is None
    with executor.client() as client:
        assert client.get_connector("a_conn")["name"] == "A changed"
        assert client.get_connector("b_conn")["status"] == "inactive"

    # An API-name change of a connector in use: refused, visible, the rest applied.
    with executor.client() as client:
        client.start_flow("a_conn")
    renamed = clone.commit("four", {"connectors/a.yaml": manifest("a_renamed", name="A changed"),
                                    "connectors/b.yaml": manifest("b_conn", name="B two",
                                                                  status="Inactive")})
    body = _push_body(renamed)
    controller.hook(body, sign(body))
    status = controller.wait_applied(renamed)
    rows = _by_api(status)
    assert rows["a_renamed"]["sync"] == "Refused"
    assert "SC100" not in rows["a_renamed"]["reason"]  # the reason is in words
    assert "a_conn' -> 'a_renamed' refused" in rows["a_renamed"]["reason"]
    assert rows["b_conn"]["sync"] == "Synced"
    with executor.client() as client:
        assert client.get_connector("b_conn")["name"] == "B two"
        assert client.get_connector("a_conn")["api_name"] == "a_conn"

    metrics = requests.get(f"{controller.url}/metrics", timeout=5).text
    assert 'scsync_controller_errors_total{kind="invalid_commit"} 1.0' in metrics
    assert "scsync_controller_last_success_timestamp_seconds" in metrics
    assert 'scsync_controller_connectors{sync="Refused"} 1.0' in metrics
    log = controller.log()
    assert "refused" in log and "does not validate" in log
    assert API_KEY not in log and WEBHOOK_SECRET not in log


def test_drift_is_corrected_or_only_reported(
        remote: tuple[Path, Clone], executor: Executor, start_controller: ControllerFactory,
        tmp_path: Path) -> None:
    bare, clone = remote
    sha = clone.commit("one", {"connectors/d.yaml": manifest("drifty", name="Drifty")})
    controller = start_controller(bare, executor.url, "--interval", "0.3")
    controller.wait_applied(sha)
    with executor.client() as client:
        client.patch_connector("drifty", {"name": "Changed By Hand",
                                          "max_concurrent_executions": 5})
        wait_for(lambda: client.get_connector("drifty")["name"] == "Drifty",
                 message="drift corrected")
        assert client.get_connector("drifty")["max_concurrent_executions"] == 1
    assert "drifted: name, max_concurrent_executions" in controller.log()
    assert controller.stop() == 0, controller.log()  # SIGTERM: a clean stop

    warn = start_controller(bare, executor.url, "--interval", "0.3", "--drift", "warn",
                            data_dir=tmp_path / "controller-data")
    with executor.client() as client:
        client.patch_connector("drifty", {"name": "Changed Again"})
        row = wait_for(lambda: (r := _by_api(warn.status()).get("drifty"))
                       and r["sync"] == "OutOfSync" and r, message="drift reported")
        assert "name" in row["reason"] and "--drift warn" in row["reason"]
        time.sleep(0.8)
        assert client.get_connector("drifty")["name"] == "Changed Again"  # left as it is


def test_an_executor_outage_fails_passes_without_stopping_the_controller(
        remote: tuple[Path, Clone], executor: Executor,
        start_controller: ControllerFactory) -> None:
    bare, clone = remote
    first = clone.commit("one", {"connectors/o.yaml": manifest("outage", name="Outage")})
    controller = start_controller(bare, executor.url, "--interval", "0.5")
    controller.wait_applied(first)
    assert requests.get(f"{controller.url}/readyz", timeout=5).status_code == 200
    executor.stop()

    second = clone.commit("two", {"connectors/o.yaml": manifest("outage", name="Outage 2")})
    status = wait_for(lambda: (s := controller.status())["last_error"] and s,
                      timeout=20, message="a failed pass")
    assert "cannot connect" in status["last_error"]
    assert requests.get(f"{controller.url}/readyz", timeout=5).status_code == 503
    assert controller.running

    repo = Path(executor.command[executor.command.index("--repo") + 1])
    revived = executor_process(executor.cwd, repo, port=executor.port)
    revived.start()
    try:
        status = controller.wait_applied(second, timeout=30)
        assert status["last_error"] is None
        with executor.client() as client:
            assert client.get_connector("outage")["name"] == "Outage 2"
        wait_for(lambda: requests.get(f"{controller.url}/readyz", timeout=5).status_code == 200,
                 message="ready again")
        metrics = requests.get(f"{controller.url}/metrics", timeout=5).text
        assert 'scsync_controller_errors_total{kind="executor"}' in metrics
        assert controller.running
    finally:
        revived.stop()


def test_a_change_the_executor_refused_is_retried_not_taken_for_drift(
        remote: tuple[Path, Clone], proxy: CountingProxy,
        start_controller: ControllerFactory) -> None:
    bare, clone = remote
    first = clone.commit("one", {"connectors/s.yaml": manifest("steady", name="Steady")})
    controller = start_controller(bare, proxy.url, "--interval", "0.3", "--drift", "warn")
    controller.wait_applied(first)
    second = clone.commit("two", {"connectors/s.yaml": manifest("steady", name="Steady",
                                                                job=REFUSED_JOB)})
    controller.wait_applied(second)
    proxy.reset()

    def patches() -> int:
        return sum(1 for method, _path in proxy.writes() if method == "PATCH")

    # Every pass tries again (the executor said no; nobody changed it by hand) ...
    wait_for(lambda: patches() >= 2, timeout=15, message=f"retries\n{controller.log()}")
    row = _by_api(controller.status())["steady"]
    assert row["sync"] == "Error" and "HTTP 422" in row["reason"], row
    assert "drifted" not in controller.log()


def test_a_busy_listen_port_is_a_usage_error_before_any_request(
        remote: tuple[Path, Clone], proxy: CountingProxy,
        scsync: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    bare, clone = remote
    clone.commit("one", {"connectors/p.yaml": manifest("ported", name="Ported")})
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = scsync("controller", "--repo", bare, "--executor", proxy.url,
                                "--listen", f"127.0.0.1:{port}", "--data-dir",
                                tmp_path / "busy-data", timeout=30)
    assert code == 2, out + err
    assert err.startswith(f"scsync: error: cannot listen on 127.0.0.1:{port}") and \
        err.count("\n") == 1, err
    assert proxy.calls == []  # nothing reconciled


def test_listen_on_port_0_logs_the_port_it_got(
        remote: tuple[Path, Clone], executor: Executor, tmp_path: Path) -> None:
    bare, clone = remote
    clone.commit("one", {"connectors/z.yaml": manifest("zero_port", name="Zero")})
    process = Process([sys.executable, "-m", "scsync", "controller", "--repo", str(bare),
                       "--executor", executor.url, "--listen", "127.0.0.1:0", "--data-dir",
                       str(tmp_path / "zero-data")], tmp_path, base_env(),
                      tmp_path / "zero.log").start()
    try:
        found = wait_for(lambda: re.search(r"endpoints on http://127\.0\.0\.1:(\d+)",
                                           process.log()), message="the endpoints logged")
        port = int(found.group(1))
        assert port != 0
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        assert process.stop() == 0, process.log()


def test_plan_findings_and_apply_failures_are_logged_counted_and_shown(
        remote: tuple[Path, Clone], executor: Executor, proxy: CountingProxy,
        start_controller: ControllerFactory) -> None:
    bare, clone = remote
    with executor.client() as client:
        client.create_connector({"api_name": "by_hand", "name": "By Hand",
                                 "status": "operational"})
    first = clone.commit("one", {
        "connectors/u.yaml": manifest("unused_a", name="Unused"),
        "connectors/c.yaml": manifest("conc", name="Conc", max_concurrent_executions=3),
        "connectors/h.yaml": manifest("holder_b", name="Holder"),
        "connectors/f.yaml": manifest("fails_c", name="Fails")})
    controller = start_controller(bare, proxy.url, "--interval", "300")
    controller.wait_applied(first)
    second = clone.commit("two", {
        "connectors/u.yaml": manifest("unused_a2", name="Unused"),  # SC120
        "connectors/c.yaml": manifest("conc", name="Conc"),  # SC122
        "connectors/h.yaml": manifest("by_hand", name="Holder"),  # SC127
        "connectors/f.yaml": manifest("fails_c", name="Fails", job=REFUSED_JOB)})  # 422
    controller.stop()
    controller = start_controller(bare, proxy.url, "--interval", "300")
    status = controller.wait_applied(second)
    log = controller.log()
    assert re.search(r" WARNING connectors/u\.yaml: SC120: api_name 'unused_a' -> ", log), log
    assert re.search(r" INFO connectors/c\.yaml: SC122: max_concurrent_executions 3 -> 1", log)
    assert re.search(r" ERROR connectors/h\.yaml: SC127: api_name 'by_hand' is already held", log)
    assert re.search(r" ERROR +! fails_c: update failed: HTTP 422", log), log
    assert "never used" in _by_api(status)["unused_a2"]["reason"]
    metrics = requests.get(f"{controller.url}/metrics", timeout=5).text
    assert 'scsync_controller_errors_total{kind="plan"} 1.0' in metrics


def test_the_executor_kind_is_detected_once_not_on_every_pass(
        remote: tuple[Path, Clone], proxy: CountingProxy,
        start_controller: ControllerFactory) -> None:
    bare, clone = remote
    first = clone.commit("one", {"connectors/k.yaml": manifest("kinded", name="Kinded")})
    controller = start_controller(bare, proxy.url, "--interval", "0.3")
    controller.wait_applied(first)
    passes = controller.status()["passes"]
    wait_for(lambda: controller.status()["passes"] >= passes + 3,
             message=f"three more passes\n{controller.log()}")
    detections = [path for method, path in proxy.calls if path == "/openapi.json"]
    assert detections == ["/openapi.json"], proxy.calls
