"""Benchmark of the executor's stores: SQLite in one process, PostgreSQL with 1, 2 and 3
replicas, in one run.

    python bench/bench_scale.py [--executions 1000] [--clients 16] [--idle 200]\
        [--backlog 400]

Each configuration gets fresh state (a new SQLite file; a new database on the
PostgreSQL server `SCSYNC_BENCH_PG`, by default postgres on 127.0.0.1:5432) and
real `scsync executor serve` processes, then:

- load: 10 connectors with limits 1 to 8, `--executions` triggers of `/bin/true`
  from `--clients` threads, spread over the replicas in turn, while an 11th
  connector works off a backlog (`--backlog` executions queued under limit 0,
  released to limit 2 as the load starts); throughput (first trigger to last
  end, every execution);
- admission after a freed slot, under that load: for each execution the limit
  held (queued at an end while its connector was at its limit, which is every
  start of the backlog but its first two), that end to its start, p50 and p99;
- trigger to start under load, for the 10 connectors' executions the limit did
  not hold: reported, with no goal (it is the wake-up behind the requests queued
  on the loop, not the admission alone);
- idle admission: `--idle` triggers, one at a time, on a connector with free
  slots: trigger to start (created to started_at), p50 and p99. This is the
  admission path alone: the commit of the trigger, the wake-up, the admission
  transaction and the spawn.
Goals: admission p99 under 10 ms on PostgreSQL; three replicas at least as fast
in total as one. The figures come from the executor's own timestamps.
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
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import requests

from bench_executor import JOB, KEY, LIMITS, _ms, _pct, _ts, _wait_all_ended, held
from scsync.client import Credentials, ExecutorClient, RetryPolicy

SERVER = os.environ.get("SCSYNC_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
SRC = Path(__file__).resolve().parents[1] / "src"
BACKLOG, BACKLOG_LIMIT = "bench_backlog", 2


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _database() -> str:
    name = f"scsync_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop(name: str) -> None:
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _url(name: str) -> str:
    return SERVER.rsplit("/", 1)[0] + "/" + name


def start(workdir: Path, replicas: int, database: str | None, options: tuple[str, ...] = (),
          ) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    """`replicas` executors (with `options`) on the database, or one on a SQLite file."""
    env = {**os.environ, "SCSYNC_API_KEY": KEY,
           "PYTHONPATH": os.pathsep.join(filter(None, (str(SRC), os.environ.get("PYTHONPATH"))))}
    if database:
        env["SCSYNC_DB_URL"] = _url(database)
    processes, urls = [], []
    for i in range(replicas):
        folder = workdir / f"replica{i}"
        folder.mkdir()
        port = _port()
        db = [] if database else ["--db", str(folder / "x.db")]
        log = open(folder / "executor.log", "wb")  # noqa: SIM115 - lives with the process
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "scsync", "executor", "serve", *db, "--port", str(port),
             "--repo", str(workdir), "--no-access-log", *options], cwd=folder, env=env, stdout=log,
            stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not start; see {workdir}/replica*/executor.log")
            time.sleep(0.05)
    return processes, urls


def _client(url: str) -> ExecutorClient:
    return ExecutorClient(url, Credentials(KEY), retry=RetryPolicy(attempts=3))


def load(urls: list[str], executions: int, clients: int,
         backlog: int) -> tuple[float, list[float], list[float]]:
    """Throughput; admission after a freed slot; trigger to start of the rest."""
    names = [f"bench_{i}" for i in range(len(LIMITS))]
    limits = dict(zip(names, LIMITS, strict=True)) | {BACKLOG: BACKLOG_LIMIT}
    with _client(urls[0]) as admin:
        for name, limit in limits.items():
            # The backlog's connector queues everything (limit 0) until the load starts.
            admin.create_connector({"api_name": name, "name": name, "status": "operational",
                                    "max_concurrent_executions": 0 if name == BACKLOG else limit,
                                    "job": {"command": JOB}})
        for _ in range(backlog):
            admin.start_flow(BACKLOG)
    plan = [names[i % len(names)] for i in range(executions)]

    def fire(k: int) -> int:
        mine = [_client(urls[(k + j) % len(urls)]) for j in range(len(urls))]
        try:
            if k == 0:  # release the backlog: from now on each start follows an end
                mine[0].patch_connector(BACKLOG, {"max_concurrent_executions": BACKLOG_LIMIT})
            batch = plan[k::clients]
            for n, name in enumerate(batch):
                mine[n % len(mine)].start_flow(name)
            return len(batch)
        finally:
            for c in mine:
                c.close()

    first = time.time()
    with ThreadPoolExecutor(clients) as pool:
        assert sum(pool.map(fire, range(clients))) == executions
    with _client(urls[0]) as c:
        _wait_all_ended(c, [*limits])
        rows = {n: list(c.list_executions(n, page_size=1000)) for n in limits}
    every = [e for r in rows.values() for e in r]
    assert {e["status"] for e in every} == {"success"}, {e["status"] for e in every}
    assert len(every) == executions + backlog, len(every)
    last = max(_ts(e["ended_at"]) for e in every)
    waited = held(rows, limits)
    triggered = [_ts(e["started_at"]) - _ts(e["created"])
                 for n in names for e in rows[n] if e["id"] not in waited]
    return len(every) / (last - first), list(waited.values()), triggered


def idle(urls: list[str], count: int) -> list[float]:
    """Trigger to start on a connector with free slots, one at a time, over the replicas."""
    waits = []
    clients = [_client(u) for u in urls]
    try:
        clients[0].create_connector({"api_name": "bench_idle", "name": "idle",
                                     "status": "operational", "max_concurrent_executions": 8,
                                     "job": {"command": JOB}})
        for c in itertools.islice(itertools.cycle(clients), count):
            eid = c.start_flow("bench_idle")
            while (e := c.get_execution("bench_idle", eid))["status"] in ("queued", "running"):
                time.sleep(0.002)
            waits.append(_ts(e["started_at"]) - _ts(e["created"]))
    finally:
        for c in clients:
            c.close()
    return waits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=400)
    args = parser.parse_args()
    configurations = [("SQLite, 1 process", 1, False)] + [
        (f"PostgreSQL, {n} replica{'s' * (n > 1)}", n, True) for n in (1, 2, 3)]
    results = {}
    print(f"{args.executions} executions of /bin/true over {len(LIMITS)} connectors (limits "
          f"{LIMITS}) from {args.clients} clients, with a backlog of {args.backlog} on one "
          f"more (limit {BACKLOG_LIMIT}); {args.idle} idle admissions; {os.cpu_count()} cores")
    for label, replicas, postgres in configurations:
        database = _database() if postgres else None
        with tempfile.TemporaryDirectory(prefix="scsync-bench-scale-") as tmp:
            processes, urls = start(Path(tmp), replicas, database)
            try:
                throughput, freed, triggered = load(urls, args.executions, args.clients,
                                                     args.backlog)
                waits = idle(urls, args.idle)
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    process.wait(timeout=30)
                if database:
                    _drop(database)
        results[label] = (throughput, freed, waits, triggered)
        print(f"{label}: {throughput:.1f} executions/s")
        for what, samples in (("admission after a freed slot, under load", freed),
                              ("idle trigger to start", waits),
                              ("trigger to start under load (no goal)", triggered)):
            print(f"  {what:42} p50 {_ms(_pct(samples, 0.5))}  p99 "
                  f"{_ms(_pct(samples, 0.99))}  n={len(samples)}")
    one, three = results["PostgreSQL, 1 replica"][0], results["PostgreSQL, 3 replicas"][0]
    pg = [r for label, r in results.items() if label.startswith("PostgreSQL")]
    for what, worst in (("idle", max(_pct(r[2], 0.99) for r in pg)),
                        ("after a slot frees, under load", max(_pct(r[1], 0.99) for r in pg))):
        print(f"goal: admission p99 under 10 ms on PostgreSQL, {what}: worst p99 "
              f"{_ms(worst)} -> {'met' if worst < 0.010 else 'MISSED'}")
    print(f"goal: 3 replicas at least as fast as 1: {three:.1f} vs {one:.1f} executions/s "
          f"({three / one:.2f}x) -> {'met' if three >= one else 'MISSED'}")
    print(f"median idle admission, SQLite vs PostgreSQL 1 replica: "
          f"{_ms(statistics.median(results['SQLite, 1 process'][2]))} vs "
          f"{_ms(statistics.median(results['PostgreSQL, 1 replica'][2]))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
