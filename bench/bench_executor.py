"""Benchmark of the embedded executor: `python bench/bench_executor.py [--executions 1000]`.

Starts a real `scsync executor serve` on a free loopback port with a fresh
SQLite file, creates 10 connectors with limits 1 to 8, fires the triggers from
several client threads at once, waits for every execution to end, and prints:

- throughput (executions per second, first trigger to last end);
- trigger-to-start latency p50/p99 (time queued, whatever the reason);
- overhead per execution: the executor's run time (admission to recorded end)
  minus a bare `subprocess.Popen` + `wait` of the same job, measured in this run;
- admission after a slot frees, p50/p99: for executions the limit held, from the
  end of the execution whose slot they took to their start.

Medians and percentiles, not means: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from scsync.client import Credentials, ExecutorClient, RetryPolicy

JOB = ["/bin/true"]
LIMITS = (1, 2, 3, 4, 5, 6, 7, 8, 4, 8)
KEY = "bench-key"


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def bare_spawn(samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        subprocess.Popen(JOB, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True).communicate()
        times.append(time.perf_counter() - started)
    return times


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SCSYNC_API_KEY": KEY}
    src = Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(src), env.get("PYTHONPATH"))))
    log = open(workdir / "executor.log", "wb")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen(
        [sys.executable, "-m", "scsync", "executor", "serve", "--db", str(workdir / "x.db"),
         "--port", str(port), "--repo", str(workdir), "--no-access-log"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with requests.get(f"{url}/healthz", timeout=1) as answer:
                if answer.status_code == 200:
                    return server, url
        except requests.ConnectionError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("the executor did not start; see " + str(workdir / "executor.log"))


def run(executions: int, clients: int, serial: int) -> None:
    spawn_before = bare_spawn(200)
    with tempfile.TemporaryDirectory(prefix="scsync-bench-") as tmp:
        server, url = start_server(Path(tmp))
        try:
            cpu_before = _cpu_seconds(server.pid)
            run_times, waits, after_free, elapsed = _measure(url, executions, clients)
            cpu = _cpu_seconds(server.pid) - cpu_before
            serial_runs, serial_free = _serial(url, serial)
        finally:
            server.terminate()
            server.wait(timeout=30)
    spawn_after = bare_spawn(200)
    spawn = statistics.median(spawn_before + spawn_after)
    print(f"load: {executions} executions over {len(LIMITS)} connectors, limits {LIMITS}, "
          f"{clients} client threads triggering at once, {os.cpu_count()} cores")
    print(f"  throughput              {executions / elapsed:8.1f} executions/s "
          f"({elapsed:.2f} s first trigger to last end)")
    print(f"  trigger-to-start        p50 {_ms(_pct(waits, 0.5))}   p99 {_ms(_pct(waits, 0.99))}")
    print(f"  admission after free    p50 {_ms(_pct(after_free, 0.5))}   "
          f"p99 {_ms(_pct(after_free, 0.99))}   ({len(after_free)} samples)")
    print(f"  run time (admit to end) p50 {_ms(_pct(run_times, 0.5))}   "
          f"p99 {_ms(_pct(run_times, 0.99))}")
    print(f"  executor CPU            {_ms(cpu / executions)} per execution "
          "(HTTP trigger, admission, spawn, end, report, all included)")
    serial_median = statistics.median(serial_runs)
    print(f"serial: {serial} executions, limit 1, queued then released at once")
    print(f"  bare spawn (Popen+wait) median {_ms(spawn)}")
    print(f"  executor run time       median {_ms(serial_median)}")
    print(f"  overhead per execution  median {_ms(serial_median - spawn)}   "
          f"(ratio {serial_median / spawn:.2f}x)")
    print(f"  admission after free    p50 {_ms(_pct(serial_free, 0.5))}   "
          f"p99 {_ms(_pct(serial_free, 0.99))}")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serial(url: str, count: int) -> tuple[list[float], list[float]]:
    """The executor's own cost, without HTTP load: one slot, a queue released at once."""
    with ExecutorClient(url, Credentials(KEY)) as c:
        c.create_connector({"api_name": "bench_serial", "name": "serial", "status": "inactive",
                            "job": {"command": JOB}})
        for _ in range(count):
            c.start_flow("bench_serial")
        c.patch_connector("bench_serial", {"status": "operational"})
        _wait_all_ended(c, ["bench_serial"])
        rows = list(c.list_executions("bench_serial", page_size=1000))
    rows.sort(key=lambda e: _ts(e["started_at"]))
    runs = [_ts(e["ended_at"]) - _ts(e["started_at"]) for e in rows]
    freed = [_ts(b["started_at"]) - _ts(a["ended_at"]) for a, b in itertools.pairwise(rows)]
    return runs, freed


