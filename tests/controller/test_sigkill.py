"""SIGKILL of the controller in the middle of an apply, then a restart: no duplicate, converged."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

from tests.controller.conftest import Clone, ControllerFactory, Executor, manifest, wait_for

N = 300


def test_sigkill_mid_apply_then_restart_converges_without_duplicates(
        remote: tuple[Path, Clone], executor: Executor, start_controller: ControllerFactory,
        tmp_path: Path) -> None:
    bare, clone = remote
    sha = clone.commit("many", {f"connectors/k{i:04d}.yaml": manifest(f"k{i:04d}")
                                for i in range(N)})
    data = tmp_path / "controller-data"
    first = start_controller(bare, executor.url, "--interval", "300", data_dir=data)
    with executor.client() as client:
        created = wait_for(lambda: (n := sum(1 for _ in client.list_connectors(page_size=1000)))
                           >= 10 and n, interval=0.005, message="the apply under way")
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        first.stop()
        partial = sum(1 for _ in client.list_connectors(page_size=1000))
        assert created <= partial < N, "the kill should land mid-apply"

        second = start_controller(bare, executor.url, "--interval", "300", data_dir=data)
        status = second.wait_applied(sha, timeout=60)
        names = Counter(c["api_name"] for c in client.list_connectors(page_size=1000))
    assert len(names) == N and set(names.values()) == {1}
    assert {row["sync"] for row in status["connectors"]} == {"Synced"}
    assert len(status["connectors"]) == N
    assert ", 0 failed" in second.log() and "pass failed" not in second.log()
