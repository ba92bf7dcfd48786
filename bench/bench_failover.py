"""Benchmark of failover on PostgreSQL: how soon a wake-up crosses replicas, how soon a
lost replica's executions end, how soon a standby controller leads.

    python bench/bench_failover.py [--rounds 5] [--lease 5] [--wakeups 50]

Real `scsync executor serve` and `scsync controller --lock` processes on a fresh
database of the PostgreSQL server `SCSYNC_BENCH_PG` (by default postgres on
127.0.0.1:5432) each round; every figure is a median (and the worst) over rounds.

- wake-up: two replicas with `--max-jobs 1`, one held at its cap by a gated job;
  `--wakeups` triggers sent to that one, one at a time, each started by the other
  (the NOTIFY's path): trigger to start (created to started_at), p50 and p99.
  Goal: within 100 ms, against the fallback pass it would otherwise wait for
  (`--poll`, 1 s).
- replica loss: three replicas with `--lease`, started a random part of a
  renewal period apart (their renewals out of step, as in life), a connector at limit 3 with three
  gated executions running and three queued, its execution-ended webhook on a
  receiver here; SIGKILL the replica running the most: from the kill to the lost
  executions' `ended_at` (goal: within the lease time) and to their webhooks
  received; from the lease's expiry (its last renewal plus the lease, the
  database's own figures) to `ended_at`, the detection lag. Then the gate opens:
  every other execution ends `success`, each job started once (checked).
- controller takeover: two controllers `--lock` for one repository (20
  connectors) and executor; SIGKILL the leader: from the kill to the standby's
  /status saying it leads (goal: within 10 s) and to its /readyz 200 (a pass of
  its own done); a new standby replaces the killed one for the next round.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import requests

from bench_controller import free_port, repository, start_executor, stop_all, wait_http
from bench_executor import KEY, _pct, _ts
from bench_scale import SERVER, SRC, _client, _database, _drop, _url, start
from scsync.client import ExecutorClient

T = TypeVar("T")
LIMIT = 3


class Receiver:
    """An execution-ended webhook receiver on loopback: when each execution's arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        arrived = self.arrived

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                arrived.setdefault(body["execution_id"], time.time())
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _gated(folder: Path, gate: Path) -> dict[str, Any]:
    """A job that notes its start in a file named by its execution, then waits for the
    gate (or for the folder to go: a killed replica's jobs are nobody's to stop)."""
    out = f'"{folder}/$SCSYNC_EXECUTION_ID"'
    script = (f"echo start >> {out}; "
              f'while [ ! -e "{gate}" ] && [ -d "{folder}" ]; do sleep 0.02; done')
    return {"command": ["/bin/sh", "-c", script]}


