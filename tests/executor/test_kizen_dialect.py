"""The embedded executor answers requests shaped as Kizen's own client sends them.

The shapes are those of builder-cli's `kizen_builder.api.smart_connectors` and
`custom_objects` (paths, JSON bodies, query parameters, DRF `next` links followed
as path + query, errors read from `{"detail"}`), sent here with plain `requests`
against a real `scsync executor serve` process.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from scsync.executor.schema import MIGRATIONS

from .conftest import API_KEY, ExecutorFactory, ExecutorProcess, base_env, py_job, wait_for

BASE = "/api/smart-connectors"


class KizenSession:
    """What a Kizen client does on the wire: JSON both ways, every list followed to its end."""

    def __init__(self, url: str, user: str | None = None) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.headers.update({"X-API-KEY": API_KEY, "X-BUSINESS-ID": "biz",
                                  "Accept": "application/json",
                                  "Content-Type": "application/json"})
        if user:
            self.http.headers["X-USER-ID"] = user

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.url + path, timeout=10, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.request(method, path, **kwargs)
        assert answer.ok, (answer.status_code, answer.text)
        return answer.json()

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Query parameters on the first page only; `next` carries them on."""
        items: list[dict[str, Any]] = []
        following: str | None = path
        first = True
        while following:
            page = self.ok("GET", following, params=params if first else None)
            first = False
            items.extend(page["results"])
            if page["next"]:
                parts = urlsplit(page["next"])
                following = parts.path + (f"?{parts.query}" if parts.query else "")
            else:
                following = None
        return items

    def create(self, **payload: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.ok("POST", BASE, json=payload)
        return created

    def contacts_id(self) -> str:
        objects = self.paginate("/api/custom-objects", {"custom_only": "false"})
        return next(o["id"] for o in objects if o["name"] == "client_client")


def _detail(answer: requests.Response) -> str:
    detail: str = answer.json()["detail"]
    return detail


@pytest.fixture
def kizen(shared_executor: ExecutorProcess) -> KizenSession:
    return KizenSession(shared_executor.url)


# -- /metadata ----------------------------------------------------------------


def test_metadata_answers_before_the_connector_route_and_offers_no_cadences_by_default(
    kizen: KizenSession,
) -> None:
    metadata = kizen.ok("GET", f"{BASE}/metadata")
    assert metadata["cadence_choices"] == []
    assert [t for t, _ in metadata["connector_types"]] == [
        "spreadsheet", "webhook", "schedule", "activity", "bulkaction",
        "polling_third_party_api", "direct_api_connection"]
    assert "4.1.x" in [v for v, _ in metadata["sql_versions"]]
    # Read-only: another method is a 405 naming GET, not a connector called "metadata".
    answer = kizen.request("PATCH", f"{BASE}/metadata", json={"name": "x"})
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET"


def test_metadata_is_reserved_as_an_api_name(kizen: KizenSession) -> None:
    answer = kizen.request("POST", BASE, json={"api_name": "metadata", "name": "Metadata"})
    assert answer.status_code == 422
    assert "api_name" in _detail(answer) and "reserved" in _detail(answer)
    # Derived from the name, it steps aside; /metadata still answers with the catalogue.
    derived = kizen.create(name="Metadata")
    assert derived["api_name"] == "metadata_2"
    assert "cadence_choices" in kizen.ok("GET", f"{BASE}/metadata")
    rename = kizen.request("PATCH", f"{BASE}/{derived['id']}", json={"api_name": "metadata"})
    assert rename.status_code == 422


def test_cadence_choices_are_offered_in_kizens_shape_and_enforced(
    start_executor: ExecutorFactory,
) -> None:
    server = start_executor("--cadence-choices", "3600,300,86400")
    kizen = KizenSession(server.url)
    assert kizen.ok("GET", f"{BASE}/metadata")["cadence_choices"] == [
        ["300", "Every 5 minutes"], ["3600", "Every hour"], ["86400", "Every day"]]
    contacts = kizen.contacts_id()
    refused = kizen.request("POST", BASE, json={
        "name": "Nightly", "custom_object": contacts, "connector_type": "schedule",
        "cadence": 120})
    assert refused.status_code == 400
    assert "120" in _detail(refused)
    assert all(value in _detail(refused) for value in ("300", "3600", "86400"))
    created = kizen.create(name="Nightly", custom_object=contacts, connector_type="schedule",
                           cadence=3600)
    assert created["cadence"] == 3600
    patch = kizen.request("PATCH", f"{BASE}/{created['api_name']}", json={"cadence": 60})
    assert patch.status_code == 400 and "86400" in _detail(patch)
    assert kizen.ok("PATCH", f"{BASE}/nightly", json={"cadence": 86400})["cadence"] == 86400
    assert kizen.ok("PATCH", f"{BASE}/nightly", json={"cadence": None})["cadence"] is None
    # The document offers what the executor enforces.
    spec = requests.get(f"{server.url}/openapi.json", timeout=5).json()
    for model in ("ConnectorCreate", "ConnectorUpdate"):
        cadence = spec["components"]["schemas"][model]["properties"]["cadence"]["anyOf"][0]
        assert cadence["enum"] == [300, 3600, 86400]


@pytest.mark.parametrize(("cadence", "accepted"), [
    (1, True), (2_592_000, True), (0, False), (2_592_001, False), (1.5, False), ("60", False)])
def test_without_choices_any_whole_seconds_up_to_30_days(
    kizen: KizenSession, cadence: object, accepted: bool,
) -> None:
    answer = kizen.request("POST", BASE, json={"name": "Cadence case", "cadence": cadence})
    assert answer.status_code == (201 if accepted else 422), answer.text
    if not accepted:
        assert "cadence" in _detail(answer)


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--cadence-choices", "5m,1h", "comma-separated list of seconds"),
    ("--cadence-choices", "0,300", "from 1 to 2592000"),
    ("--custom-object", "Deals", "lowercase letters, digits and _"),
    ("--custom-object", "client_client", "already an object of the executor"),
])
def test_bad_dialect_options_are_usage_errors(tmp_path: Path, option: str, value: str,
                                              words: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "scsync", "executor", "serve", "--db", str(tmp_path / "e.db"),
         "--repo", str(tmp_path), option, value],
        env=base_env(), capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 2, run.stderr
    assert words in run.stderr
    assert "Traceback" not in run.stderr


