"""Execution semantics: status gates, limits, FIFO, wake-up latency, job environment and endings."""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from scsync.client import Conflict, ExecutorClient

from .conftest import (
    ExecutorFactory,
    ExecutorProcess,
    alive,
    py_job,
    sh_job,
    unique_name,
    wait_execution,
    wait_for,
)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _connector(client: ExecutorClient, **fields: Any) -> str:
    name = unique_name()
    client.create_connector({"api_name": name, "name": name, **fields})
    return name


def _status(client: ExecutorClient, name: str, eid: str) -> dict[str, Any]:
    return client.get_execution(name, eid)


@pytest.mark.parametrize(("status", "reason"), [
    ("inactive", "waiting: connector is inactive"),
    ("setup", "waiting: connector is in setup"),
])
def test_non_executable_status_queues_with_a_reason(client: ExecutorClient, status: str,
                                                    reason: str) -> None:
    name = _connector(client, status=status, job=sh_job("true"))
    eid = client.start_flow(name)
    time.sleep(0.3)
    execution = _status(client, name, eid)
    assert execution["status"] == "queued"
    assert execution["reason"] == reason


def test_reactivation_starts_queued_within_100ms(client: ExecutorClient) -> None:
    name = _connector(client, status="inactive", max_concurrent_executions=2,
                      job=sh_job("sleep 0.3"))
    ids = [client.start_flow(name) for _ in range(3)]
    time.sleep(0.2)
    assert {_status(client, name, e)["status"] for e in ids} == {"queued"}
    before = time.time()
    client.patch_connector(name, {"status": "operational"})
    first = wait_execution(client, name, ids[0], ("running", "success"), timeout=5)
    assert _ts(first["started_at"]) - before < 0.1
    assert _status(client, name, ids[2])["status"] == "queued"  # limit 2 still applies
    for eid in ids:
        assert wait_execution(client, name, eid)["status"] == "success"


def test_limit_zero_queues_and_raising_it_starts_within_100ms(client: ExecutorClient) -> None:
    name = _connector(client, status="operational", max_concurrent_executions=0,
                      job=sh_job("sleep 0.5"))
    ids = [client.start_flow(name) for _ in range(3)]
    time.sleep(0.2)
    queued = _status(client, name, ids[0])
    assert queued["status"] == "queued"
    assert queued["reason"] == "waiting: max_concurrent_executions is 0"
    before = time.time()
    client.patch_connector(name, {"max_concurrent_executions": 2})
    started = [wait_execution(client, name, e, ("running",), timeout=5) for e in ids[:2]]
    assert max(_ts(s["started_at"]) for s in started) - before < 0.1
    third = _status(client, name, ids[2])
    assert third["status"] == "queued"
    assert third["reason"] == "waiting: 2 of 2 slots busy (position 1 in the queue)"
    client.patch_connector(name, {"max_concurrent_executions": 0})  # tidy: stop the third
    client.cancel_execution(name, ids[2])


def test_limit_one_runs_fifo_one_at_a_time(client: ExecutorClient) -> None:
    name = _connector(client, status="operational", job=sh_job("sleep 0.05"))
    ids = [client.start_flow(name) for _ in range(5)]
    ended = [wait_execution(client, name, e) for e in ids]
    assert [e["status"] for e in ended] == ["success"] * 5
    starts = [_ts(e["started_at"]) for e in ended]
    assert starts == sorted(starts)
    for previous, following in itertools.pairwise(ended):
        assert _ts(following["started_at"]) >= _ts(previous["ended_at"])


def test_lowering_the_limit_never_interrupts_running(client: ExecutorClient) -> None:
    name = _connector(client, status="operational", max_concurrent_executions=2,
                      job=sh_job("sleep 0.6"))
    ids = [client.start_flow(name) for _ in range(3)]
    for eid in ids[:2]:
        wait_execution(client, name, eid, ("running",))
    client.patch_connector(name, {"max_concurrent_executions": 0})
    assert [wait_execution(client, name, e)["status"] for e in ids[:2]] == ["success"] * 2
    time.sleep(0.2)
    assert _status(client, name, ids[2])["status"] == "queued"
    client.patch_connector(name, {"status": "inactive"})  # deactivation does not cancel either
    client.patch_connector(name, {"max_concurrent_executions": 1, "status": "operational"})
    assert wait_execution(client, name, ids[2])["status"] == "success"


