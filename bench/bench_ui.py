"""Benchmark of the web UI: the overview's first page with 5,000 connectors.

    python bench/bench_ui.py [--connectors 5000] [--repeat 15]

Set up as bench_controller.py sets things up: a bare git remote with 5,000
manifests, `scsync executor serve` and `scsync controller` as subprocesses, the
controller's first pass creating every connector.  Then every connector of the
first page gets executions (two each), so its running, queued and last columns
have something to show.

Timed, each request cold (after the UI's 1.5 s memory of the executor's answers
has expired, so every request asks the executor again), over loopback:
- `GET /` (the first 200 rows): goal < 300 ms, median;
- the same page from a second controller whose executor answers as Kizen does
  (no `/api/scsync/activity`: a proxy answers it 404), so each row costs three
  requests: the peer, and what the bulk route saves;
- `GET /live/overview` (what the page's script polls every 2 s), `GET /?page=25`
  (the last page), `GET /?q=bench_0499` (a search) and `GET /status` (the JSON the
  UI replaces) for scale.
Prints medians, p90 and requests to the executor per page.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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

from bench_controller import (
    KEY,
    ROOT,
    free_port,
    repository,
    start_executor,
    stop_all,
    wait_http,
)

TTL = 1.5  # the UI keeps the executor's answers this long (ui/source.py)
PAGE = 200


class KizenLikeProxy:
    """Forwards to the executor, answering its own activity route 404 as Kizen would;
    counts the requests."""

    def __init__(self, target: str) -> None:
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        proxy, local = self, threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with proxy.lock:
                    proxy.calls[path.split("/")[2] if path.count("/") > 1 else path] += 1
                if path == "/api/scsync/activity":
                    status, body, media = 404, b'{"detail": "Not found."}', "application/json"
                else:
                    session = getattr(local, "session", None) or requests.Session()
                    local.session = session
                    answer = session.get(target + self.path, timeout=60, headers={
                        k: v for k, v in self.headers.items() if k.lower() != "host"})
                    status, body = answer.status_code, answer.content
                    media = answer.headers.get("Content-Type", "")
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def controller(remote: Path, executor_url: str, data: Path, env: dict[str, str],
               log: Path) -> tuple[subprocess.Popen[bytes], str]:
    listen = free_port()
    out = open(log, "wb")  # noqa: SIM115 - the process keeps it
    process = subprocess.Popen(
        [sys.executable, "-m", "scsync", "controller", "--repo", str(remote), "--executor",
         executor_url, "--interval", "300", "--listen", f"127.0.0.1:{listen}",
         "--data-dir", str(data)], env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{listen}"


def timed(session: requests.Session, url: str, repeat: int,
          check: str | None = None) -> list[float]:
    """`repeat` cold requests: each after the UI's memory of the executor has expired."""
    times = []
    for _ in range(repeat):
        time.sleep(TTL + 0.1)
        t0 = time.perf_counter()
        answer = session.get(url, timeout=60)
        times.append(time.perf_counter() - t0)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
        assert check is None or check in answer.text, (url, check)
    return times


def figures(label: str, times: list[float], goal: str = "") -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (f"{label}: median {statistics.median(times) * 1000:.0f} ms, p90 {p90 * 1000:.0f} "
            f"ms (min {ordered[0] * 1000:.0f}, n={len(times)}){goal}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connectors", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    n, repeat = args.connectors, args.repeat
    work = Path(tempfile.mkdtemp(prefix="scsync-bench-ui-"))
    env = {**os.environ, "SCSYNC_API_KEY": KEY, "PYTHONPATH": str(ROOT / "src")}
    env.pop("SCSYNC_UI_TOKEN", None)
    processes: list[subprocess.Popen[bytes]] = []
    proxy: KizenLikeProxy | None = None
    try:
        remote, clone = repository(work, n, jobs=True)
        executor, executor_url = start_executor(work, clone, env)
        processes.append(executor)

        print(f"{n} connectors; the controller's first pass creates them...")
        t0 = time.monotonic()
        first, first_url = controller(remote, executor_url, work / "data", env,
                                      work / "controller.log")
        processes.append(first)
        wait_http(f"{first_url}/readyz", first, timeout=600)
        print(f"  first pass: {time.monotonic() - t0:.1f} s")

        with requests.Session() as api:
            api.headers["X-API-KEY"] = KEY
            for i in range(PAGE):
                for _ in range(2):
                    answer = api.post(f"{executor_url}/api/smart-connectors/bench_{i:05d}"
                                      "/start-connector-flow", json={}, timeout=30)
                    assert answer.status_code == 201, answer.text
        print(f"  {2 * PAGE} executions on the first page's connectors")

        proxy = KizenLikeProxy(executor_url)
        peer, peer_url = controller(remote, proxy.url, work / "data-peer", env,
                                    work / "controller-peer.log")
        processes.append(peer)
        wait_http(f"{peer_url}/readyz", peer, timeout=600)

        with requests.Session() as ui:
            # One warm-up each (templates compiled, connections open); not counted.
            ui.get(f"{first_url}/", timeout=60)
            ui.get(f"{peer_url}/", timeout=60)
            overview = timed(ui, f"{first_url}/", repeat, "bench_00000")
            with proxy.lock:
                proxy.calls.clear()
            kizen = timed(ui, f"{peer_url}/", max(3, repeat // 3), "bench_00000")
            with proxy.lock:
                per_page = sum(proxy.calls.values()) / max(3, repeat // 3)
            last = timed(ui, f"{first_url}/?page={-(-n // PAGE)}", repeat)
            needle = f"bench_{(n - 1) // 10:04d}"  # the last ten connectors
            search = timed(ui, f"{first_url}/?q={needle}", repeat, f"bench_{n - 1:05d}")
            status = timed(ui, f"{first_url}/status", repeat)
            live = timed(ui, f"{first_url}/live/overview", repeat, "bench_00000")
            size = len(ui.get(f"{first_url}/", timeout=60).content)
            rows = json.loads(ui.get(f"{first_url}/live/overview", timeout=60).text)

        median, peer_median = statistics.median(overview), statistics.median(kizen)
        print(figures(f"GET / (first {PAGE} of {n}, embedded executor: 1 request)", overview,
                      f"; goal < 300 ms: {'met' if median < 0.3 else 'MISSED'}"))
        print(figures(f"GET / on a Kizen-like executor ({per_page:.0f} requests a page)",
                      kizen, f"; {peer_median / median:.1f}x the embedded page"))
        print(figures("GET /?page=last", last))
        print(figures(f"GET /?q={needle} (a search, 10 rows)", search))
        print(figures("GET /status (JSON)", status))
        print(figures("GET /live/overview (the 2 s poll, JSON)", live))
        print(f"first page: {size / 1024:.0f} KiB of HTML, "
              f"{len(rows['tables']['connectors'])} rows")
        return 0 if median < 0.3 else 1
    finally:
        stop_all(processes)
        if proxy is not None:
            proxy.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