# -- create ---------------------------------------------------------------------


def test_kizen_shaped_create_derives_the_api_name_and_stores_kizens_fields(
    kizen: KizenSession,
) -> None:
    contacts = kizen.contacts_id()
    payload = {"name": "HubSpot → Contacts (EU)", "custom_object": contacts,
               "connector_type": "schedule", "description": "from the CRM", "cadence": 3600,
               "sql_version": "4.1.x"}
    first = kizen.create(**payload)
    assert first["api_name"] == "hubspot_contacts_eu"
    assert first["status"] == "setup"
    assert (first["custom_object"], first["connector_type"], first["cadence"],
            first["sql_version"], first["description"]) == (
        contacts, "schedule", 3600, "4.1.x", "from the CRM")
    second = kizen.create(**payload)
    assert second["api_name"] == "hubspot_contacts_eu_2"
    detail = kizen.ok("GET", f"{BASE}/{first['id']}")
    assert (detail["live_script"], detail["last_draft_script"], detail["flow"]) == (
        None, None, None)
    assert detail["connector_type"] == "schedule"
    activity = kizen.create(name="Calls", custom_object=contacts, connector_type="activity",
                            activity_object="4b3c0e1a-activity-type")
    assert activity["activity_object"] == "4b3c0e1a-activity-type"


def test_fields_neither_kizen_nor_scsync_know_are_still_named_in_a_422(
    kizen: KizenSession,
) -> None:
    answer = kizen.request("POST", BASE, json={"name": "Typo", "conector_type": "webhook",
                                               "cadance": 60})
    assert answer.status_code == 422
    fields = {problem["field"] for problem in answer.json()["errors"]}
    assert fields == {"body.conector_type", "body.cadance"}
    unknown_type = kizen.request("POST", BASE, json={"name": "T", "connector_type": "ftp"})
    assert unknown_type.status_code == 422 and "connector_type" in _detail(unknown_type)


