"""Executor replicas on one PostgreSQL database: exact admission over all of them, wake-ups
across them, a lost replica's executions taken over, each scheduled slot fired once.

Every replica is a real `scsync executor serve` subprocess on the real PostgreSQL
server (a fresh database per test); jobs are real processes that write down when
they ran, so the limits are checked from the jobs' own start and end times as
well as from the API.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scsync.client import ExecutorClient

from .conftest import (
    ExecutorProcess,
    WebhookReceiver,
    base_env,
    free_port,
    max_overlap,
    sh_job,
    unique_name,
    wait_execution,
    wait_for,
)

pytestmark = pytest.mark.slow
LOST = "interrupted: executor replica lost"


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class Replicas:
    """N replicas on one database, each with its own data folder, one shared repo."""

    def __init__(self, root: Path, database: str, n: int, *args: str) -> None:
        self.repo = root / "repo"
        self.repo.mkdir(exist_ok=True)
        self.processes = [ExecutorProcess(self._folder(root, i), self.repo, base_env(),
                                          list(args), database) for i in range(n)]
        for process in self.processes:
            process.start()

    @staticmethod
    def _folder(root: Path, i: int) -> Path:
        folder = root / f"replica{i}"
        folder.mkdir(exist_ok=True)
        return folder

    def clients(self) -> list[ExecutorClient]:
        return [p.client() for p in self.processes]

    def ids(self) -> dict[str, int]:
        """replica id -> index, from each one's /readyz."""
        out = {}
        for i, process in enumerate(self.processes):
            if process.process is not None and process.process.poll() is None:
                out[process.http().get(f"{process.url}/readyz", timeout=5).json()["replica"]] = i
        return out

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


@pytest.fixture
def replicas(tmp_path: Path, pg_url: str) -> Iterator[Any]:
    started: list[Replicas] = []

    def start(n: int, *args: str) -> Replicas:
        group = Replicas(tmp_path, pg_url, n, *args)
        started.append(group)
        return group

    yield start
    for group in started:
        group.stop()


def _stamp_job(folder: Path, gate: Path | None = None) -> dict[str, Any]:
    """A job that writes `start <t>` and `end <t>` lines to a file named by its execution
    (and, with a gate, waits for the gate file in between, or until the test's folder is
    gone: a killed replica's jobs are nobody's to stop)."""
    wait = (f'while [ ! -e "{gate}" ] && [ -d "{folder}" ]; do sleep 0.02; done; ' if gate
            else "sleep 0.01; ")
    out = f'"{folder}/$SCSYNC_EXECUTION_ID"'
    return sh_job(f"echo start $(date +%s.%N) >> {out}; {wait}echo end $(date +%s.%N) >> {out}; "
                  f"echo parent $PPID >> {out}")


def test_three_replicas_never_run_more_than_the_limit_and_run_everything_once(
        replicas: Any, tmp_path: Path, pg_url: str) -> None:
    group = replicas(3, "--lease", "5")
    stamps = tmp_path / "stamps"
    stamps.mkdir()
    clients = group.clients()
    name = unique_name("shared")
    clients[0].create_connector({"api_name": name, "name": name, "status": "operational",
                                 "max_concurrent_executions": 3, "job": _stamp_job(stamps)})
    peak_seen = [0]
    done = threading.Event()

    def sample() -> None:  # the API's view, from any replica, while the triggers go in
        while not done.is_set():
            client = random.choice(clients)
            peak_seen[0] = max(peak_seen[0], client.execution_page(name, status="running")[0])
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    def trigger(k: int) -> list[str]:  # 16 clients, each over the three replicas in turn
        mine = [group.processes[(k + j) % 3].client() for j in range(3)]
        try:
            return [mine[i % 3].start_flow(name) for i in range(62 + (k < 8))]  # 1,000 in all
        finally:
            for client in mine:
                client.close()

    with ThreadPoolExecutor(16) as pool:
        ids = [e for batch in pool.map(trigger, range(16)) for e in batch]
    assert len(ids) == 1000
    ended = [wait_execution(clients[i % 3], name, e, timeout=180) for i, e in enumerate(ids)]
    done.set()
    sampler.join()
    assert [e["status"] for e in ended].count("success") == len(ended)
    assert peak_seen[0] <= 3
    runs = {}
    with psycopg.connect(pg_url) as db:
        pids = dict(db.execute("SELECT id, pid FROM executor_replicas").fetchall())
        starts = [r[0] for r in db.execute("SELECT started_at FROM executions ORDER BY seq")]
    for execution in ended:
        lines = (stamps / execution["id"]).read_text().split()
        assert lines[0::2] == ["start", "end", "parent"], execution["id"]  # ran exactly once
        runs[execution["id"]] = (float(lines[1]), float(lines[3]))
        # The replica that admitted it ran its job.
        assert int(lines[5]) == pids[execution["replica_id"]], execution["id"]
    assert max_overlap(list(runs.values())) <= 3
    assert starts == sorted(starts)  # FIFO: started in the order they were queued
    by_replica = {e["replica_id"] for e in ended}
    assert len(by_replica) >= 2, by_replica  # the work was shared
    for client in clients:
        client.close()


