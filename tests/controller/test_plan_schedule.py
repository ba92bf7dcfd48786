"""The plan shows what a cadence change does: the schedule in words, runs a day, the next run.

The pure plan with a pinned clock gives the exact lines; the real CLI against
the real embedded executor shows the next run the executor then reports, and
against Kizen's shapes (tests/controller/kizen_fake.py) says Kizen decides it.
Nothing waits on the wall clock: the CLI tests take the expected slot from the
clock read around the command.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.controller.conftest import DESCRIPTION, Clone, Executor, manifest
from tests.controller.kizen_fake import CONTACTS_ID, FakeKizen

from scsync.cadence import iso, next_slot
from scsync.controller.desired import Desired
from scsync.controller.facts import ExecutorFacts, Kind
from scsync.controller.live import LiveConnector
from scsync.controller.plan import Action, make_plan
from scsync.controller.render import render_markdown, render_text
from scsync.controller.schedule import ScheduleChange
from scsync.manifest.model import Connector
from specs import check_output

Cli = Callable[..., tuple[int, str, str]]
#: 2026-12-01T22:31:07Z: the next 5-minute slot is 22:35, the next day's 00:00 UTC
NOW = datetime(2026, 12, 1, 22, 31, 7, tzinfo=UTC).timestamp()
PATH = "connectors/orders.yaml"


def _live(**fields: Any) -> LiveConnector:
    return LiveConnector.from_api({
        "id": "id-1", "api_name": "orders", "name": "Orders", "description": DESCRIPTION,
        "status": "operational", "max_concurrent_executions": 1, "create_only": False,
        "stats": {"used_count": 0}, **fields})


def _plan(live: list[LiveConnector], kind: Kind = "embedded", **fields: Any) -> str:
    connector = Connector.from_data({"api_name": "orders", "name": "Orders",
                                     "description": DESCRIPTION, "status": "Operational",
                                     **fields}, PATH)
    plan = make_plan(Desired("w", {PATH: connector}, []), live, {}, in_use=lambda _c: False,
                     facts=ExecutorFacts(kind=kind), now=NOW)
    return render_text(plan)


def _lines(text: str, field: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()[2:].startswith(field)]


SHOWN = [
    # (live fields, desired fields, kind, the cadence line of the plan)
    ({"connector_type": "schedule", "cadence": 3600}, {"connector_type": "schedule",
                                                       "cadence": 300}, "embedded",
     "~ cadence: 3600 -> 300 (every 5 minutes, 288 runs a day; next run 2026-12-01T22:35:00Z)"),
    # the type left out of the manifest is the live one: still a schedule
    ({"connector_type": "schedule", "cadence": "300"}, {"cadence": 86400}, "embedded",
     "~ cadence: 300 -> 86400 (every day, 1 run a day; next run 2026-12-02T00:00:00Z)"),
    ({"connector_type": "schedule", "cadence": 3600}, {"connector_type": "schedule",
                                                       "cadence": 300}, "kizen",
     "~ cadence: 3600 -> 300 (every 5 minutes, 288 runs a day; Kizen decides the next run "
     "time)"),
    ({"connector_type": "schedule"}, {"connector_type": "schedule", "cadence": 172800},
     "embedded", "+ cadence: 172800 (every 2 days, 1 run every 2 days; next run "
     "2026-12-03T00:00:00Z)"),
    # a webhook's cadence is a batching window: no schedule, no next run
    ({"connector_type": "webhook", "cadence": 3600}, {"connector_type": "webhook",
                                                      "cadence": 300}, "embedded",
     "~ cadence: 3600 -> 300"),
]


@pytest.mark.parametrize(("live", "desired", "kind", "line"), SHOWN,
                         ids=["faster", "type-from-live", "kizen", "added", "webhook"])
def test_the_cadence_line_says_the_schedule_it_gives(
        live: dict[str, Any], desired: dict[str, Any], kind: Kind, line: str) -> None:
    assert _lines(_plan([_live(**live)], kind, **desired), "cadence") == [line]


def test_a_created_schedule_shows_its_first_run_and_plan_data_carries_it() -> None:
    text = _plan([], connector_type="schedule", cadence=300)
    assert _lines(text, "cadence") == [
        "+ cadence: 300 (every 5 minutes, 288 runs a day; next run 2026-12-01T22:35:00Z)"]
    connector = Connector.from_data({"api_name": "orders", "name": "Orders",
                                     "description": DESCRIPTION, "status": "Operational",
                                     "connector_type": "schedule", "cadence": 3600}, PATH)
    plan = make_plan(Desired("w", {PATH: connector}, []), [], {}, in_use=lambda _c: False,
                     now=NOW)
    [entry] = plan.connectors
    assert entry.action is Action.CREATE
    at_23 = int(datetime(2026, 12, 1, 23, tzinfo=UTC).timestamp())
    assert entry.schedule == ScheduleChange(live=None, desired=3600, next_run=at_23)
    assert "| `cadence` | _unset_ | `3600` (every hour, 24 runs a day; next run " \
        "2026-12-01T23:00:00Z) |" in render_markdown(plan)


def test_a_refused_change_shows_no_next_run() -> None:
    # connector_type cannot change on an existing connector: nothing is applied
    text = _plan([_live(connector_type="webhook", cadence=3600)], connector_type="schedule",
                 cadence=300)
    assert "refused" in text
    assert _lines(text, "cadence") == ["~ cadence: 3600 -> 300"]


# -- the real CLI ----------------------------------------------------------------------


def _window(cadence: int, run: Callable[[], Any]) -> tuple[Any, set[str]]:
    """`run()`, and the next slots it may have counted from (the clock read around it)."""
    before = time.time()
    result = run()
    return result, {iso(next_slot(before, cadence)), iso(next_slot(time.time(), cadence))}


def test_plan_shows_the_next_run_the_embedded_executor_then_reports(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    with executor.client() as client:
        client.create_connector({"api_name": "orders", "name": "Orders",
                                 "description": DESCRIPTION, "status": "inactive",
                                 "connector_type": "schedule", "cadence": 86400})
    work.write({PATH: manifest("orders", status="Inactive", connector_type="schedule",
                               cadence=3600)})
    args = ("--repo", work.path, "--executor", executor.url)
    (code, out, err), slots = _window(3600, lambda: scsync("plan", *args))
    assert code == 0, err
    [line] = _lines(out, "cadence")
    assert line.startswith("~ cadence: 86400 -> 3600 (every hour, 24 runs a day; next run ")
    assert line.removeprefix("~ cadence: 86400 -> 3600 (every hour, 24 runs a day; next run "
                             ).removesuffix(")") in slots

    (code, out, err), slots = _window(3600, lambda: scsync("apply", *args, "--auto-approve",
                                                             "--format", "json"))
    assert code == 0, err
    entry = check_output(out)["plan"]["connectors"][0]  # the published schema holds it
    assert entry["schedule"]["live"] == 86400 and entry["schedule"]["desired"] == 3600
    assert entry["schedule"]["runs_per_day"] == 24
    assert entry["schedule"]["next_run"] in slots
    with executor.client() as client:
        live = client.get_connector("orders")
    # the executor starts the new schedule at the next boundary, as the plan said
    # (one slot later only if an hour turned between the plan and this read)
    planned = datetime.fromisoformat(entry["schedule"]["next_run"]).timestamp()
    assert live["next_run_at"] in {iso(int(planned)), iso(int(planned) + 3600)}


@pytest.fixture
def kizen() -> Iterator[FakeKizen]:
    with FakeKizen() as fake:
        yield fake


def test_plan_against_kizen_leaves_the_next_run_to_kizen(
        scsync: Cli, work: Clone, kizen: FakeKizen) -> None:
    kizen.add(api_name="orders", name="Orders", description=DESCRIPTION,
              connector_type="schedule", custom_object=CONTACTS_ID, cadence="86400")
    work.write({PATH: manifest("orders", connector_type="schedule",
                               custom_object="client_client", cadence=300)})
    code, out, err = scsync("plan", "--repo", work.path, "--executor", kizen.url)
    assert code == 0, err
    assert "Plan: " in out and "(kizen)" in out
    assert _lines(out, "cadence") == [
        "~ cadence: 86400 -> 300 (every 5 minutes, 288 runs a day; Kizen decides the next "
        "run time)"]
    code, out, err = scsync("plan", "--repo", work.path, "--executor", kizen.url,
                            "--format", "json")
    entry = check_output(out)["plan"]["connectors"][0]
    assert entry["schedule"] == {"live": 86400, "desired": 300, "runs_per_day": 288,
                                 "next_run": None}
    assert kizen.writes == []  # plan never writes