def test_an_object_the_executor_lacks_is_refused_and_the_object_cannot_change(
    kizen: KizenSession,
) -> None:
    missing = kizen.request("POST", BASE, json={
        "name": "Nowhere", "custom_object": "00000000-0000-4000-8000-000000000000"})
    assert missing.status_code == 400 and "/api/custom-objects" in _detail(missing)
    created = kizen.create(name="Fixed kind", custom_object=kizen.contacts_id(),
                           connector_type="webhook")
    change = kizen.request("PATCH", f"{BASE}/{created['id']}",
                           json={"connector_type": "spreadsheet"})
    assert change.status_code == 400 and "connector_type cannot change" in _detail(change)
    same = kizen.ok("PATCH", f"{BASE}/{created['id']}", json={"connector_type": "webhook"})
    assert same["connector_type"] == "webhook"


# -- /api/custom-objects -----------------------------------------------------------


def test_custom_objects_are_drf_paged_and_leave_built_ins_out_unless_asked(
    start_executor: ExecutorFactory,
) -> None:
    server = start_executor("--custom-object", "deal=Deals", "--custom-object", "ticket")
    kizen = KizenSession(server.url)
    custom = kizen.paginate("/api/custom-objects", {"page_size": 1})
    assert [(o["name"], o["object_name"], o["custom"]) for o in custom] == [
        ("deal", "Deals", True), ("ticket", "ticket", True)]
    every = kizen.paginate("/api/custom-objects", {"custom_only": "false", "page_size": 2})
    assert [o["name"] for o in every] == ["client_client", "deal", "ticket"]
    assert len({o["id"] for o in every}) == 3
    # The ids are the ones any embedded executor gives these objects, restarts included.
    other = KizenSession(start_executor(name="other").url)
    assert other.contacts_id() == kizen.contacts_id()
    created = kizen.create(name="Deals in", custom_object=custom[0]["id"].upper())
    assert created["custom_object"] == custom[0]["id"]


# -- lists ------------------------------------------------------------------------


def test_connector_list_orders_and_filters_as_kizens_does(
    start_executor: ExecutorFactory,
) -> None:
    server = start_executor("--custom-object", "deal")
    kizen = KizenSession(server.url)
    contacts = kizen.contacts_id()
    deal = kizen.paginate("/api/custom-objects")[0]["id"]
    kizen.create(name="Bravo", custom_object=contacts, connector_type="webhook")
    kizen.create(name="alpha", custom_object=deal, connector_type="schedule", cadence=300)
    kizen.create(name="Charlie", custom_object=contacts, connector_type="spreadsheet")
    kizen.ok("PATCH", f"{BASE}/charlie", json={"status": "operational"})
    kizen.ok("PATCH", f"{BASE}/alpha", json={"status": "inactive"})

    def names(**params: Any) -> list[str]:
        return [c["api_name"] for c in kizen.paginate(BASE, {"page_size": 2, **params})]

    assert names() == ["bravo", "alpha", "charlie"]  # created, as before
    assert names(ordering="api_name") == ["alpha", "bravo", "charlie"]
    assert names(ordering="-api_name") == ["charlie", "bravo", "alpha"]
    assert names(ordering="-created") == ["charlie", "alpha", "bravo"]
    assert names(ordering="name") == ["alpha", "bravo", "charlie"]  # letter case aside
    assert names(ordering="-name") == ["charlie", "bravo", "alpha"]
    assert names(ordering="status") == ["alpha", "charlie", "bravo"]  # inactive < op < setup
    assert names(ordering="-status") == ["bravo", "charlie", "alpha"]
    assert names(connector_type="schedule") == ["alpha"]
    assert names(custom_object=contacts) == ["bravo", "charlie"]
    assert names(active="true") == ["charlie"]
    assert names(active="false") == ["bravo", "alpha"]
    assert names(active="false", connector_type="webhook") == ["bravo"]
    unknown = kizen.request("GET", BASE, params={"ordering": "updated"})
    assert unknown.status_code == 400
    assert "allowed: name, -name, api_name, -api_name, created, -created, status, -status" \
        in _detail(unknown)


def test_connector_list_orders_by_name(start_executor: ExecutorFactory) -> None:
    kizen = KizenSession(start_executor().url)
    for name in ("Mango", "Apple", "Kiwi"):
        kizen.create(name=name)
    ordered = [c["name"] for c in kizen.paginate(BASE, {"ordering": "name"})]
    assert ordered == ["Apple", "Kiwi", "Mango"]
    reverse = [c["name"] for c in kizen.paginate(BASE, {"ordering": "-name"})]
    assert reverse == ["Mango", "Kiwi", "Apple"]