def _until(check: Callable[[], T | None], what: str, timeout: float = 60) -> T:
    """Poll `check` every 5 ms until it gives something true; that."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen in {timeout:g} s")
        time.sleep(0.005)
    return found


def _wait(client: ExecutorClient, name: str, eid: str, statuses: tuple[str, ...],
          timeout: float = 60) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        execution = client.get_execution(name, eid)
        return execution if execution["status"] in statuses else None

    return _until(ended, f"execution {eid} {'/'.join(statuses)}", timeout)


def _replica_ids(urls: list[str]) -> dict[str, int]:
    return {requests.get(f"{u}/readyz", timeout=5).json()["replica"]: i
            for i, u in enumerate(urls)}


def wakeups(work: Path, count: int) -> list[float]:
    database = _database()
    processes: list[subprocess.Popen[bytes]] = []
    gate = work / "gate"
    try:
        processes, urls = start(work, 2, database, ("--max-jobs", "1"))
        clients = [_client(u) for u in urls]
        busy, woken = "bench_busy", "bench_woken"
        for name, job in ((busy, _gated(work, gate)), (woken, {"command": ["/bin/true"]})):
            clients[0].create_connector({"api_name": name, "name": name,
                                         "status": "operational",
                                         "max_concurrent_executions": 5, "job": job})
        held = _wait(clients[0], busy, clients[0].start_flow(busy), ("running",))
        capped = clients[_replica_ids(urls)[held["replica_id"]]]
        latencies = []
        for _ in range(count):
            execution = _wait(capped, woken, capped.start_flow(woken), ("success",))
            assert execution["replica_id"] != held["replica_id"], "started on the capped one"
            latencies.append(_ts(execution["started_at"]) - _ts(execution["created"]))
        for client in clients:
            client.close()
        return latencies
    finally:
        gate.touch()
        stop_all(processes)
        _drop(database)


def replica_loss(work: Path, lease: float, receiver: Receiver,
                 phases: random.Random) -> dict[str, float]:
    database = _database()
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    stamps, gate = work / "stamps", work / "gate"
    stamps.mkdir()
    try:
        for i in range(3):  # started apart, so their renewals are out of step, as in life
            (work / str(i)).mkdir()
            started, (url,) = start(work / str(i), 1, database, (
                "--lease", f"{lease:g}", "--allow-webhook-host", "127.0.0.1"))
            processes += started
            urls.append(url)
            time.sleep(phases.uniform(0, lease / 3))
        clients = [_client(u) for u in urls]
        name = "bench_lost"
        clients[0].create_connector({
            "api_name": name, "name": name, "status": "operational",
            "max_concurrent_executions": LIMIT, "job": _gated(stamps, gate),
            "execution_ended_webhook_url": receiver.url})
        ids = [clients[i % 3].start_flow(name) for i in range(2 * LIMIT)]
        def all_running() -> list[dict[str, Any]] | None:
            running = list(clients[0].list_executions(name, status="running"))
            return running if len(running) == LIMIT else None

        running = _until(all_running, f"{LIMIT} executions running", 30)
        where = _replica_ids(urls)
        victim = max({e["replica_id"] for e in running},
                     key=lambda r: sum(e["replica_id"] == r for e in running))
        doomed = [e["id"] for e in running if e["replica_id"] == victim]
        survivor = clients[(where[victim] + 1) % 3]
        processes[where[victim]].kill()
        killed = time.time()
        ended = [_ts(_wait(survivor, name, eid, ("error",), lease * 4)["ended_at"])
                 for eid in doomed]
        _until(lambda: all(eid in receiver.arrived for eid in doomed),
               "the lost executions' webhooks", 30)
        hooked = [receiver.arrived[eid] for eid in doomed]
        with psycopg.connect(_url(database)) as db:
            expiry = db.execute("SELECT renewed_at + lease_seconds FROM executor_replicas "
                                "WHERE id = %s AND state = 'lost'", (victim,)).fetchone()
        assert expiry is not None, "the victim's lease is not marked lost"
        gate.touch()
        final = {eid: _wait(survivor, name, eid, ("success", "error", "cancelled"))
                 for eid in ids}
        assert {e for e, x in final.items() if x["status"] == "error"} == set(doomed)
        assert all(x["status"] == "success" for e, x in final.items() if e not in doomed)
        for eid in ids:  # none ran twice
            assert (stamps / eid).read_text().split().count("start") == 1, eid
        for client in clients:
            client.close()
        return {"kill_to_end": max(ended) - killed, "kill_to_hook": max(hooked) - killed,
                "expiry_to_end": max(ended) - float(expiry[0]), "lost": len(doomed)}
    finally:
        gate.touch()
        stop_all(processes)
        _drop(database)


def _controller(work: Path, tag: str, remote: Path, url: str,
                env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = open(work / f"controller-{tag}.log", "wb")  # noqa: SIM115 - the process keeps it
    process = subprocess.Popen(
        [sys.executable, "-m", "scsync", "controller", "--repo", str(remote), "--executor",
         url, "--interval", "300", "--listen", f"127.0.0.1:{port}", "--data-dir",
         str(work / f"data-{tag}")], env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


def _leader(url: str) -> dict[str, Any]:
    """The controller's /status view of the leader ({} while it does not answer)."""
    try:
        view: dict[str, Any] = requests.get(f"{url}/status", timeout=5).json()["leader"]
        return view
    except (requests.RequestException, ValueError, KeyError):
        return {}


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=5).ok
    except requests.RequestException:
        return False


