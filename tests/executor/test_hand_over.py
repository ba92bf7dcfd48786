"""Admission in the very callback that makes room, in-process on both stores.

A trigger of a connector with a free slot starts its execution in the request
that queued it, and a job's end hands its slot to the next queued execution in
the end's own callback: neither waits for the scheduler's pass, which runs only
after every request already queued on the event loop.  Each test checks the
store before the loop turns once, so it fails if the start is left to the pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scsync.executor.records import ConnectorSettings
from scsync.executor.service import Executor
from scsync.executor.settings import load_settings

from .conftest import STORES


@pytest.fixture(params=STORES)
def environ(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    base = {"SCSYNC_API_KEY": "hand-over-test-key"}
    if request.param == "sqlite":
        yield base
        return
    from pg import fresh_database

    with fresh_database() as url:
        yield base | {"SCSYNC_DB_URL": url}


def _fields(api_name: str, limit: int, command: list[str]) -> ConnectorSettings:
    return {"api_name": api_name, "name": api_name, "description": "", "status": "operational",
            "max_concurrent_executions": limit, "create_only": False,
            "additional_notification_email": None, "additional_error_notification_email": None,
            "execution_ended_webhook_url": None,
            "job": {"command": command, "timeout_seconds": 60, "env": {}, "working_dir": None}}


def _run(tmp_path: Path, environ: dict[str, str], body: Any, **options: Any) -> None:
    settings = load_settings(db_path=tmp_path / "state" / "executor.db", repo=tmp_path,
                             environ=environ, **options)

    async def main() -> None:
        service = Executor(settings)
        await service.start()
        await asyncio.sleep(0)  # the scheduler's task starts, as before any request is served
        try:
            await body(service)
        finally:
            await service.stop()

    asyncio.run(main())


async def _until_ended(service: Executor, execution_id: str) -> None:
    while (e := service.store.get_execution(execution_id)) and e.status in ("queued", "running"):
        await asyncio.sleep(0.01)


async def _status_as_it_ends(service: Executor, ending: str, watched: str) -> str:
    """The status of `watched` as the end callback of `ending` returns, once both ended."""
    runner, seen = service.scheduler.runner, []
    ended = runner._on_end

    def spy(result: Any) -> None:
        ended(result)
        if result.execution.id == ending:
            seen.append(service.store.get_execution(watched).status)  # type: ignore[union-attr]

    runner._on_end = spy
    await _until_ended(service, watched)
    assert len(seen) == 1, seen
    return seen[0]


def test_a_trigger_with_a_free_slot_starts_in_its_own_request(
        tmp_path: Path, environ: dict[str, str]) -> None:
    async def body(service: Executor) -> None:
        service.create_connector(_fields("free_slot", 2, ["/bin/sleep", "0.3"]))
        first = service.trigger("free_slot", user=None, is_dry_run=False, diff_check=False)
        second = service.trigger("free_slot", user=None, is_dry_run=False, diff_check=False)
        third = service.trigger("free_slot", user=None, is_dry_run=False, diff_check=False)
        # No await yet: only the requests themselves can have started anything.
        states = [service.store.get_execution(e) for e in (first, second, third)]
        assert [s.status for s in states if s] == ["running", "running", "queued"]
        assert all(s and s.pid for s in states[:2]), "the job was spawned with the admission"
        await _until_ended(service, third)

    _run(tmp_path, environ, body)


def test_a_job_s_end_starts_the_next_queued_in_its_own_callback(
        tmp_path: Path, environ: dict[str, str]) -> None:
    async def body(service: Executor) -> None:
        service.create_connector(_fields("one_slot", 1, ["/bin/true"]))
        first = service.trigger("one_slot", user=None, is_dry_run=False, diff_check=False)
        second = service.trigger("one_slot", user=None, is_dry_run=False, diff_check=False)
        assert service.store.get_execution(second).status == "queued"  # type: ignore[union-attr]
        # What the second is as the first one's end callback returns (a wake-up of the
        # scheduler would start it only after every callback already queued on the loop).
        assert await _status_as_it_ends(service, first, second) == "running"

    _run(tmp_path, environ, body)


def test_with_max_jobs_a_trigger_leaves_the_start_to_the_pass(
        tmp_path: Path, environ: dict[str, str]) -> None:
    """--max-jobs shares a process's room over connectors earliest deadline first, so a
    trigger does not take it in its own request: the pass starts it, soon after."""
    async def body(service: Executor) -> None:
        service.create_connector(_fields("capped", 2, ["/bin/true"]))
        queued = service.trigger("capped", user=None, is_dry_run=False, diff_check=False)
        assert service.store.get_execution(queued).status == "queued"  # type: ignore[union-attr]
        await _until_ended(service, queued)
        assert service.store.get_execution(queued).status == "success"  # type: ignore[union-attr]

    _run(tmp_path, environ, body, max_jobs=4)


def test_with_max_jobs_a_job_s_end_starts_another_connector_s_queued_one(
        tmp_path: Path, environ: dict[str, str]) -> None:
    """Under --max-jobs the job an ending frees is any connector's: a connector queued only
    for want of the process's room starts in that ending's callback, not a --poll later."""
    async def body(service: Executor) -> None:
        service.create_connector(_fields("long", 1, ["/bin/sleep", "0.3"]))
        service.create_connector(_fields("waiting", 1, ["/bin/true"]))
        first = service.trigger("long", user=None, is_dry_run=False, diff_check=False)
        while service.store.get_execution(first).status == "queued":  # type: ignore[union-attr]
            await asyncio.sleep(0.01)
        waiting = service.trigger("waiting", user=None, is_dry_run=False, diff_check=False)
        await asyncio.sleep(0.05)  # the trigger's pass: the process is at its one job
        assert service.store.get_execution(waiting).status == "queued"  # type: ignore[union-attr]
        assert await _status_as_it_ends(service, first, waiting) == "running"

    _run(tmp_path, environ, body, max_jobs=1)