def _ended(kizen: KizenSession, connector: str, count: int) -> list[dict[str, Any]]:
    def all_ended() -> list[dict[str, Any]] | None:
        runs = kizen.paginate(f"{BASE}/{connector}/executions")
        done = [r for r in runs if r["status"] not in ("queued", "running")]
        return runs if len(done) >= count else None

    result: list[dict[str, Any]] = wait_for(all_ended, 20, message=f"{count} ended runs")
    return result


def test_executions_carry_kizens_fields_filter_and_order(kizen: KizenSession) -> None:
    fails = py_job("import sys; sys.exit(3)")
    created = kizen.create(name="Runs", job=fails, status="operational")
    name = created["api_name"]
    ana = KizenSession(kizen.url, user="ana@example.com")
    live = ana.ok("POST", f"{BASE}/{name}/start-connector-flow", json={"is_dry_run": False})
    dry = ana.ok("POST", f"{BASE}/{name}/start-connector-flow", json={"is_dry_run": True})
    runs = _ended(kizen, name, 2)
    assert [r["id"] for r in runs] == [dry["execution_id"], live["execution_id"]]
    for run in runs:
        assert run["trigger_type"] == "manual"
        assert run["started_by"] == "ana@example.com"
        assert run["status"] == "error"
        assert run["error_details"] == run["reason"] and run["error_details"]
        assert run["created"]
    oldest = kizen.paginate(f"{BASE}/{name}/executions", {"ordering": "created"})
    assert [r["id"] for r in oldest] == [live["execution_id"], dry["execution_id"]]
    newest = kizen.paginate(f"{BASE}/{name}/executions", {"ordering": "-created"})
    assert [r["id"] for r in newest] == [dry["execution_id"], live["execution_id"]]
    live_only = kizen.paginate(f"{BASE}/{name}/executions", {"include_dry_run": "false"})
    assert [r["id"] for r in live_only] == [live["execution_id"]]
    both = kizen.paginate(f"{BASE}/{name}/executions", {"include_dry_run": "true"})
    assert len(both) == 2
    failed = kizen.paginate(f"{BASE}/{name}/executions", {"status": "failed"})
    assert {r["id"] for r in failed} == {live["execution_id"], dry["execution_id"]}
    assert kizen.paginate(f"{BASE}/{name}/executions", {"status": "success"}) == []
    unknown = kizen.request("GET", f"{BASE}/{name}/executions", params={"ordering": "status"})
    assert unknown.status_code == 400 and "allowed: created, -created" in _detail(unknown)


# -- dry runs and the status gate ---------------------------------------------------


def test_a_dry_run_skips_the_status_gate_but_a_live_run_waits(kizen: KizenSession) -> None:
    created = kizen.create(name="Not yet live", job=py_job("pass"))
    assert created["status"] == "setup"
    name = created["api_name"]
    live = kizen.ok("POST", f"{BASE}/{name}/start-connector-flow", json={"is_dry_run": False})
    dry = kizen.ok("POST", f"{BASE}/{name}/start-connector-flow", json={"is_dry_run": True})
    runs = _ended(kizen, name, 1)
    by_id = {r["id"]: r for r in runs}
    assert by_id[dry["execution_id"]]["status"] == "success"
    assert by_id[live["execution_id"]]["status"] == "queued"
    assert by_id[live["execution_id"]]["reason"] == "waiting: connector is in setup"


def test_a_dry_run_still_needs_a_slot(kizen: KizenSession, tmp_path: Path) -> None:
    gate = tmp_path / "go"
    wait = py_job(f"import os, time\nwhile not os.path.exists({str(gate)!r}): time.sleep(0.02)")
    held = kizen.create(name="No slots", job=wait, status="inactive",
                        max_concurrent_executions=0)
    dry = kizen.ok("POST", f"{BASE}/{held['api_name']}/start-connector-flow",
                   json={"is_dry_run": True})
    queued = kizen.paginate(f"{BASE}/{held['api_name']}/executions")[0]
    assert queued["id"] == dry["execution_id"] and queued["status"] == "queued"
    assert queued["reason"] == "waiting: max_concurrent_executions is 0"

    one = kizen.create(name="One slot", job=wait, status="inactive",
                       max_concurrent_executions=1)
    path = f"{BASE}/{one['api_name']}/start-connector-flow"
    first = kizen.ok("POST", path, json={"is_dry_run": True})["execution_id"]
    second = kizen.ok("POST", path, json={"is_dry_run": True})["execution_id"]

    def running() -> dict[str, dict[str, Any]] | None:
        runs = {r["id"]: r for r in kizen.paginate(f"{BASE}/{one['api_name']}/executions")}
        return runs if runs[first]["status"] == "running" else None

    runs = wait_for(running, 20, message="the first dry run running")
    assert runs[second]["status"] == "queued"
    assert runs[second]["reason"] == "waiting: 1 of 1 slots busy (position 1 in the queue)"
    gate.touch()
    ended = _ended(kizen, one["api_name"], 2)
    assert {r["status"] for r in ended} == {"success"}
    # The connector with no slot still holds its dry run.
    still = kizen.paginate(f"{BASE}/{held['api_name']}/executions")[0]
    assert still["status"] == "queued"