def test_a_replica_at_its_cap_leaves_a_new_execution_to_another_woken_at_once(
        replicas: Any, tmp_path: Path) -> None:
    # The fallback pass an hour away: only a NOTIFY can start the new execution on the
    # other replica (bench/bench_failover.py measures how soon it does).
    group = replicas(2, "--max-jobs", "1", "--poll", "3600")
    gate = tmp_path / "gate"
    first, second = group.clients()
    busy, name = unique_name("busy"), unique_name("woken")
    for api_name, job in ((busy, _stamp_job(tmp_path, gate)), (name, sh_job("true"))):
        first.create_connector({"api_name": api_name, "name": api_name, "status":
                                "operational", "max_concurrent_executions": 5, "job": job})
    try:
        holding = first.start_flow(busy)
        runner = wait_execution(first, busy, holding, ("running",))["replica_id"]
        # Triggered on the replica that runs the busy job, which is at its cap.
        on_runner = first if group.ids()[runner] == 0 else second
        for _ in range(5):
            execution = wait_execution(on_runner, name, on_runner.start_flow(name))
            assert execution["status"] == "success" and execution["replica_id"] != runner
    finally:
        gate.touch()
    first.close()
    second.close()


@pytest.mark.parametrize(("held", "change"), [
    ({"max_concurrent_executions": 0}, {"max_concurrent_executions": 2}),
    ({"status": "inactive"}, {"status": "operational"}),
], ids=["limit", "status"])
def test_a_patch_that_frees_slots_starts_the_queue_on_another_replica(
        replicas: Any, tmp_path: Path, held: dict[str, Any], change: dict[str, Any]) -> None:
    # Each fallback pass an hour away: only the PATCH's NOTIFY can start the queue on the
    # replica with room.
    group = replicas(2, "--max-jobs", "1", "--poll", "3600")
    gate = tmp_path / "gate"
    first, second = group.clients()
    busy, name = unique_name("busy"), unique_name("held")
    first.create_connector({"api_name": busy, "name": busy, "status": "operational",
                            "max_concurrent_executions": 5, "job": _stamp_job(tmp_path, gate)})
    first.create_connector({"api_name": name, "name": name, "status": "operational",
                            "max_concurrent_executions": 2, "job": sh_job("true"), **held})
    try:
        holding = first.start_flow(busy)
        runner = wait_execution(first, busy, holding, ("running",))["replica_id"]
        on_runner = first if group.ids()[runner] == 0 else second  # at its cap
        ids = [on_runner.start_flow(name) for _ in range(2)]
        assert [on_runner.get_execution(name, e)["status"] for e in ids] == ["queued"] * 2
        on_runner.patch_connector(name, change)
        for eid in ids:
            ended = wait_execution(on_runner, name, eid)
            assert ended["status"] == "success" and ended["replica_id"] != runner
    finally:
        gate.touch()
    first.close()
    second.close()


