"""Admission is exact: 1,000 simultaneous triggers from many clients never exceed a limit."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from .conftest import ExecutorFactory, max_overlap, sh_job, wait_for

LIMITS = {"serial": 1, "three": 3, "eight": 8}
TRIGGERS = {"serial": 150, "three": 350, "eight": 500}  # 1,000 in all
CLIENTS = 16

# The job itself checks the limit: it marks itself present, counts who else is
# present, and leaves.  The executor's own start/end records are checked too.
PEER_COUNT = ('touch "$RUN_DIR/$SCSYNC_EXECUTION_ID"; '
              'ls "$RUN_DIR" | wc -l > "$PEAK_DIR/$SCSYNC_EXECUTION_ID"; '
              'rm "$RUN_DIR/$SCSYNC_EXECUTION_ID"')


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@pytest.mark.slow
def test_thousand_simultaneous_triggers_respect_every_limit(
    start_executor: ExecutorFactory, tmp_path: Path,
) -> None:
    server = start_executor("--no-access-log")
    dirs: dict[str, tuple[Path, Path]] = {}
    with server.client() as admin:
        for name, limit in LIMITS.items():
            run_dir, peak_dir = tmp_path / f"{name}-run", tmp_path / f"{name}-peak"
            run_dir.mkdir()
            peak_dir.mkdir()
            dirs[name] = (run_dir, peak_dir)
            admin.create_connector({
                "api_name": name, "name": name, "status": "operational",
                "max_concurrent_executions": limit,
                "job": sh_job(PEER_COUNT, env={"RUN_DIR": str(run_dir),
                                               "PEAK_DIR": str(peak_dir)}),
            })

    plan = [name for name, n in TRIGGERS.items() for _ in range(n)]
    sampled = dict.fromkeys(LIMITS, 0)
    done = threading.Event()

    def sample() -> None:
        with server.client() as watcher:
            while not done.is_set():
                for name in LIMITS:
                    running = sum(1 for _ in watcher.list_executions(name, status="running"))
                    sampled[name] = max(sampled[name], running)

    def trigger(batch: list[str]) -> list[str]:
        with server.client() as c:
            return [c.start_flow(name) for name in batch]

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            batches = [plan[i::CLIENTS] for i in range(CLIENTS)]
            ids = [eid for batch in pool.map(trigger, batches) for eid in batch]
        assert len(set(ids)) == 1000

        def all_ended() -> bool:
            with server.client() as c:
                return all(not any(True for _ in c.list_executions(name, status=status))
                           for name in LIMITS for status in ("queued", "running"))

        wait_for(all_ended, timeout=60, interval=0.2, message="all 1,000 executions to end")
    finally:
        done.set()
        sampler.join()

    with server.client() as c:
        for name, limit in LIMITS.items():
            executions = list(c.list_executions(name, page_size=500))
            assert len(executions) == TRIGGERS[name]
            assert {e["status"] for e in executions} == {"success"}, name
            intervals = [(_ts(e["started_at"]), _ts(e["ended_at"])) for e in executions]
            assert max_overlap(intervals) <= limit, name
            assert sampled[name] <= limit, name
            peaks = [int(p.read_text()) for p in dirs[name][1].iterdir()]
            assert len(peaks) == TRIGGERS[name]
            assert max(peaks) <= limit, name
        # the limits were actually reached, or this test would prove nothing
        assert max_overlap([(_ts(e["started_at"]), _ts(e["ended_at"]))
                             for e in c.list_executions("eight", page_size=500)]) >= 2