# -- the document -------------------------------------------------------------------


def test_the_openapi_document_describes_kizens_routes_and_fields(
    shared_executor: ExecutorProcess,
) -> None:
    spec = requests.get(f"{shared_executor.url}/openapi.json", timeout=5).json()
    schemas = spec["components"]["schemas"]
    assert "get" in spec["paths"]["/api/smart-connectors/metadata"]
    assert "get" in spec["paths"]["/api/custom-objects"]
    listed = {p["name"] for p in spec["paths"]["/api/smart-connectors"]["get"]["parameters"]}
    assert {"ordering", "connector_type", "custom_object", "active"} <= listed
    runs = spec["paths"]["/api/smart-connectors/{c}/executions"]["get"]["parameters"]
    assert {"ordering", "include_dry_run", "status"} <= {p["name"] for p in runs}
    status = next(p for p in runs if p["name"] == "status")
    assert "failed" in str(status["schema"])
    view = schemas["ConnectorView"]["properties"]
    assert {"connector_type", "custom_object", "cadence", "live_script", "last_draft_script",
            "flow"} <= set(view)
    execution = schemas["ExecutionView"]["properties"]
    assert {"trigger_type", "started_by", "error_details", "created"} <= set(execution)
    create = schemas["ConnectorCreate"]
    assert "api_name" not in create.get("required", [])
    assert create["properties"]["cadence"]["anyOf"][0]["maximum"] == 2_592_000
    assert "enum" not in create["properties"]["cadence"]["anyOf"][0]  # no choices by default
    contacts = KizenSession(shared_executor.url).contacts_id()
    assert create["properties"]["custom_object"]["anyOf"][0]["enum"] == [contacts]
    assert set(schemas["Metadata"]["required"]) >= {"cadence_choices", "connector_types",
                                                    "sql_versions"}


# -- an older database ----------------------------------------------------------------


@pytest.mark.sqlite_only  # builds a SQLite file of the previous schema version
def test_a_database_of_the_previous_version_gains_kizens_fields(
    start_executor: ExecutorFactory, tmp_path: Path,
) -> None:
    folder = tmp_path / "upgrade"
    folder.mkdir()
    db = sqlite3.connect(folder / "executor.db")
    for script in MIGRATIONS[:2]:
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute("PRAGMA user_version=2")
    now = "2026-01-01T00:00:00Z"
    db.execute("INSERT INTO connectors (id, api_name, name, status, max_concurrent_executions,"
               " create_only, created, updated) VALUES (?, 'old_one', 'Old', 'inactive', 1, 0,"
               " ?, ?)", ("11111111-1111-4111-8111-111111111111", now, now))
    db.execute("INSERT INTO executions (id, connector_id, status, is_dry_run, diff_check,"
               " created) VALUES (?, ?, 'queued', 1, 1, ?)",
               ("22222222-2222-4222-8222-222222222222",
                "11111111-1111-4111-8111-111111111111", now))
    db.commit()
    db.close()
    kizen = KizenSession(start_executor(name="upgrade").url)
    old = kizen.ok("GET", f"{BASE}/old_one")
    assert (old["connector_type"], old["custom_object"], old["cadence"]) == (None, None, None)
    # The dry run queued before the upgrade now runs (no job: it ends as error, at once).
    runs = _ended(kizen, "old_one", 1)
    assert runs[0]["trigger_type"] == "manual"
    assert runs[0]["error_details"] == "no job defined"