def test_need_attention_executes(client: ExecutorClient) -> None:
    name = _connector(client, status="need_attention", job=sh_job("true"))
    assert wait_execution(client, name, client.start_flow(name))["status"] == "success"


JOB_REPORT = """
import json, os, sys
names = ["SCSYNC_EXECUTION_ID", "SCSYNC_API_NAME", "SCSYNC_DIFF_CHECK", "SCSYNC_DRY_RUN",
         "SCSYNC_API_KEY", "SCSYNC_DB_URL", "GREETING"]
print(json.dumps({"cwd": os.getcwd(), "env": {n: os.environ.get(n) for n in names},
                  "pgid_is_own": os.getpgid(0) == os.getpid()}))
with open(os.environ["SCSYNC_RESULT_FILE"], "w") as f:
    json.dump({"created": 3, "updated": 2, "skipped": 1, "failed": 0}, f)
"""


def test_job_environment_working_dir_and_counts(shared_executor: ExecutorProcess,
                                                client: ExecutorClient) -> None:
    name = _connector(client, status="operational",
                      job=py_job(JOB_REPORT, working_dir="jobs", env={"GREETING": "hi"}))
    eid = client.start_flow(name, is_dry_run=True, disable_diff_check=True)
    ended = wait_execution(client, name, eid)
    assert ended["status"] == "success", ended
    assert ended["record_counts"] == {"created": 3, "updated": 2, "skipped": 1, "failed": 0}
    assert ended["exit_code"] == 0
    report = json.loads(client.download_report(ended["report_file_id"]))
    seen = json.loads(report["output"])
    assert Path(seen["cwd"]) == (shared_executor.repo / "jobs").resolve()
    assert seen["env"] == {"SCSYNC_EXECUTION_ID": eid, "SCSYNC_API_NAME": name,
                           "SCSYNC_DIFF_CHECK": "false", "SCSYNC_DRY_RUN": "true",
                           "SCSYNC_API_KEY": None, "GREETING": "hi",
                           "SCSYNC_DB_URL": None}  # set for the executor on PostgreSQL
    assert seen["pgid_is_own"] is True
    assert report["record_counts"] == ended["record_counts"]


@pytest.mark.parametrize(("job", "status", "reason"), [
    (sh_job('echo \'{"created": 5, "failed": 2}\' > "$SCSYNC_RESULT_FILE"'),
     "partial_success", "2 records failed"),
    (sh_job("echo boom >&2; exit 3"), "error", "exit code 3"),
    (sh_job('echo not-json > "$SCSYNC_RESULT_FILE"'), "error", "result file is not JSON"),
    (sh_job('echo \'{"created": -1}\' > "$SCSYNC_RESULT_FILE"'), "error",
     "result file: 'created' must be a non-negative integer"),
    # Valid JSON, but a result file is read on the loop thread, so never past 64 KiB.
    (py_job('import os; open(os.environ["SCSYNC_RESULT_FILE"], "w")'
            '.write("{}" + " " * 70000)'), "error", "result file is larger than 64 KiB"),
    # Never followed: the link might as well point at /dev/zero or a FIFO.
    (sh_job('echo \'{"created": 1}\' > "$SCSYNC_RESULT_FILE.real"; '
            'ln -s "$SCSYNC_RESULT_FILE.real" "$SCSYNC_RESULT_FILE"'), "error",
     "result file is a symbolic link"),
    ({"command": ["/no/such/program"]}, "error", "job cannot start: /no/such/program: "
                                                 "No such file or directory"),
    (None, "error", "no job defined"),
    (sh_job("kill -9 $$"), "error", "killed by SIGKILL"),
], ids=["partial", "exit-code", "bad-result", "negative-count", "oversized-result",
        "symlinked-result", "missing-program", "no-job", "signal"])
