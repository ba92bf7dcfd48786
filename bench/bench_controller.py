"""Benchmark of the controller: 5,000 connectors in a git repository and in the executor.

    python bench/bench_controller.py [--connectors 5000] [--repeat 5]

Everything is real: a bare git remote with a clone, `scsync executor serve` as a
subprocess, and `scsync controller` as a subprocess for the webhook timing.
Requests are counted by a small reverse proxy in front of the executor (used
only for the counted passes; timed passes talk to the executor directly).

Prints: requests of a pass with nothing to change (reads in pages, no write),
writes of a commit that changes one connector (exactly one PATCH), the median
no-change pass (goal < 2 s) and the median push-webhook-to-applied time
(goal < 1 s).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scsync.client import Credentials, ExecutorClient  # noqa: E402
from scsync.controller.loop import Reconciler  # noqa: E402
from scsync.controller.metrics import ControllerMetrics  # noqa: E402
from scsync.controller.settings import ControllerSettings  # noqa: E402
from scsync.controller.state import State  # noqa: E402

KEY = "bench-key-" + os.urandom(8).hex()
SECRET = "bench-secret-" + os.urandom(8).hex()
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True,
                          capture_output=True, text=True).stdout.strip()


def manifest(i: int, name: str | None = None) -> str:
    api = f"bench_{i:05d}"
    return (f"apiVersion: scsync/v1\nkind: SmartConnector\napi_name: {api}\n"
            f"name: {name or f'Bench Connector {i}'}\n"
            "description: Imports benchmark records into Kizen for the controller benchmark.\n"
            f"status: {'Inactive' if i % 7 == 0 else 'Operational'}\n"
            f"max_concurrent_executions: {1 + i % 3}\ncreate_only: {str(i % 3 > 0).lower()}\n"
            f"job:\n  command: [python, jobs/sample_job.py]\n  env:\n    SOURCE: s{i % 11}\n")


class CountingProxy:
    def __init__(self, target: str) -> None:
        self.calls: Counter[str] = Counter()
        session = requests.Session()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                parts = self.path.split("?")[0].split("/")
                route = "/".join(parts[:3] + (["{id}"] if len(parts) > 3 else []))
                proxy.calls[f"{self.command} {route}"] += 1
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                answer = session.request(self.command, target + self.path, data=body,
                                         headers=headers, timeout=60)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", ""))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PATCH = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self._session = session

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._session.close()


def reconciler(remote: Path, url: str, data: Path) -> tuple[Reconciler, State, ExecutorClient]:
    settings = ControllerSettings(repo=str(remote), executor_url=url, data_dir=data)
    state = State(settings.state_path)
    client = ExecutorClient(url, Credentials(KEY), timeout=60)
    return Reconciler(settings, state, client, ControllerMetrics()), state, client


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} did not answer")


def repository(work: Path, n: int, jobs: bool = False) -> tuple[Path, Path]:
    """A bare remote and its clone, with `n` manifests committed and pushed (and the
    project's jobs/ with `jobs`)."""
    remote, clone = work / "remote.git", work / "clone"
    git(work, "init", "-q", "--bare", "--initial-branch=main", str(remote))
    git(work, "init", "-q", "--initial-branch=main", str(clone))
    git(clone, "remote", "add", "origin", str(remote))
    (clone / "connectors").mkdir()
    if jobs:
        shutil.copytree(ROOT / "jobs", clone / "jobs")
    for i in range(n):
        (clone / "connectors" / f"bench_{i:05d}.yaml").write_text(manifest(i))
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "connectors")
    git(clone, "push", "-q", "origin", "main")
    return remote, clone