def _measure(url: str, executions: int,
             clients: int) -> tuple[list[float], list[float], list[float], float]:
    def client() -> ExecutorClient:
        return ExecutorClient(url, Credentials(KEY), retry=RetryPolicy(attempts=3))

    names = [f"bench_{i}" for i in range(len(LIMITS))]
    with client() as admin:
        for name, limit in zip(names, LIMITS, strict=True):
            admin.create_connector({"api_name": name, "name": name, "status": "operational",
                                    "max_concurrent_executions": limit,
                                    "job": {"command": JOB}})
    plan = [names[i % len(names)] for i in range(executions)]

    def fire(batch: list[str]) -> int:
        with client() as c:
            for name in batch:
                c.start_flow(name)
        return len(batch)

    first_trigger = time.time()
    with ThreadPoolExecutor(clients) as pool:
        assert sum(pool.map(fire, [plan[i::clients] for i in range(clients)])) == executions
    with client() as c:
        _wait_all_ended(c, names)
        rows = {n: list(c.list_executions(n, page_size=1000)) for n in names}
    last_end = max(_ts(e["ended_at"]) for r in rows.values() for e in r)
    every = [e for r in rows.values() for e in r]
    assert {e["status"] for e in every} == {"success"}, {e["status"] for e in every}
    run_times = [_ts(e["ended_at"]) - _ts(e["started_at"]) for e in every]
    waits = [_ts(e["started_at"]) - _ts(e["created"]) for e in every]
    return (run_times, waits, _after_free(rows, dict(zip(names, LIMITS, strict=True))),
            last_end - first_trigger)


def _wait_all_ended(c: ExecutorClient, names: list[str]) -> None:
    # One-row pages: polling must not load the executor it measures.
    while any(next(iter(c.list_executions(n, status=s, page_size=1)), None)
              for n in names for s in ("queued", "running")):
        time.sleep(0.1)


def _after_free(rows: dict[str, list[dict[str, Any]]],
                limits: dict[str, int]) -> list[float]:
    return list(held(rows, limits).values())


def held(rows: dict[str, list[dict[str, Any]]], limits: dict[str, int]) -> dict[str, float]:
    """The executions the limit held, each with the time from the end that freed its slot
    to its start.

    An execution counts when it was queued at that end and its connector was then
    at its limit (`limits[name]` running just before the end, as the executions'
    own start and end times tell).  One created while slots were free waited for
    its trigger's wake-up instead: that is trigger to start, not a freed slot.
    """
    samples = {}
    for name, executions in rows.items():
        spans = [(_ts(e["started_at"]), _ts(e["ended_at"])) for e in executions]
        ends = sorted(end for _, end in spans)
        for e in executions:
            start, created = _ts(e["started_at"]), _ts(e["created"])
            freed = [t for t in ends if t <= start]
            if not freed or created > freed[-1]:
                continue
            running = sum(1 for began, ended in spans if began < freed[-1] <= ended)
            if running >= limits[name]:
                samples[e["id"]] = start - freed[-1]
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--serial", type=int, default=200)
    args = parser.parse_args()
    run(args.executions, args.clients, args.serial)


if __name__ == "__main__":
    main()