def _wait_lost(client: ExecutorClient, name: str, eid: str) -> dict[str, Any]:
    return wait_execution(client, name, eid, ("error", "success", "cancelled"), timeout=30)


def test_a_killed_replica_s_runs_end_as_lost_with_webhooks_and_the_queue_runs_elsewhere(
        replicas: Any, tmp_path: Path, webhook_receiver: WebhookReceiver, pg_url: str) -> None:
    lease = 3.0
    group = replicas(3, "--lease", str(lease), "--allow-webhook-host", "127.0.0.1")
    gate = tmp_path / "gate"
    clients = group.clients()
    name = unique_name("lost")
    clients[0].create_connector({
        "api_name": name, "name": name, "status": "operational",
        "max_concurrent_executions": 3, "execution_ended_webhook_url": webhook_receiver.url,
        "job": _stamp_job(tmp_path, gate)})
    ids = [clients[i % 3].start_flow(name) for i in range(9)]
    running = wait_for(lambda: (r := [e for e in clients[0].list_executions(name)
                                      if e["status"] == "running"]) and len(r) == 3 and r,
                       15, message="three running")
    where = group.ids()
    victim_id = max({e["replica_id"] for e in running},
                    key=lambda r: sum(e["replica_id"] == r for e in running))
    victim = where[victim_id]
    doomed = [e["id"] for e in running if e["replica_id"] == victim_id]
    survivor = clients[(victim + 1) % 3]
    group.processes[victim].kill()

    endings = [_wait_lost(survivor, name, eid) for eid in doomed]
    with psycopg.connect(pg_url) as db:
        state, expired = db.execute("SELECT state, renewed_at + lease_seconds FROM "
                                    "executor_replicas WHERE id = %s", (victim_id,)).fetchone()
    assert state == "lost"
    for ended in endings:
        assert (ended["status"], ended["reason"]) == ("error", LOST)
        # Not before its lease ran out (the timestamps hold milliseconds); how soon after
        # is bench/bench_failover.py's figure.
        assert _ts(ended["ended_at"]) >= expired - 0.001, (ended["ended_at"], expired)
    hooks = wait_for(lambda: (h := [r.json() for r in webhook_receiver.received()
                                    if r.json().get("status") == "error"])
                     and len(h) >= len(doomed) and h, 20, message="the lost runs' webhooks")
    assert {h["execution_id"] for h in hooks} == set(doomed)
    assert all(h["metadata"]["reason"] == LOST for h in hooks)

    gate.touch()  # the rest (queued, and running on the survivors) can now finish
    final = {eid: _wait_lost(survivor, name, eid) for eid in ids}
    assert {eid for eid, e in final.items() if e["status"] == "error"} == set(doomed)
    assert all(e["status"] == "success" for eid, e in final.items() if eid not in doomed)
    assert all(final[eid]["replica_id"] != victim_id for eid in ids if eid not in doomed)
    for eid in ids:  # none ran twice, none was lost
        starts = (tmp_path / eid).read_text().split().count("start")
        assert starts == 1, (eid, starts)
    for client in clients:
        client.close()


def test_every_replica_drains_the_outbox_and_each_webhook_goes_out_once(
        replicas: Any, webhook_receiver: WebhookReceiver) -> None:
    group = replicas(3, "--allow-webhook-host", "127.0.0.1")
    clients = group.clients()
    name = unique_name("hooks")
    clients[0].create_connector({"api_name": name, "name": name, "status": "operational",
                                 "max_concurrent_executions": 6, "job": sh_job("true"),
                                 "execution_ended_webhook_url": webhook_receiver.url})
    ids = [clients[i % 3].start_flow(name) for i in range(60)]
    for i, eid in enumerate(ids):
        wait_execution(clients[i % 3], name, eid)
    received = wait_for(lambda: (r := webhook_receiver.received()) and len(r) >= 60 and r,
                        30, message="60 webhooks")
    time.sleep(1.0)  # a second sending would come now
    sent = [r.json()["execution_id"] for r in webhook_receiver.received()]
    assert sorted(sent) == sorted(ids), (len(sent), len(received))  # each once, none lost
    for client in clients:
        client.close()