def test_endings(client: ExecutorClient, job: dict[str, Any] | None, status: str,
                 reason: str) -> None:
    name = _connector(client, status="operational", job=job)
    ended = wait_execution(client, name, client.start_flow(name))
    assert (ended["status"], ended["reason"]) == (status, reason)


def test_timeout_kills_the_whole_process_group(shared_executor: ExecutorProcess,
                                               client: ExecutorClient, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = f'sleep 30 & echo $! > {pid_file}; wait'
    name = _connector(client, status="operational", job=sh_job(script, timeout_seconds=1))
    ended = wait_execution(client, name, client.start_flow(name))
    assert (ended["status"], ended["reason"]) == ("error", "timed out after 1s")
    grandchild = int(pid_file.read_text())
    wait_for(lambda: not alive(grandchild), 3, message="the grandchild to be killed")


def test_output_is_capped_head_and_tail_kept(client: ExecutorClient) -> None:
    code = "import sys; sys.stdout.write('FIRST' + 'x' * 3_000_000 + 'LAST'); sys.stdout.flush()"
    name = _connector(client, status="operational", job=py_job(code))
    ended = wait_execution(client, name, client.start_flow(name))
    report = json.loads(client.download_report(ended["report_file_id"]))
    assert report["output"].startswith("FIRST")
    assert report["output"].endswith("LAST")
    assert report["output_dropped_bytes"] > 2_000_000
    assert len(report["output"]) < 300_000


def test_cancel_running_is_409(client: ExecutorClient) -> None:
    name = _connector(client, status="operational", job=sh_job("sleep 0.5"))
    eid = client.start_flow(name)
    wait_execution(client, name, eid, ("running",))
    with pytest.raises(Conflict, match="running"):
        client.cancel_execution(name, eid)
    assert wait_execution(client, name, eid)["status"] == "success"


def test_cancelled_queued_never_runs(client: ExecutorClient) -> None:
    name = _connector(client, status="inactive", job=sh_job("true"))
    keep, drop = client.start_flow(name), client.start_flow(name)
    assert client.cancel_execution(name, drop)["status"] == "cancelled"
    client.patch_connector(name, {"status": "operational"})
    assert wait_execution(client, name, keep)["status"] == "success"
    dropped = client.get_execution(name, drop)
    assert dropped["status"] == "cancelled"
    assert dropped["started_at"] is None



@pytest.mark.parametrize(("job", "reason"), [
    # 35 is SIGRTMIN+1: a real-time signal, which has no name in Python's Signals enum.
    (py_job("import os, signal; os.kill(os.getpid(), signal.SIGRTMIN + 1)"),
     "killed by signal 35"),
    (sh_job('mkdir "$SCSYNC_RESULT_FILE"'), "result file is not a regular file"),
], ids=["realtime-signal", "result-path-is-a-directory"])
def test_an_unusual_ending_is_recorded_and_frees_the_slot(
    shared_executor: ExecutorProcess, client: ExecutorClient, job: dict[str, Any], reason: str,
) -> None:
    name = _connector(client, status="operational", max_concurrent_executions=1, job=job)
    first, second = client.start_flow(name), client.start_flow(name)
    ended = wait_execution(client, name, first, timeout=5)
    assert (ended["status"], ended["reason"]) == ("error", reason)
    assert wait_execution(client, name, second, timeout=5)["status"] == "error"
    runs = shared_executor.workdir / "runs"
    wait_for(lambda: not (runs / f"{first}.json").exists(), 3, message="the result path removed")


def test_a_fifo_as_result_file_does_not_freeze_the_executor(
    start_executor: ExecutorFactory,
) -> None:
    # Its own executor: before the fix the read blocked the event loop for good.
    server = start_executor()
    with server.client(timeout=3) as c:
        name = _connector(c, status="operational", job=sh_job('mkfifo "$SCSYNC_RESULT_FILE"'))
        ended = wait_execution(c, name, c.start_flow(name), timeout=5)
        assert (ended["status"], ended["reason"]) == ("error", "result file is not a regular file")
        assert c.healthz()["status"] == "ok"
        assert not (server.workdir / "runs" / f"{ended['id']}.json").exists()
