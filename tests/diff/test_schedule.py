"""Review of schedules (SC115-SC117): a schedule added, removed or made more frequent.

One row per change, committed on top of the `repo` fixture with HUBSPOT given a
connector_type and cadence: which rules fire on the cadence, at which line,
with which exact message; and the changes that must not warn (a longer
cadence, a webhook's batching window, a cadence with no declared type, an
unchanged schedule).  HUBSPOT's lines: 7-11 its settings, then connector_type
(12) and cadence (13) in the order given.
"""

from __future__ import annotations

from typing import Any

import pytest

from conftest import RunCli
from scsync.findings import Severity
from scsync.review.result import ReviewResult
from specs import check_output, check_sarif

from .conftest import HUBSPOT, LEADS, Repo
from .test_table import only

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTICE
HOURLY = {"connector_type": "schedule", "cadence": 3600}
SCHEDULE_RULES = {"SC115", "SC116", "SC117"}

FIRES: list[tuple[str, dict[str, Any], dict[str, Any], str, Severity, int, str]] = [
    # (id, base fields, head fields, rule, severity, line, message)
    ("more-frequent", HOURLY, {**HOURLY, "cadence": 300}, "SC117", W, 13,
     "schedule more frequent: every hour -> every 5 minutes (24 -> 288 runs a day)"),
    ("more-frequent-from-days", {**HOURLY, "cadence": 172800}, HOURLY, "SC117", W, 13,
     "schedule more frequent: every 2 days -> every hour (1 run every 2 days -> 24 runs a day)"),
    ("cadence-added-to-a-schedule", {"connector_type": "schedule"}, HOURLY, "SC115", W, 13,
     "schedule added: every hour (no scheduled runs -> 24 runs a day)"),
    ("type-and-cadence-declared", {}, {"connector_type": "schedule", "cadence": 900}, "SC115",
     W, 13, "schedule added: every 15 minutes (no scheduled runs -> 96 runs a day)"),
    # no line holds the removed cadence: the annotation goes on the key before it
    ("cadence-removed", HOURLY, {"connector_type": "schedule"}, "SC116", W, 12,
     "schedule removed from the manifest: every hour is no longer declared (24 runs a day -> "
     "still 24 runs a day: plan does not clear a cadence the manifest leaves out, so the live "
     "connector keeps running every hour, unmanaged)"),
]


def _reviewed(repo: Repo, base: dict[str, Any], head: dict[str, Any]) -> ReviewResult:
    """The review of HubSpot's manifest with `base`'s fields, then `head`'s, as two commits."""
    for fields, message in ((base, "base"), (head, "head")):
        repo.hubspot(**fields)
        repo.commit(message)
    return repo.review()


@pytest.mark.parametrize(("base", "head", "rule", "severity", "line", "message"),
                         [row[1:] for row in FIRES], ids=[row[0] for row in FIRES])
def test_a_schedule_change_warns_with_the_runs_a_day(
    repo: Repo, base: dict[str, Any], head: dict[str, Any], rule: str, severity: Severity,
    line: int, message: str,
) -> None:
    result = _reviewed(repo, base, head)
    f = only(result, rule)
    assert (f.severity, f.path, f.line, f.pointer, f.message) == (
        severity, HUBSPOT, line, "/cadence", message)
    assert f.hint and "max_concurrent_executions" in f.hint if rule != "SC116" else \
        "status: Inactive" in (f.hint or "")
    # the warning says it instead of the plain notice, and no other schedule rule joins it
    assert [x.rule for x in result.findings if x.pointer == "/cadence"] == [rule]
    assert {x.rule for x in result.findings} & SCHEDULE_RULES == {rule}
    [change] = result.changes
    [row] = [r for r in change["rows"] if r["field"] == "cadence"]
    assert (row["severity"], row["rules"]) == ("warning", [rule])


QUIET: list[tuple[str, dict[str, Any], dict[str, Any], str | None]] = [
    # (id, base fields, head fields, the notice on the cadence, if any)
    ("less-frequent", {**HOURLY, "cadence": 300}, HOURLY,
     "cadence changes from 300 to 3600: schedule less frequent, every 5 minutes -> every hour "
     "(288 -> 24 runs a day)"),
    ("webhook-batching-window", {"connector_type": "webhook", "cadence": 3600},
     {"connector_type": "webhook", "cadence": 300}, "cadence changes from 3600 to 300"),
    ("no-declared-type", {"cadence": 3600}, {"cadence": 300},
     "cadence changes from 3600 to 300"),
    ("webhook-window-added", {"connector_type": "webhook"},
     {"connector_type": "webhook", "cadence": 60}, "cadence changes from unset to 60"),
    ("unchanged-schedule", HOURLY, {**HOURLY, "name": "HubSpot People"}, None),
    # declaring the type changes nothing live (plan compares it): the same hourly schedule
    ("type-declared-same-cadence", {"cadence": 3600}, HOURLY, None),
]