def start_executor(work: Path, clone: Path,
                   env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`scsync executor serve` on a free port, answering; its log in `work`."""
    port = free_port()
    log = open(work / "executor.log", "wb")  # noqa: SIM115 - the process keeps it
    executor = subprocess.Popen(
        [sys.executable, "-m", "scsync", "executor", "serve", "--db", str(work / "ex.db"),
         "--port", str(port), "--repo", str(clone), "--no-access-log"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/healthz", executor)
    return executor, url


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each (the last started first), SIGKILL what does not end in 30 s."""
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connectors", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.connectors, args.repeat
    work = Path(tempfile.mkdtemp(prefix="scsync-bench-controller-"))
    env = {**os.environ, "SCSYNC_API_KEY": KEY, "SCSYNC_GIT_WEBHOOK_SECRET": SECRET,
           "PYTHONPATH": str(ROOT / "src")}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        remote, clone = repository(work, n)
        executor, url = start_executor(work, clone, env)
        processes.append(executor)

        print(f"{n} connectors; seeding the executor through the controller's first pass...")
        started = time.monotonic()
        rec, state, client = reconciler(remote, url, work / "data")
        assert rec.run_pass(), rec.snapshot.last_error
        print(f"  first pass (creates {n}): {time.monotonic() - started:.1f} s")

        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            assert rec.run_pass(), rec.snapshot.last_error
            times.append(time.perf_counter() - t0)
        rec.close()
        client.close()
        state.close()

        proxy = CountingProxy(url)
        rec, state, client = reconciler(remote, proxy.url, work / "data")
        assert rec.run_pass()
        proxy.calls.clear()
        assert rec.run_pass()
        no_change_calls = dict(proxy.calls)
        (clone / "connectors" / "bench_00001.yaml").write_text(manifest(1, "Bench One Edited"))
        git(clone, "commit", "-qam", "one change")
        git(clone, "push", "-q", "origin", "main")
        proxy.calls.clear()
        assert rec.run_pass()
        one_change_calls = dict(proxy.calls)
        rec.close()
        client.close()
        state.close()
        proxy.close()

        listen = free_port()
        controller_log = open(work / "controller.log", "wb")  # noqa: SIM115 - closed at exit
        controller = subprocess.Popen(
            [sys.executable, "-m", "scsync", "controller", "--repo", str(remote), "--executor",
             url, "--interval", "300", "--listen", f"127.0.0.1:{listen}", "--data-dir",
             str(work / "data")], env=env, stdout=controller_log, stderr=subprocess.STDOUT)
        processes.append(controller)
        wait_http(f"http://127.0.0.1:{listen}/readyz", controller, timeout=120)
        hook_times = []
        with requests.Session() as session:
            session.headers["X-API-KEY"] = KEY
            for r in range(repeat):
                label = f"Bench Two Round {r}"
                (clone / "connectors" / "bench_00002.yaml").write_text(manifest(2, label))
                git(clone, "commit", "-qam", f"round {r}")
                git(clone, "push", "-q", "origin", "main")
                body = json.dumps({"ref": "refs/heads/main"}).encode()
                signature = "sha256=" + hmac.new(SECRET.encode(), body,
                                                 hashlib.sha256).hexdigest()
                t0 = time.perf_counter()
                answer = session.post(f"http://127.0.0.1:{listen}/hooks/git", data=body,
                                      headers={"X-Hub-Signature-256": signature,
                                               "X-GitHub-Event": "push"}, timeout=10)
                assert answer.status_code == 202, answer.text
                while session.get(f"{url}/api/smart-connectors/bench_00002",
                                  timeout=10).json()["name"] != label:
                    time.sleep(0.005)
                hook_times.append(time.perf_counter() - t0)

        reads = sum(v for k, v in no_change_calls.items() if k.startswith("GET"))
        writes = {k: v for k, v in one_change_calls.items() if not k.startswith("GET")}
        print(f"no-change pass requests: {no_change_calls} -> {reads} reads, "
              f"{sum(v for k, v in no_change_calls.items() if not k.startswith('GET'))} writes")
        print(f"one-change commit writes: {writes}")
        print(f"no-change pass: median {statistics.median(times):.3f} s "
              f"(min {min(times):.3f}, max {max(times):.3f}, n={repeat}; goal < 2 s)")
        print(f"push webhook -> applied: median {statistics.median(hook_times):.3f} s "
              f"(min {min(hook_times):.3f}, max {max(hook_times):.3f}, n={repeat}; goal < 1 s)")
        return 0
    finally:
        stop_all(processes)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
