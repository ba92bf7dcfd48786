"""The executor's rules in-process: update statuses, the api_name guard, status transitions.

The subprocess tests (test_api.py, test_semantics.py) show the same rules over
HTTP; these call domain.py and the service directly on a real SQLite store in a
temporary folder, so each case is cheap and names the rule it breaks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from scsync.executor import domain
from scsync.executor.domain import Conflict, InvalidChange, NotFound
from scsync.executor.models import STATUS_UPDATE_ERROR
from scsync.executor.records import Connector, ConnectorSettings, Ending, Report
from scsync.executor.service import Executor
from scsync.executor.settings import load_settings
from scsync.manifest import model


def _connector(**changes: object) -> Connector:
    base = Connector(
        id="c1", api_name="orders", name="Orders", description="", status="operational",
        max_concurrent_executions=2, create_only=False, additional_notification_email=None,
        additional_error_notification_email=None, execution_ended_webhook_url=None, job=None,
        used_count=0, last_used_at=None, created="2026-01-01T00:00:00Z",
        updated="2026-01-01T00:00:00Z")
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[Executor]:
    settings = load_settings(db_path=tmp_path / "state" / "executor.db", repo=tmp_path,
                             environ={"SCSYNC_API_KEY": "domain-test-key"})
    service = Executor(settings)
    yield service
    service.store.close()


FIELDS: ConnectorSettings = {
    "api_name": "orders", "name": "Orders", "description": "", "status": "setup",
    "max_concurrent_executions": 1, "create_only": False,
    "additional_notification_email": None, "additional_error_notification_email": None,
    "execution_ended_webhook_url": None,
    "job": {"command": ["/bin/true"], "timeout_seconds": 60, "env": {}, "working_dir": None},
}


# -- what an update may set ------------------------------------------------------

@pytest.mark.parametrize(("status", "allowed"), [
    ("operational", True), ("inactive", True), ("setup", False), ("need_attention", False)])
def test_an_update_sets_only_operational_or_inactive(status: str, allowed: bool) -> None:
    changes: ConnectorSettings = {"status": status}
    if allowed:
        domain.check_update(_connector(), changes, force_api_name_change=False)
    else:
        with pytest.raises(InvalidChange, match="^" + STATUS_UPDATE_ERROR.replace(".", r"\.")):
            domain.check_update(_connector(), changes, force_api_name_change=False)


# -- the api_name guard ----------------------------------------------------------

@pytest.mark.parametrize(("used", "new_name", "force", "refused"), [
    (0, "renamed", False, False),     # never run: nobody refers to it yet
    (3, "renamed", False, True),      # used: callers know the old name
    (3, "renamed", True, False),      # forced on purpose
    (3, "orders", False, False),      # the same name is no rename
    (3, None, False, False),          # the update leaves the name alone
])
def test_the_api_name_guard_refuses_renaming_a_used_connector(
    used: int, new_name: str | None, force: bool, refused: bool,
) -> None:
    refusal = domain.api_name_change_refusal(_connector(used_count=used), new_name, force=force)
    assert (refusal is not None) is refused
    if refusal is not None:
        assert "used 3 time(s)" in refusal and '"force_api_name_change": true' in refusal


def test_a_refused_rename_changes_nothing(executor: Executor) -> None:
    created = executor.create_connector(FIELDS)
    executor.trigger("orders", user=None, is_dry_run=False, diff_check=True)
    with pytest.raises(Conflict, match="used 1 time"):
        executor.update_connector("orders", {"api_name": "renamed", "name": "New"},
                                  force_api_name_change=False)
    assert executor.connector(created.id).api_name == "orders"
    assert executor.connector(created.id).name == "Orders"
    renamed = executor.update_connector("orders", {"api_name": "renamed"},
                                        force_api_name_change=True)
    assert renamed.api_name == "renamed"
    with pytest.raises(NotFound, match="'orders' not found"):
        executor.connector("orders")


def test_a_taken_api_name_is_a_conflict_on_create_and_on_rename(executor: Executor) -> None:
    executor.create_connector(FIELDS)
    with pytest.raises(Conflict, match="'orders' is already taken"):
        executor.create_connector(FIELDS)
    executor.create_connector({**FIELDS, "api_name": "invoices"})
    with pytest.raises(Conflict, match="'orders' is already taken"):
        executor.update_connector("invoices", {"api_name": "orders"},
                                  force_api_name_change=False)


# -- which statuses run, and what a queued execution waits for --------------------

@pytest.mark.parametrize("manifest_status", model.STATUSES)
def test_executions_start_only_for_the_manifests_executable_statuses(
    manifest_status: str,
) -> None:
    connector = _connector(status=model.API_STATUS[manifest_status])
    reason = domain.waiting_reason(connector, position=1, running=0)
    if manifest_status in (model.OPERATIONAL, model.NEEDS_ATTENTION):
        assert reason == "waiting: starting (position 1 in the queue)"
    else:
        assert reason.startswith("waiting: connector is ")


@pytest.mark.parametrize(("limit", "running", "reason"), [
    (0, 0, "waiting: max_concurrent_executions is 0"),
    (2, 2, "waiting: 2 of 2 slots busy (position 3 in the queue)"),
    (2, 1, "waiting: starting (position 3 in the queue)"),
])
def test_a_queued_execution_says_what_it_waits_for(limit: int, running: int,
                                                    reason: str) -> None:
    connector = _connector(max_concurrent_executions=limit)
    assert domain.waiting_reason(connector, position=3, running=running) == reason


# -- status transitions of an execution -------------------------------------------

def _ending(status: str = "success") -> Ending:
    return Ending(status, None, "2026-01-01T00:00:01Z", 0, {"created": 1},
                  Report("f0000000-0000-4000-8000-000000000001", b"{}"))


def test_queued_runs_then_ends_once(executor: Executor) -> None:
    store = executor.store
    connector = executor.create_connector({**FIELDS, "status": "operational"})
    execution_id = executor.trigger("orders", user="ops@example.com", is_dry_run=True,
                                    diff_check=False)
    queued = executor.execution(connector, execution_id)
    assert (queued.status, queued.is_dry_run, queued.diff_check) == ("queued", True, False)
    assert queued.initiator_email == "ops@example.com"
    assert not store.finish(execution_id, _ending(), [])  # a queued execution cannot end

    started = store.admit(lambda execution: None, budget=10)
    assert [(e.id, e.status) for e in started] == [(execution_id, "running")]
    assert started[0].started_at is not None
    assert store.admit(lambda execution: None, budget=10) == []  # the one slot is taken

    assert store.finish(execution_id, _ending(), [])
    assert not store.finish(execution_id, _ending("error"), [])  # only the first ending counts
    ended = executor.execution(connector, execution_id)
    assert (ended.status, ended.exit_code, ended.record_counts) == ("success", 0, {"created": 1})
    report = executor.report_file("f0000000-0000-4000-8000-000000000001")
    assert report.content == b"{}" and report.name == f"report-{execution_id}.json"


def test_a_connector_that_is_not_executable_admits_nothing(executor: Executor) -> None:
    executor.create_connector(FIELDS)  # status setup
    executor.trigger("orders", user=None, is_dry_run=False, diff_check=True)
    assert executor.store.admit(lambda execution: None, budget=10) == []
    executor.update_connector("orders", {"status": "operational"}, force_api_name_change=False)
    assert len(executor.store.admit(lambda execution: None, budget=10)) == 1


def test_only_a_queued_execution_can_be_cancelled(executor: Executor) -> None:
    connector = executor.create_connector({**FIELDS, "status": "operational"})
    first = executor.trigger("orders", user=None, is_dry_run=False, diff_check=True)
    second = executor.trigger("orders", user=None, is_dry_run=False, diff_check=True)
    executor.store.admit(lambda execution: None, budget=10)  # the first runs, the second waits

    with pytest.raises(Conflict, match="is running; only queued"):
        executor.cancel("orders", first, "ops@example.com")
    _, cancelled = executor.cancel("orders", second, "ops@example.com")
    assert (cancelled.status, cancelled.reason) == ("cancelled", "cancelled by ops@example.com")
    with pytest.raises(Conflict, match=r"already ended \(cancelled\)"):
        executor.cancel("orders", second, None)
    assert executor.execution(connector, first).status == "running"