@pytest.mark.parametrize(("base", "head", "notice"), [row[1:] for row in QUIET],
                         ids=[row[0] for row in QUIET])
def test_no_schedule_warning_when_nothing_runs_more_often(
    repo: Repo, base: dict[str, Any], head: dict[str, Any], notice: str | None,
) -> None:
    result = _reviewed(repo, base, head)
    assert {f.rule for f in result.findings} & SCHEDULE_RULES == set()
    on_cadence = [(f.rule, f.severity, f.message) for f in result.findings
                  if f.pointer == "/cadence"]
    assert on_cadence == ([("SC113", N, notice)] if notice else [])


def test_a_new_scheduled_connector_warns_beside_its_notice(repo: Repo) -> None:
    repo.manifest("connectors/erp_orders.yaml", "erp_orders", connector_type="schedule",
                  cadence=86400)
    repo.commit()
    result = repo.review()
    assert only(result, "SC111").severity is N
    f = only(result, "SC115")
    assert (f.severity, f.path, f.line, f.pointer) == (W, "connectors/erp_orders.yaml", 8,
                                                        "/cadence")
    assert f.message == "schedule added with the new connector: every day " \
        "(no scheduled runs -> 1 run a day)"


def test_a_new_webhook_connector_has_no_schedule(repo: Repo) -> None:
    repo.manifest("connectors/erp_orders.yaml", "erp_orders", connector_type="webhook",
                  cadence=300)
    repo.commit()
    assert {f.rule for f in repo.review().findings} & SCHEDULE_RULES == set()


def test_a_deleted_scheduled_connector_says_its_schedule_keeps_running(repo: Repo) -> None:
    repo.hubspot(**HOURLY)
    repo.commit("base")
    repo.delete(HUBSPOT)
    repo.commit()
    result = repo.review()
    f = only(result, "SC101")  # the deletion's own finding says it; no SC116 beside it
    assert f.message.endswith("keeps running on its triggers and on its schedule, every hour "
                              "(24 runs a day)")
    assert {x.rule for x in result.findings} & SCHEDULE_RULES == set()


def test_a_type_changed_away_from_schedule_is_only_sc114(repo: Repo) -> None:
    # the change cannot be applied (plan refuses it): the schedule does not change either
    repo.hubspot(**HOURLY)
    repo.commit("base")
    repo.hubspot(connector_type="webhook", cadence=300)
    repo.commit()
    result = repo.review()
    assert only(result, "SC114").severity is E
    assert {f.rule for f in result.findings} & SCHEDULE_RULES == set()


def test_cli_text_json_and_sarif_carry_the_schedule_warning(
    repo: Repo, run_cli: RunCli, run_main: RunCli,
) -> None:
    repo.hubspot(**HOURLY)
    repo.manifest(LEADS, "web_leads", max_concurrent_executions=4, create_only=True,
                  connector_type="schedule", cadence=600)
    repo.commit("base")
    repo.hubspot(**{**HOURLY, "cadence": 60})
    # both no longer declared (a schedule without a cadence is SC046): the live ones stay
    repo.manifest(LEADS, "web_leads", max_concurrent_executions=4, create_only=True)
    repo.commit("faster")
    code, out, err = run_cli("diff", "HEAD~1", "--format", "text", cwd=repo.path)
    assert (code, err) == (0, "")  # warnings: the review passes unless --fail-on warning
    assert f"{HUBSPOT}:13:10: warning[SC117] schedule more frequent: every hour -> every " \
        "minute (24 -> 1440 runs a day)" in out
    assert f"{LEADS}:8:1: warning[SC116] schedule removed from the manifest: every 10 " \
        "minutes is no longer declared" in out
    assert run_cli("diff", "HEAD~1", "--fail-on", "warning", cwd=repo.path)[0] == 1

    code, out, _ = run_cli("diff", "HEAD~1", "--format", "json", cwd=repo.path)
    data = check_output(out)
    assert [(f["rule"], f["severity"], f["pointer"]) for f in data["findings"]] == [
        ("SC117", "warning", "/cadence"), ("SC113", "notice", "/connector_type"),
        ("SC116", "warning", "/cadence")]
    assert data["summary"] == {"errors": 0, "warnings": 2, "notices": 1}

    sarif = check_sarif(run_main("diff", "HEAD~1", "--format", "sarif", cwd=repo.path)[1])
    run = sarif["runs"][0]
    assert {r["ruleId"] for r in run["results"]} == {"SC113", "SC116", "SC117"}
    described = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert described["SC117"]["name"] == "schedule-more-frequent"
    assert described["SC117"]["helpUri"].endswith("docs/rules.md#sc117")
