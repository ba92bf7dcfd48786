"""Benchmark of scheduled runs: `python bench/bench_schedule.py [--connectors 1000 --seconds 60]`.

Starts a real `scsync executor serve` on a free loopback port with a fresh
SQLite file, creates 1,000 `schedule` connectors with cadences of 1 to 10 s
(limit 1, the job `/bin/true`), and lets them run for 60 s while client
threads keep the API busy (100 requests a second: connector pages, one
connector, its executions).
Then, from the executions table itself (the SQLite file, read-only):

- fire lateness, p50 and p99: a slot's start to its execution being queued
  (`scheduled_for` to `created`); goal: p99 under 100 ms;
- start lateness, p50 and p99: the slot's start to the job's start;
- duplicate slots (an execution twice for one connector and slot) and missed
  slots (a slot of the window with no execution): goal 0 and 0;
- the executor's CPU per fired slot (its own process; the jobs' CPU apart);
- the API's latency under this load, p50 and p99.

The peer, measured in the same run and window: a bare asyncio timer in this
process that sleeps to every whole second and records how late it wakes, the
floor any Python scheduler has on this machine under this load.
Medians and percentiles, not means: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_executor import KEY, _cpu_seconds, _ms, _pct, _ts, start_server
from scsync.client import Credentials, ExecutorClient, RetryPolicy

JOB = ["/bin/true"]
GOAL_P99_SECONDS = 0.1


def _client(url: str) -> ExecutorClient:
    return ExecutorClient(url, Credentials(KEY), retry=RetryPolicy(attempts=3))


def _create(url: str, count: int) -> list[tuple[str, int]]:
    specs = [(f"sched_{i:05d}", 1 + i % 10) for i in range(count)]

    def create(batch: list[tuple[str, int]]) -> None:
        with _client(url) as c:
            for name, cadence in batch:
                c.create_connector({"api_name": name, "name": name, "status": "operational",
                                    "connector_type": "schedule", "cadence": cadence,
                                    "job": {"command": JOB}})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(create, [specs[i::4] for i in range(4)]))
    return specs


def _traffic(url: str, names: list[str], stop: threading.Event, latencies: list[float],
             rate: float) -> None:
    """Requests at `rate` a second: a page of connectors, one connector, its executions."""
    with _client(url) as c:
        n, began = 0, time.monotonic()
        while not stop.is_set():
            name = names[n % len(names)]
            for call in (lambda: next(c.list_connectors(page_size=50)),
                         lambda name=name: c.get_connector(name),
                         lambda name=name: next(iter(c.list_executions(name, page_size=20)),
                                                None)):
                started = time.perf_counter()
                call()
                latencies.append(time.perf_counter() - started)
                n += 1
                time.sleep(max(0.0, began + n / rate - time.monotonic()))


def _bare_timer(until: float, lateness: list[float]) -> None:
    async def tick() -> None:
        while (target := math.floor(time.time()) + 1) <= until:
            await asyncio.sleep(target - time.time())
            lateness.append(time.time() - target)

    asyncio.run(tick())


def run(connectors: int, seconds: int, clients: int, rate: float) -> None:
    with tempfile.TemporaryDirectory(prefix="scsync-bench-") as tmp:
        workdir = Path(tmp)
        server, url = start_server(workdir)
        try:
            specs = _create(url, connectors)
            # The window: whole seconds, starting after every connector's first boundary.
            first = math.floor(time.time()) + 2
            last = first + seconds - 1
            stop = threading.Event()
            api_latency: list[float] = []
            bare: list[float] = []
            while time.time() < first - 0.5:
                time.sleep(0.05)
            cpu_before = _cpu_seconds(server.pid)
            threads = [threading.Thread(target=_traffic, args=(
                url, [n for n, _ in specs], stop, api_latency, rate / clients))
                for _ in range(clients)]
            threads.append(threading.Thread(target=_bare_timer, args=(last + 0.5, bare)))
            for thread in threads:
                thread.start()
            while time.time() < last + 1:
                time.sleep(0.1)
            cpu = _cpu_seconds(server.pid) - cpu_before
            stop.set()
            for thread in threads:
                thread.join()
            time.sleep(2)  # the window's last jobs end
            rows = _read(workdir / "x.db", first, last)
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER=1 dumps the stacks
                server.wait()
                log = (workdir / "executor.log").read_text(errors="replace")
                raise SystemExit("the executor did not stop within 60 s:\n"
                                 + log[-6000:]) from None
    _report(specs, rows, first, last, cpu, api_latency, bare, f"{clients} API client threads "
            f"at {rate:g} requests/s in all")


def _read(db: Path, first: int, last: int) -> list[sqlite3.Row]:
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(
            "SELECT c.api_name, e.scheduled_for, e.created, e.started_at, e.status"
            " FROM executions e JOIN connectors c ON c.id = e.connector_id"
            " WHERE e.trigger_type = 'schedule' AND e.scheduled_for BETWEEN ? AND ?",
            (first, last)).fetchall()
    finally:
        connection.close()


def _report(specs: list[tuple[str, int]], rows: list[sqlite3.Row], first: int, last: int,
            cpu: float, api_latency: list[float], bare: list[float], traffic: str) -> None:
    expected = {(name, slot) for name, cadence in specs
                for slot in range(math.ceil(first / cadence) * cadence, last + 1, cadence)}
    fired = Counter((r["api_name"], r["scheduled_for"]) for r in rows)
    duplicates = sum(n - 1 for n in fired.values())
    unfired = expected - set(fired)
    # A slot with no execution was coalesced when one of the connector's scheduled
    # executions was still queued at its start (queued before, started after); else missed.
    waits: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        waits.setdefault(r["api_name"], []).append(
            (r["scheduled_for"], _ts(r["started_at"]) if r["started_at"] else math.inf))
    coalesced = {(name, slot) for name, slot in unfired
                 if any(at < slot < began for at, began in waits.get(name, ()))}
    missed = len(unfired - coalesced)
    fire = [_ts(r["created"]) - r["scheduled_for"] for r in rows]
    start = [_ts(r["started_at"]) - r["scheduled_for"] for r in rows if r["started_at"]]
    statuses = Counter(r["status"] for r in rows)
    seconds = last - first + 1
    print(f"load: {len(specs)} schedule connectors, cadences 1-10 s, limit 1, job {JOB[0]}; "
          f"{seconds} s window; {traffic}; {os.cpu_count()} cores")
    print(f"  slots due {len(expected)} ({len(expected) / seconds:.0f}/s), fired "
          f"{len(fired)}, duplicates {duplicates}, missed {missed}   (goal: 0 and 0); "
          f"coalesced {len(coalesced)} (the connector's previous run still queued)")
    print(f"  fire lateness      p50 {_ms(_pct(fire, 0.5))}   p99 {_ms(_pct(fire, 0.99))}   "
          f"max {_ms(max(fire))}   (goal: p99 < {GOAL_P99_SECONDS * 1000:.0f} ms: "
          f"{'met' if _pct(fire, 0.99) < GOAL_P99_SECONDS else 'NOT met'})")
    by_slot: dict[int, list[float]] = {}
    for r in rows:
        by_slot.setdefault(r["scheduled_for"], []).append(_ts(r["created"]) - r["scheduled_for"])
    worst = sorted(by_slot.items(), key=lambda kv: -max(kv[1]))[:3]
    print("  latest slots       " + ";  ".join(
        f"+{slot - first} s: {len(late)} fired, {_ms(max(late)).strip()}" for slot, late in worst))
    print(f"  start lateness     p50 {_ms(_pct(start, 0.5))}   p99 {_ms(_pct(start, 0.99))}")
    print(f"  peer: bare asyncio timer in this process, same window: p50 "
          f"{_ms(_pct(bare, 0.5))}   p99 {_ms(_pct(bare, 0.99))}   max {_ms(max(bare))}   "
          f"({len(bare)} wake-ups); "
          f"fire p99 / bare p99 = {_pct(fire, 0.99) / max(_pct(bare, 0.99), 1e-6):.1f}x")
    print(f"  executor CPU       {_ms(cpu / max(len(fired), 1))} per fired slot "
          f"({cpu:.1f} s over {seconds} s: fire, admit, spawn, end, report, and the API)")
    print(f"  API under load     p50 {_ms(_pct(api_latency, 0.5))}   "
          f"p99 {_ms(_pct(api_latency, 0.99))}   ({len(api_latency)} requests)")
    print(f"  ended: {dict(statuses)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connectors", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--rate", type=float, default=100.0,
                        help="API requests a second, over all client threads")
    args = parser.parse_args()
    run(args.connectors, args.seconds, args.clients, args.rate)


if __name__ == "__main__":
    main()