def test_a_replica_back_after_its_lease_was_taken_leaves_those_runs_alone(
        replicas: Any, tmp_path: Path) -> None:
    lease = 2.0
    group = replicas(2, "--lease", str(lease))
    gate = tmp_path / "gate"
    first, second = group.clients()
    name = unique_name("paused")
    first.create_connector({"api_name": name, "name": name, "status": "operational",
                            "job": _stamp_job(tmp_path, gate)})
    eid = first.start_flow(name)
    owner = wait_execution(first, name, eid, ("running",))["replica_id"]
    index = group.ids()[owner]
    other = second if index == 0 else first
    paused = group.processes[index].process
    assert paused is not None
    os.kill(paused.pid, signal.SIGSTOP)  # frozen: it renews nothing
    try:
        ended = _wait_lost(other, name, eid)
        assert (ended["status"], ended["reason"]) == ("error", LOST)
    finally:
        os.kill(paused.pid, signal.SIGCONT)
    back = group.processes[index]
    wait_for(lambda: back.http().get(f"{back.url}/readyz", timeout=5).json()["replica"]
             not in (None, owner), 15, message="a new replica id after the lease was lost")
    gate.touch()
    time.sleep(1.0)  # its job, stopped or finishing, must not rewrite the ending
    assert other.get_execution(name, eid)["status"] == "error"
    assert "lost its lease" in back.log()
    again = back.client()
    assert wait_execution(again, name, again.start_flow(name))["status"] == "success"
    again.close()
    first.close()
    second.close()


@pytest.mark.parametrize("named", [True, False], ids=["api_name", "kizen_create"])
def test_each_scheduled_slot_fires_once_across_replicas(
        replicas: Any, pg_url: str, named: bool) -> None:
    group = replicas(3)
    clients = group.clients()
    name = unique_name("every")
    # Kizen's create sends no api_name: the executor derives it (here, the same).
    name_field = {"api_name": name} if named else {}
    created = clients[0].create_connector({
        **name_field, "name": name, "status": "operational", "connector_type": "schedule",
        "cadence": 1, "max_concurrent_executions": 3, "job": sh_job("true")})
    assert created["api_name"] == name
    time.sleep(0.5)
    group.processes[0].kill()  # the replica that heard of it first goes: the others fire
    wait_for(lambda: clients[1].execution_page(name)[0] >= 5, 30, message="five slots")
    with psycopg.connect(pg_url) as db:
        slots = [r[0] for r in db.execute(
            "SELECT scheduled_for FROM executions e JOIN connectors c ON c.id = e.connector_id"
            " WHERE c.api_name = %s ORDER BY scheduled_for", (name,))]
    assert len(slots) == len(set(slots)), slots  # never twice
    assert all(b - a >= 1 for a, b in itertools.pairwise(slots))
    for client in clients[1:]:
        client.close()


@pytest.mark.parametrize(("how", "needle"), [
    (["--db", "postgresql://scsync:hunter2@127.0.0.1:1/nope"], "cannot connect to "
     "postgresql://***@127.0.0.1:1/nope"),
    (["--db", "mysql://127.0.0.1/x"], "give a SQLite file or a postgresql:// URL"),
    ({"SCSYNC_DB_URL": "not a url"}, "SCSYNC_DB_URL 'not a url' is not a postgresql:// URL"),
])
def test_a_bad_database_is_a_one_line_error(tmp_path: Path, how: Any, needle: str) -> None:
    args, env = (how, base_env()) if isinstance(how, list) else ([], base_env(**how))
    run = subprocess.run([sys.executable, "-m", "scsync", "executor", "serve", "--port",
                          str(free_port()),
                          "--repo", str(tmp_path), *args], env=env, capture_output=True,
                         text=True, timeout=60, check=False)
    assert run.returncode == 2, run.stderr
    assert needle in run.stderr
    assert "hunter2" not in run.stderr and "Traceback" not in run.stderr
