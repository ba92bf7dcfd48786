"""`scsync import` against the real executor, through the real CLI, into a real git repository.

Connectors are made through the executor's API; values a valid manifest cannot
hold (which the executor refuses too, but Kizen may hold) are written into the
executor's own SQLite file, as another system would have left them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.controller.conftest import DESCRIPTION, Clone, Executor, manifest
from tests.controller.kizen_fake import CONTACTS_ID, FakeKizen

from scsync.controller.manifest_text import render
from specs import check_output

Cli = Callable[..., tuple[int, str, str]]

#: One connector per status, every setting away from its default on the first.
CONNECTORS: list[dict[str, Any]] = [
    {"api_name": "alpha_contacts", "name": "On: 1e3 # not a comment", "status": "operational",
     "description": "Loads contacts.\nSecond line: with 'quotes', \"double\" and é ✓.",
     "max_concurrent_executions": 3, "create_only": True,
     "additional_notification_email": "ops@example.com",
     "additional_error_notification_email": "oncall@example.com",
     "execution_ended_webhook_url": "https://hooks.example.com/scsync?x=1#frag",
     "job": {"command": ["python", "jobs/run.py", "--since", "yes"], "timeout_seconds": 600,
             "env": {"MODE": "full", "ON": "010"}, "working_dir": "jobs"}},
    {"api_name": "beta_attention", "name": "Beta", "status": "need_attention",
     "description": DESCRIPTION},
    {"api_name": "gamma_inactive", "name": "Gamma", "status": "inactive",
     "description": DESCRIPTION, "max_concurrent_executions": 0},
    {"api_name": "delta_setup", "name": "Delta", "status": "setup"},
]


def _create(executor: Executor, *bodies: dict[str, Any]) -> dict[str, str]:
    with executor.client() as client:
        return {b["api_name"]: client.create_connector(b)["id"] for b in bodies}


def _plan(scsync: Cli, work: Clone, url: str) -> tuple[int, dict[str, Any]]:
    code, out, err = scsync("plan", "--repo", work.path, "--executor", url, "--format", "json",
                            "--detailed-exitcode")
    assert out, err
    return code, check_output(out)["plan"]


def _yaml_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*.yaml")}


def test_every_status_imports_then_validates_and_plans_in_sync(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    ids = _create(executor, *CONNECTORS)
    with_credentials = executor.url.replace("http://", "http://someone:hunter2@")
    code, out, err = scsync("import", "--repo", work.path, "--executor", with_credentials)
    assert code == 0, out + err
    assert "Import: 4 imported, 0 skipped (file exists), 0 already managed." in out
    assert _yaml_files(work.path) == {f"connectors/{c['api_name']}.yaml" for c in CONNECTORS}

    alpha = (work.path / "connectors/alpha_contacts.yaml").read_text("utf-8")
    lines = alpha.splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../schemas/smartconnector.schema.json"
    assert lines[1].startswith(f"# Imported by scsync import from {executor.url} at 20")
    assert lines[1].endswith("Z.")
    assert "hunter2" not in alpha and "someone" not in alpha
    assert f"connector id {ids['alpha_contacts']}" in lines[2]
    keys = [line.split(":")[0] for line in lines if line and line[0].isalpha()]
    assert keys == ["apiVersion", "kind", "api_name", "name", "description", "status",
                    "max_concurrent_executions", "create_only", "additional_notification_email",
                    "additional_error_notification_email", "execution_ended_webhook_url", "job"]
    data = yaml.safe_load(alpha)
    assert data["name"] == CONNECTORS[0]["name"]
    assert data["description"] == CONNECTORS[0]["description"]
    assert data["job"] == CONNECTORS[0]["job"]

    beta = yaml.safe_load((work.path / "connectors/beta_attention.yaml").read_text("utf-8"))
    assert beta["status"] == "Operational - Needs Attention"
    delta = (work.path / "connectors/delta_setup.yaml").read_text("utf-8")
    assert "status: Setup" in delta
    # Defaults are left out: no limit of 1, no create_only false, no empty description.
    assert "max_concurrent_executions" not in delta and "create_only" not in delta
    assert "description" not in delta
    assert "max_concurrent_executions: 0" in (
        work.path / "connectors/gamma_inactive.yaml").read_text("utf-8")

    code, out, err = scsync("validate", work.path / "connectors")
    assert code == 0, out + err
    code, plan = _plan(scsync, work, executor.url)
    assert code == 0, plan  # in sync: no change, no error
    assert {(c["api_name"], c["action"], c["matched_by"]) for c in plan["connectors"]} == {
        (c["api_name"], "in sync", "state") for c in CONNECTORS}
    assert plan["unmanaged"] == []

    # The state says which file manages which connector: an edit of both names is a
    # change to that connector, not a new one (without the record nothing would pair it).
    path = work.path / "connectors/beta_attention.yaml"
    path.write_text(path.read_text("utf-8").replace("api_name: beta_attention",
                                                    "api_name: beta_renamed")
                    .replace("name: Beta", "name: Beta Renamed"), "utf-8")
    code, plan = _plan(scsync, work, executor.url)
    entry = next(c for c in plan["connectors"] if c["path"] == "connectors/beta_attention.yaml")
    assert entry["action"] == "update", entry
    assert entry["connector_id"] == ids["beta_attention"]
    assert {c["field"] for c in entry["changes"]} >= {"api_name", "name"}


def test_values_a_manifest_cannot_hold_are_kept_with_a_comment_and_exit_1(
        scsync: Cli, work: Clone, executor: Executor, tmp_path: Path) -> None:
    ids = _create(executor, {"api_name": "odd_one", "name": "Odd", "status": "operational"},
                  {"api_name": "fine_one", "name": "Fine", "status": "inactive",
                   "description": DESCRIPTION})
    hostile = "../../Escape/../odd"
    long_text = "x" * 2100
    with sqlite3.connect(tmp_path / "executor" / "executor.db") as db:
        db.execute("UPDATE connectors SET api_name = ?, description = ?, "
                   "additional_notification_email = ? WHERE id = ?",
                   (hostile, long_text, "a@example.com, b@example.com", ids["odd_one"]))
    code, out, err = scsync("import", "--repo", work.path, "--executor", executor.url)
    assert code == 1, out + err
    # Inside the folder whatever the name, and the good connector imported beside it.
    assert _yaml_files(tmp_path) == {"work/connectors/escape_odd.yaml",
                                     "work/connectors/fine_one.yaml"}
    text = (work.path / "connectors/escape_odd.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    assert (data["api_name"], data["description"], data["additional_notification_email"]) == (
        hostile, long_text, "a@example.com, b@example.com")  # never silently changed
    commented = {line.split(":")[0]: line for line in text.splitlines() if "kept as found" in line}
    assert set(commented) == {"api_name", "description", "additional_notification_email"}
    assert "cannot be held by a valid manifest" in out
    assert "connectors/escape_odd.yaml" in out and "SC025" in out and "SC024" in out
    assert "1 with values a valid manifest cannot hold" in out

    code, out, _ = scsync("validate", work.path / "connectors")
    assert code == 1  # validate refuses it too, on the same lines
    assert "escape_odd.yaml" in out and "fine_one.yaml" not in out.split("error")[0]


def test_a_folder_that_already_holds_manifests(scsync: Cli, work: Clone,
                                               executor: Executor) -> None:
    _create(executor, *({"api_name": n, "name": n.title(), "status": "operational",
                         "description": DESCRIPTION} for n in ("alpha", "beta", "gamma",
                                                               "delta")))
    mine = manifest("alpha", name="Alpha Kept By Hand")
    work.commit("existing manifests", {
        "connectors/alpha.yaml": mine,                  # the same connector, by hand
        "connectors/legacy/b.yaml": manifest("beta"),   # manages beta under another name
        "connectors/delta.yaml": manifest("other_one")})  # a file in delta's way
    code, out, err = scsync("import", "--repo", work.path, "--executor", executor.url)
    assert code == 0, out + err
    assert "skipped          connectors/alpha.yaml (alpha): the file exists" in out
    assert ("already managed  connectors/beta.yaml (beta): already managed by "
            "connectors/legacy/b.yaml") in out
    assert "skipped          connectors/delta.yaml (delta)" in out
    assert "imported         connectors/gamma.yaml (gamma)" in out
    assert "Import: 1 imported, 2 skipped (file exists), 1 already managed." in out
    assert (work.path / "connectors/alpha.yaml").read_text("utf-8") == mine
    assert not (work.path / "connectors/beta.yaml").exists()

    code, out, err = scsync("import", "--repo", work.path, "--executor", executor.url,
                            "--force")
    assert code == 0, out + err
    assert "replaced         connectors/alpha.yaml (alpha)" in out
    assert "replaced         connectors/delta.yaml (delta)" in out
    assert "connectors/gamma.yaml" in out  # the state's record of it: its own file, replaced
    assert "already managed by connectors/legacy/b.yaml" in out  # --force never duplicates
    assert not (work.path / "connectors/beta.yaml").exists()
    alpha = yaml.safe_load((work.path / "connectors/alpha.yaml").read_text("utf-8"))
    assert alpha["name"] == "Alpha"  # the live name, not the hand-written one
    code, out, err = scsync("validate", work.path / "connectors")
    assert code == 0, out + err


def test_dry_run_prints_and_writes_nothing(scsync: Cli, work: Clone, executor: Executor) -> None:
    _create(executor, CONNECTORS[1])
    code, out, err = scsync("import", "--repo", work.path, "--executor", executor.url,
                            "--dry-run")
    assert code == 0, out + err
    assert "--- would write connectors/beta_attention.yaml" in out
    assert "status: Operational - Needs Attention" in out
    assert "Dry run: nothing was written." in out
    assert not (work.path / "connectors").exists()
    assert not (work.path / ".scsync").exists()  # no state either


def test_select_and_status_choose_connectors(scsync: Cli, work: Clone,
                                             executor: Executor) -> None:
    _create(executor, *CONNECTORS)
    code, out, err = scsync("import", "--repo", work.path, "--executor", executor.url,
                            "--status", "Inactive", "setup", "--folder", "kizen/connectors")
    assert code == 0, out + err
    assert _yaml_files(work.path) == {"kizen/connectors/gamma_inactive.yaml",
                                      "kizen/connectors/delta_setup.yaml"}
    first = (work.path / "kizen/connectors/delta_setup.yaml").read_text("utf-8").splitlines()[0]
    assert first.endswith("$schema=../../schemas/smartconnector.schema.json")

    code, out, err = scsync("import", "--repo", work.path, "--executor", executor.url,
                            "--select", "beta_attention", "no_such_connector")
    assert code == 1, out + err
    assert "no live connector has the api_name 'no_such_connector'" in out
    assert (work.path / "connectors/beta_attention.yaml").exists()

    code, out, err = scsync("import", "--repo", work.path, "--executor", executor.url,
                            "--status", "archived")
    assert code == 2 and "--status 'archived' is not a status" in err
    code, out, err = scsync("import", "--repo", work.path, "--executor", executor.url,
                            "--folder", "../outside")
    assert code == 2 and "must be a folder inside the repository" in err


def test_no_key_is_an_environment_error(scsync: Cli, work: Clone, executor: Executor) -> None:
    code, _, err = scsync("import", "--repo", work.path, "--executor", executor.url,
                          env={"SCSYNC_API_KEY": ""})
    assert code == 2 and "no API key" in err and "Traceback" not in err
    assert not (work.path / "connectors").exists()


# -- Kizen's fields: connector_type, custom_object (an id on the wire), cadence ------------

UNLISTED_ID = "0b6f1f8e-3c1a-4d2b-9f4e-5a6b7c8d9e0f"


def _kizen(api_name: str, **fields: Any) -> dict[str, Any]:
    return {"id": f"id-{api_name}", "api_name": api_name, "name": api_name.title(),
            "description": DESCRIPTION, "status": "operational",
            "max_concurrent_executions": 1, "create_only": False, "live_script": None,
            "flow": None, "stats": {"used_count": 0}, **fields}


def test_kizen_fields_are_imported_and_object_ids_named(scsync: Cli, work: Clone) -> None:
    kizen = FakeKizen([
        # Kizen spells cadences as strings in its choices; one read back so is a number.
        _kizen("hourly_contacts", connector_type="schedule", custom_object=CONTACTS_ID,
               cadence="3600"),
        _kizen("inbound_leads", connector_type="webhook", custom_object=UNLISTED_ID,
               cadence=300),
        _kizen("upload_sheet", connector_type="spreadsheet", custom_object=None, cadence=None),
    ])
    try:
        code, out, err = scsync("import", "--repo", work.path, "--executor", kizen.url)
    finally:
        kizen.close()
    assert code == 0, out + err
    hourly = (work.path / "connectors/hourly_contacts.yaml").read_text("utf-8")
    assert "connector_type: schedule\ncustom_object: client_client\ncadence: 3600\n" in hourly
    inbound = (work.path / "connectors/inbound_leads.yaml").read_text("utf-8")
    assert f"custom_object: {UNLISTED_ID}  # the object's id" in inbound  # kept, and said
    assert "note: custom_object" in out
    sheet = (work.path / "connectors/upload_sheet.yaml").read_text("utf-8")
    assert "connector_type: spreadsheet" in sheet
    assert "custom_object" not in sheet and "cadence" not in sheet
    assert "live_script" not in sheet  # Kizen's extra keys are not settings
    code, out, err = scsync("validate", work.path / "connectors")
    assert code == 0, out + err


def test_an_executor_without_custom_objects_keeps_the_ids(scsync: Cli, work: Clone) -> None:
    kizen = FakeKizen([_kizen("hourly_contacts", connector_type="schedule",
                              custom_object=CONTACTS_ID, cadence=3600)], serve_objects=False)
    try:
        code, out, err = scsync("import", "--repo", work.path, "--executor", kizen.url)
    finally:
        kizen.close()
    assert code == 0, out + err
    text = (work.path / "connectors/hourly_contacts.yaml").read_text("utf-8")
    assert (f"custom_object: {CONTACTS_ID}  # the object's id: this executor serves no "
            "/api/custom-objects") in text


def test_a_folder_it_cannot_write_is_an_environment_error(scsync: Cli, work: Clone,
                                                          executor: Executor) -> None:
    _create(executor, CONNECTORS[1])
    (work.path / "connectors/beta_attention.yaml").mkdir(parents=True)  # a folder in the way
    code, _, err = scsync("import", "--repo", work.path, "--executor", executor.url, "--force")
    assert code == 2 and "cannot write in" in err and "Traceback" not in err
    (work.path / "kizen").write_text("not a folder", "utf-8")
    code, _, err = scsync("import", "--repo", work.path, "--executor", executor.url,
                          "--folder", "kizen")
    assert code == 2 and "is a file, not a folder" in err


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40), key=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}",
                                                      fullmatch=True))
def test_any_live_text_is_written_so_that_it_reads_back_as_itself(text: str, key: str) -> None:
    # What a user would notice: a live name or env value that came back changed
    # (a `yes` turned true, a `#` cut off); render() refuses to return such a text.
    data = {"apiVersion": "scsync/v1", "name": text, "description": text,
            "job": {"command": [text or "x"], "env": {key: text}}}
    out = render(data, [f"from {text}"], {"name": text}, 1)
    assert yaml.safe_load(out) == data