def takeovers(work: Path, rounds: int) -> list[tuple[float, float]]:
    database = _database()
    env = {**os.environ, "SCSYNC_API_KEY": KEY, "SCSYNC_LOCK_URL": _url(database),
           "PYTHONPATH": os.pathsep.join(filter(None, (str(SRC), os.environ.get("PYTHONPATH"))))}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        remote, clone = repository(work, 20)
        executor, url = start_executor(work, clone, env)
        processes.append(executor)
        leader = _controller(work, "0", remote, url, env)
        processes.append(leader[0])
        wait_http(f"{leader[1]}/readyz", leader[0], timeout=120)
        figures = []
        for r in range(1, rounds + 1):
            standby = _controller(work, str(r), remote, url, env)
            processes.append(standby[0])
            figures.append(_takeover(leader[0], standby[1]))
            leader = standby
        return figures
    finally:
        stop_all(processes)
        _drop(database)


def _takeover(leader: subprocess.Popen[bytes], standby: str) -> tuple[float, float]:
    """SIGKILL the leader once `standby` names it: seconds to the standby leading, and
    to its /readyz 200."""
    _until(lambda: _leader(standby).get("holder") is not None, "the standby seeing the leader")
    leader.kill()
    killed = time.time()
    _until(lambda: _leader(standby).get("is_me"), "the takeover")
    leads = time.time()
    _until(lambda: _ready(standby), "the new leader's pass")
    return leads - killed, time.time() - killed


def _line(label: str, values: list[float], goal: str) -> str:
    return (f"  {label:<34} median {statistics.median(values) * 1000:8.1f} ms   "
            f"worst {max(values) * 1000:8.1f} ms   ({goal})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lease", type=float, default=5.0)
    parser.add_argument("--wakeups", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scsync-bench-failover-"))
    receiver = Receiver()
    try:
        print(f"PostgreSQL {SERVER.rsplit('@', 1)[-1]}, {os.cpu_count()} cores")
        (work / "wakeups").mkdir()
        woken = wakeups(work / "wakeups", args.wakeups)
        print(f"wake-up across replicas: {len(woken)} triggers on a replica at its cap")
        print(f"  trigger to start on the other      p50 {_pct(woken, 0.5) * 1000:8.1f} ms   "
              f"p99 {_pct(woken, 0.99) * 1000:8.1f} ms   (goal < 100 ms; the fallback: 1 s)")
        losses, phases = [], random.Random(14)
        for r in range(args.rounds):
            (work / f"loss{r}").mkdir()
            losses.append(replica_loss(work / f"loss{r}", args.lease, receiver, phases))
        lost = sum(int(x["lost"]) for x in losses)
        print(f"replica loss: {args.rounds} SIGKILLs, --lease {args.lease:g}, {lost} "
              f"executions lost in all, each ended error, every other one success, none twice")
        print(_line("kill to lost executions ended", [x["kill_to_end"] for x in losses],
                    f"goal: within the lease, {args.lease * 1000:.0f} ms"))
        print(_line("kill to their webhooks received", [x["kill_to_hook"] for x in losses],
                    "no goal"))
        print(_line("lease expiry to ended", [x["expiry_to_end"] for x in losses],
                    f"the detection lag; renewals every {args.lease / 3 * 1000:.0f} ms"))
        (work / "ha").mkdir()
        taken = takeovers(work / "ha", args.rounds)
        print(f"controller takeover: {args.rounds} SIGKILLs of the leader (20 connectors)")
        print(_line("kill to the standby leading", [t[0] for t in taken], "goal < 10 s"))
        print(_line("kill to its /readyz 200", [t[1] for t in taken], "a pass of its own"))
        return 0
    finally:
        receiver.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
