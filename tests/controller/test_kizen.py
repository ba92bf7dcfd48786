"""The controller against Kizen: a loopback server with Kizen's shapes (tests/controller/
kizen_fake.py), and the real embedded executor for the other kind, through the real CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.controller.conftest import DESCRIPTION, Clone, Executor, manifest
from tests.controller.kizen_fake import CONTACTS_ID, DEALS_ID, FakeKizen

from scsync import client as client_module
from scsync.client import Credentials, ExecutorClient, RetryPolicy
from scsync.controller.apply import apply_plan
from scsync.controller.desired import DesiredReader
from scsync.controller.live import LiveConnector, create_body
from scsync.controller.pipeline import plan_against_live
from scsync.controller.plan import Action
from scsync.controller.state import State
from scsync.manifest.discover import DEFAULT_FOLDER
from scsync.manifest.model import Connector
from specs import check_output

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def kizen() -> Iterator[FakeKizen]:
    with FakeKizen() as fake:
        yield fake


def _plan(scsync: Cli, work: Clone, url: str, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = scsync("plan", "--repo", work.path, "--executor", url, "--format", "json",
                            "--detailed-exitcode", *extra)
    assert out, err
    return code, check_output(out)["plan"]


def _apply(scsync: Cli, work: Clone, url: str) -> tuple[int, str]:
    code, out, err = scsync("apply", "--repo", work.path, "--executor", url, "--auto-approve")
    return code, out + err


def _rules(entry: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in entry["findings"]]


def test_the_kind_is_detected_and_the_option_overrides_it(
        scsync: Cli, work: Clone, executor: Executor, kizen: FakeKizen) -> None:
    work.write({"connectors/orders.yaml": manifest("orders")})
    code, plan = _plan(scsync, work, executor.url)
    assert plan["executor_kind"] == "embedded"
    assert (code, plan["connectors"][0]["action"]) == (2, "create")  # as today
    code, plan = _plan(scsync, work, kizen.url)
    assert plan["executor_kind"] == "kizen"
    assert (code, plan["connectors"][0]["action"]) == (1, "error")
    # Declared, the kind wins over detection, both ways.
    code, plan = _plan(scsync, work, executor.url, "--executor-kind", "kizen")
    assert (plan["executor_kind"], plan["connectors"][0]["action"]) == ("kizen", "error")
    code, plan = _plan(scsync, work, kizen.url, "--executor-kind", "embedded")
    assert (plan["executor_kind"], plan["connectors"][0]["action"]) == ("embedded", "create")
    code, _out, err = scsync("plan", "--repo", work.path, "--executor", kizen.url,
                             "--executor-kind", "cloud")
    assert code == 2 and "--executor-kind" in err


def test_an_executor_answering_scsyncs_healthz_is_embedded(scsync: Cli, work: Clone) -> None:
    work.write({"connectors/orders.yaml": manifest("orders")})
    with FakeKizen(healthz={"status": "ok", "version": "0.9.0"}) as old_scsync:
        _code, plan = _plan(scsync, work, old_scsync.url)
    assert (plan["executor_kind"], plan["connectors"][0]["action"]) == ("embedded", "create")
    with FakeKizen(healthz={"status": "ok", "version": "1", "region": "us"}) as other:
        _code, plan = _plan(scsync, work, other.url)
    assert plan["executor_kind"] == "kizen"  # not exactly scsync's answer


def test_kizen_fields_a_manifest_leaves_out_are_not_compared(scsync: Cli, work: Clone,
                                                             kizen: FakeKizen) -> None:
    kizen.add(api_name="orders", name="Orders", description="Nightly orders.",
              connector_type="schedule", custom_object=CONTACTS_ID, cadence=3600)
    work.write({"connectors/orders.yaml": manifest("orders", description="Nightly orders.")})
    code, plan = _plan(scsync, work, kizen.url)
    assert (code, plan["connectors"][0]["action"]) == (0, "in sync"), plan


def test_a_manifest_kizen_does_not_hold_is_an_error_with_the_way_out(
        scsync: Cli, work: Clone, kizen: FakeKizen) -> None:
    work.write({"connectors/orders.yaml": manifest("orders")})
    code, plan = _plan(scsync, work, kizen.url)
    entry = plan["connectors"][0]
    assert code == 1 and entry["action"] == "error" and _rules(entry) == ["SC132"]
    assert "not found on the executor" in entry["reason"]
    assert "author it there" in entry["reason"] and "scsync import" in entry["reason"]
    code, out = _apply(scsync, work, kizen.url)
    assert code == 1 and "SC132" in out
    assert kizen.writes == []  # no empty shell is created


def test_a_declared_connector_is_created_in_setup_then_set_to_its_status(
        scsync: Cli, work: Clone, kizen: FakeKizen) -> None:
    work.write({"connectors/leads.yaml": manifest(
        "leads", connector_type="spreadsheet", custom_object="client_client")})
    code, plan = _plan(scsync, work, kizen.url)
    entry = plan["connectors"][0]
    assert (code, entry["action"], _rules(entry)) == (2, "create", ["SC133"])
    assert "script and flow must be authored in Kizen" in entry["findings"][0]["message"]
    code, out = _apply(scsync, work, kizen.url)
    assert code == 0, out
    method, _path, body = kizen.writes[0]
    assert method == "POST" and body["status"] == "setup"
    assert body["custom_object"] == CONTACTS_ID  # the api_name, resolved to Kizen's id
    assert body["connector_type"] == "spreadsheet"
    # The status the manifest asks for is the next step, once Kizen holds the connector.
    code, plan = _plan(scsync, work, kizen.url)
    entry = plan["connectors"][0]
    assert (code, entry["action"]) == (2, "update")
    assert [(c["field"], c["live"], c["desired"]) for c in entry["changes"]] == [
        ("status", "Setup", "Operational")]
    code, out = _apply(scsync, work, kizen.url)
    assert code == 0, out
    assert kizen.writes[-1][0] == "PATCH" and kizen.writes[-1][2] == {"status": "operational"}
    code, plan = _plan(scsync, work, kizen.url)
    assert code == 0, plan["summary"]  # in sync: the object's id reads back as client_client


def test_an_unknown_custom_object_is_an_error_before_any_write(
        scsync: Cli, work: Clone, kizen: FakeKizen) -> None:
    work.write({"connectors/leads.yaml": manifest(
        "leads", connector_type="spreadsheet", custom_object="no_such_object")})
    code, plan = _plan(scsync, work, kizen.url)
    entry = plan["connectors"][0]
    assert (code, entry["action"], _rules(entry)) == (1, "error", ["SC134"])
    assert "client_client" in entry["reason"]  # what the executor does list
    code, _out = _apply(scsync, work, kizen.url)
    assert code == 1 and kizen.writes == []


def test_imported_kizen_connectors_plan_in_sync(scsync: Cli, work: Clone,
                                                kizen: FakeKizen) -> None:
    kizen.add(api_name="hourly_contacts", name="Hourly", connector_type="schedule",
              custom_object=CONTACTS_ID, cadence=3600)
    kizen.add(api_name="deal_sheet", name="Deals", connector_type="spreadsheet",
              custom_object=DEALS_ID, cadence=None)
    kizen.add(api_name="webhook_in", name="Inbound", connector_type="webhook",
              custom_object=CONTACTS_ID, cadence=300)
    code, out, err = scsync("import", "--repo", work.path, "--executor", kizen.url)
    assert code == 0, out + err
    text = (work.path / "connectors/deal_sheet.yaml").read_text("utf-8")
    assert "custom_object: deals" in text
    code, plan = _plan(scsync, work, kizen.url)
    assert code == 0, plan
    assert [c["action"] for c in plan["connectors"]] == ["in sync"] * 3


def test_changing_type_or_object_is_refused_by_plan_and_flagged_by_review(
        scsync: Cli, work: Clone, kizen: FakeKizen) -> None:
    kizen.add(api_name="deal_sheet", name="Deals", connector_type="spreadsheet",
              custom_object=DEALS_ID)
    code, out, err = scsync("import", "--repo", work.path, "--executor", kizen.url)
    assert code == 0, out + err
    base = work.commit("import")
    path = work.path / "connectors/deal_sheet.yaml"
    text = path.read_text("utf-8")
    path.write_text(text.replace("custom_object: deals", "custom_object: client_client")
                    .replace("connector_type: spreadsheet", "connector_type: webhook"), "utf-8")
    code, plan = _plan(scsync, work, kizen.url)
    entry = plan["connectors"][0]
    assert (code, entry["action"]) == (1, "refused")
    assert _rules(entry) == ["SC131", "SC131"]
    assert {c["field"] for c in entry["changes"]} == {"connector_type", "custom_object"}
    code, _out = _apply(scsync, work, kizen.url)
    assert code == 1 and kizen.writes == []
    head = work.commit("retype")
    code, out, err = scsync("diff", base, head, "--repo", work.path, "--format", "json")
    assert code == 1, out + err
    flagged = [f for f in check_output(out)["findings"] if f["rule"] == "SC114"]
    assert {f["pointer"] for f in flagged} == {"/connector_type", "/custom_object"}


def test_a_cadence_not_offered_is_reported_with_the_choices_before_any_write(
        scsync: Cli, work: Clone, kizen: FakeKizen) -> None:
    # Seconds as a string, as Kizen spells its choices: read as the number it is.
    kizen.add(api_name="hourly", name="Hourly", connector_type="schedule",
              custom_object=CONTACTS_ID, cadence="3600")
    work.write({
        "connectors/hourly.yaml": manifest("hourly", name="Hourly", connector_type="schedule",
                                           custom_object="client_client", cadence=600),
        "connectors/fresh.yaml": manifest("fresh", connector_type="schedule",
                                          custom_object="client_client", cadence=7200)})
    code, plan = _plan(scsync, work, kizen.url, "--executor-kind", "kizen")
    assert code == 1
    for entry in plan["connectors"]:
        assert entry["action"] == "error" and _rules(entry) == ["SC135"]
        assert "300, 3600, 86400" in entry["reason"]
    code, _out = _apply(scsync, work, kizen.url)
    assert code == 1 and kizen.writes == []
    work.write({"connectors/hourly.yaml": manifest(
        "hourly", name="Hourly", connector_type="schedule", custom_object="client_client",
        cadence=86400), "connectors/fresh.yaml": None})
    code, plan = _plan(scsync, work, kizen.url)
    assert (code, plan["connectors"][0]["action"]) == (2, "update")


def test_wire_names_for_unverified_settings_come_from_one_mapping(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "WIRE_NAMES",
                        {"max_concurrent_executions": "concurrency_limit"})
    connector = Connector(api_name="orders", name="Orders", status="Operational",
                          max_concurrent_executions=3)
    body = create_body(connector)
    assert body["concurrency_limit"] == 3 and "max_concurrent_executions" not in body
    live = LiveConnector.from_api({"id": "x", "api_name": "orders", "concurrency_limit": 4})
    assert live.settings()["max_concurrent_executions"] == 4


def test_a_create_adopted_on_kizen_converges_with_the_plans_facts(
        work: Clone, kizen: FakeKizen, tmp_path: Path) -> None:
    """A create an earlier apply made but did not record is adopted, then converged.

    The convergence re-plans the one connector: with the plan's own facts, Kizen's
    object id reads as `client_client` and the status step follows; without them it
    would read as a changed custom_object (SC131) and nothing would be sent.
    """
    work.write({"connectors/leads.yaml": manifest(
        "leads", connector_type="spreadsheet", custom_object="client_client")})
    client = ExecutorClient(kizen.url, Credentials("key"), retry=RetryPolicy(attempts=1))
    with client:
        desired = DesiredReader(DEFAULT_FOLDER).work_tree(work.path)
        plan = plan_against_live(desired, client, {}, renames={}, allow=frozenset(),
                                 prune=False)
        assert [c.action for c in plan.connectors] == [Action.CREATE]
        # The earlier run's create, as Kizen holds it: in setup, the object by its id.
        kizen.add(api_name="leads", name="Leads", description=DESCRIPTION,
                  connector_type="spreadsheet", custom_object=CONTACTS_ID, status="setup")
        with State(tmp_path / "state.db") as state:
            result = apply_plan(plan, client, state)
    assert [(o.action, o.ok) for o in result.outcomes] == [("adopt", True), ("update", True)]
    method, _path, body = kizen.writes[-1]
    assert (method, body) == ("PATCH", {"status": "operational"})
