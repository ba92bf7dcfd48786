"""One test per row of the review table of issue 3, through the library on real commits.

Each test commits one change on top of the `repo` fixture and checks the rule,
its severity, where it points and that its message states the consequence.
"""

from __future__ import annotations

from scsync.findings import Finding, Severity
from scsync.review.result import ReviewResult

from .conftest import HUBSPOT, HUBSPOT_FIELDS, LEADS, Repo

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTICE


def only(result: ReviewResult, rule: str) -> Finding:
    found = [f for f in result.findings if f.rule == rule]
    assert len(found) == 1, [f"{f.rule} {f.message}" for f in result.findings]
    return found[0]


def rules(result: ReviewResult) -> set[str]:
    return {f.rule for f in result.findings}


def test_api_name_changed_in_place(repo: Repo) -> None:
    repo.manifest(HUBSPOT, "hubspot_people", name="Hubspot Contacts", **HUBSPOT_FIELDS)
    repo.commit()
    result = repo.review()
    f = only(result, "SC100")
    assert (f.severity, f.path, f.line, f.pointer) == (E, HUBSPOT, 3, "/api_name")
    assert "'hubspot_contacts' to 'hubspot_people'" in f.message
    assert "calls 'hubspot_contacts' breaks" in f.message
    assert "--allow-api-name-change hubspot_contacts:hubspot_people" in (f.hint or "")
    assert not result.report().passed
    [change] = result.changes
    assert change["breaking"] and change["change"] == "changed"
    assert [r["field"] for r in change["rows"]] == ["api_name"]


def test_renamed_file_with_api_name_change_found_by_git(repo: Repo) -> None:
    repo.move(HUBSPOT, "connectors/crm/hubspot_people.yaml")
    repo.manifest("connectors/crm/hubspot_people.yaml", "hubspot_people",
                  name="Hubspot Contacts", **HUBSPOT_FIELDS)
    repo.commit()
    result = repo.review()
    f = only(result, "SC100")
    assert (f.severity, f.path, f.line) == (E, "connectors/crm/hubspot_people.yaml", 3)
    assert f"renamed from {HUBSPOT}" in f.message
    [change] = result.changes
    assert (change["change"], change["paired_by"]) == ("renamed", "rename")
    assert change["base"] == {"path": HUBSPOT, "api_name": "hubspot_contacts"}


def test_git_rename_of_two_unrelated_templated_connectors_also_warns_of_the_deletion(
    repo: Repo,
) -> None:
    # the same template: git pairs them as a rename, but api_name and name both differ
    repo.delete(HUBSPOT)
    repo.manifest("connectors/salesforce_leads.yaml", "salesforce_leads", **HUBSPOT_FIELDS)
    repo.commit()
    result = repo.review()
    [change] = result.changes
    assert change["paired_by"] == "rename" and change["breaking"]
    f = only(result, "SC100")
    assert (f.severity, f.path) == (E, "connectors/salesforce_leads.yaml")
    assert "name changes too" in f.message and "two different connectors" in f.message
    deleted = only(result, "SC101")
    assert (deleted.severity, deleted.path, deleted.line, deleted.column) == (W, HUBSPOT, 1, 1)
    assert "'hubspot_contacts' is deleted" in deleted.message
    added = only(result, "SC111")
    assert (added.severity, added.path, added.line) == (N, "connectors/salesforce_leads.yaml", 3)
    assert "new connector 'salesforce_leads'" in added.message

    accepted = repo.review(allow_api_name_changes=frozenset({("hubspot_contacts",
                                                               "salesforce_leads")}))
    assert only(accepted, "SC100").severity is N
    assert only(accepted, "SC101").severity is W  # accepting the name does not hide it
    assert accepted.report().passed and not accepted.report(frozenset({E, W})).passed


def test_delete_and_add_of_the_same_connector_paired_by_name(repo: Repo) -> None:
    # rewritten past git's 50% similarity: only the name says it is the same connector
    repo.delete(HUBSPOT)
    repo.manifest("connectors/people.yaml", "hubspot_people", name="Hubspot Contacts",
                  description="People from HubSpot, merged into Kizen contacts every hour.",
                  status="Operational - Needs Attention", max_concurrent_executions=1)
    repo.commit()
    result = repo.review()
    f = only(result, "SC100")
    assert (f.severity, f.path) == (E, "connectors/people.yaml")
    assert "the same name" in f.message
    [change] = result.changes
    assert change["paired_by"] == "name"
    assert "SC101" not in rules(result) and "SC111" not in rules(result)


def test_move_rewritten_past_git_similarity_keeps_its_api_name(repo: Repo) -> None:
    repo.delete(HUBSPOT)
    repo.manifest("connectors/crm/contacts.yaml", "hubspot_contacts", name="CRM Contacts",
                  description="Rewritten: contacts from HubSpot into Kizen, hourly.")
    repo.commit()
    [change] = repo.review().changes
    assert change["paired_by"] == "api_name"
    assert not change["breaking"]
    assert "SC100" not in {f["rule"] for f in change["findings"]}


def test_manifest_deleted_warns_that_the_connector_keeps_running(repo: Repo) -> None:
    repo.delete(LEADS)
    repo.commit()
    result = repo.review()
    f = only(result, "SC101")
    assert (f.severity, f.path, f.line, f.column) == (W, LEADS, 1, 1)
    assert "stops managing" in f.message and "not deleted from Kizen" in f.message
    assert result.report().passed  # a warning does not fail by default


def test_status_to_non_executable_stops_runs(repo: Repo) -> None:
    repo.hubspot(status="Inactive")
    repo.commit()
    result = repo.review()
    f = only(result, "SC102")
    assert (f.severity, f.line, f.pointer) == (W, 6, "/status")
    assert "scheduled runs and manual triggers stop" in f.message
    assert "SC043" not in rules(result)  # validate's notice is said better by SC102


def test_status_back_to_executable_starts_queued_executions(repo: Repo) -> None:
    repo.hubspot(status="Setup")
    repo.commit()
    repo.hubspot()
    repo.commit()
    f = only(repo.review(), "SC103")
    assert f.severity is N and "queued executions will start" in f.message


def test_status_within_executable_values_is_a_notice(repo: Repo) -> None:
    repo.hubspot(status="Operational - Needs Attention")
    repo.commit()
    f = only(repo.review(), "SC113")
    assert f.severity is N and "still executes" in f.message


def test_concurrency_to_zero_pauses(repo: Repo) -> None:
    repo.hubspot(max_concurrent_executions=0)
    repo.commit()
    result = repo.review()
    f = only(result, "SC104")
    assert (f.severity, f.line) == (W, 7)
    assert "new executions queue and in-flight ones finish" in f.message
    assert "SC042" not in rules(result)


def test_concurrency_from_zero_starts_queued_executions(repo: Repo) -> None:
    repo.hubspot(max_concurrent_executions=0)
    repo.commit()
    repo.hubspot()
    repo.commit()
    result = repo.review()
    f = only(result, "SC105")
    assert f.severity is N and "queued executions start" in f.message
    assert rules(result) == {"SC105"}


def test_concurrency_raised_without_create_only_risks_overlapping_writes(repo: Repo) -> None:
    repo.hubspot(max_concurrent_executions=4)
    repo.commit()
    result = repo.review()
    f = only(result, "SC106")
    assert (f.severity, f.line, f.pointer) == (W, 7, "/max_concurrent_executions")
    assert "depends on timing" in f.message
    assert "SC041" not in rules(result)


def test_concurrency_raised_with_create_only_is_safe(repo: Repo) -> None:
    repo.hubspot(max_concurrent_executions=4, create_only=True)
    repo.commit()
    result = repo.review()
    assert "SC106" not in rules(result)
    assert {f.severity for f in result.findings} == {N}


def test_create_only_dropped_while_parallel_risks_overlapping_writes(repo: Repo) -> None:
    repo.manifest(LEADS, "web_leads", max_concurrent_executions=4, create_only=False)
    repo.commit()
    f = only(repo.review(), "SC106")
    assert (f.severity, f.pointer) == (W, "/create_only")


def test_concurrency_lowered_does_not_cancel_running_executions(repo: Repo) -> None:
    repo.manifest(LEADS, "web_leads", max_concurrent_executions=2, create_only=True)
    repo.commit()
    f = only(repo.review(), "SC107")
    assert f.severity is N
    assert "not cancelled" in f.message and "not yet started" in f.message


def test_webhook_removed(repo: Repo) -> None:
    repo.hubspot(execution_ended_webhook_url=None)
    repo.commit()
    f = only(repo.review(), "SC108")
    # no line holds a removed key: the annotation goes on the key that preceded it
    assert (f.severity, f.line, f.pointer) == (W, 10, "/execution_ended_webhook_url")
    assert "stop being called" in f.message


def test_removed_setting_without_a_preceding_key_goes_on_line_1(repo: Repo) -> None:
    text = (repo.path / HUBSPOT).read_text().splitlines(keepends=True)
    repo.commit("reorder", {HUBSPOT: "".join([text[8], *text[:8], *text[9:]])})
    repo.hubspot(additional_notification_email=None)  # the first key of the base
    repo.commit()
    f = only(repo.review(), "SC109")
    assert (f.line, f.pointer) == (1, "/additional_notification_email")


def test_webhook_changed(repo: Repo) -> None:
    repo.hubspot(execution_ended_webhook_url="https://hooks.example.com/v2")
    repo.commit()
    f = only(repo.review(), "SC108")
    assert (f.severity, f.line) == (W, 11)
    assert "https://hooks.example.com/scsync/hubspot to https://hooks.example.com/v2" in f.message


def test_webhook_added_is_a_notice(repo: Repo) -> None:
    repo.manifest(LEADS, "web_leads", max_concurrent_executions=4, create_only=True,
                  execution_ended_webhook_url="https://hooks.example.com/leads")
    repo.commit()
    f = only(repo.review(), "SC108")
    assert f.severity is N and "will be called" in f.message


def test_notification_emails_changed_or_removed(repo: Repo) -> None:
    repo.hubspot(additional_notification_email="crm@example.com",
                 additional_error_notification_email=None)
    repo.commit()
    found = sorted((f.pointer, f.severity, f.message) for f in repo.review().findings)
    assert found == [
        ("/additional_error_notification_email", N, "additional_error_notification_email: "
         "oncall@example.com stops being told about failed executions"),
        ("/additional_notification_email", N, "additional_notification_email: "
         "crm-ops@example.com stops and crm@example.com starts being told about every execution"),
    ]


def test_name_and_description_changes_are_safe(repo: Repo) -> None:
    repo.hubspot(name="HubSpot People", description="Contacts and companies from HubSpot, hourly.")
    repo.commit()
    result = repo.review()
    assert [(f.rule, f.severity, f.pointer) for f in result.findings] == [
        ("SC110", N, "/name"), ("SC110", N, "/description")]
    assert "safe" in result.findings[0].message
    assert result.report(frozenset({E, W})).passed


def test_new_connector_says_what_it_will_do(repo: Repo) -> None:
    repo.manifest("connectors/erp_orders.yaml", "erp_orders", max_concurrent_executions=2,
                  create_only=True)
    repo.commit()
    result = repo.review()
    f = only(result, "SC111")
    assert (f.severity, f.path, f.line) == (N, "connectors/erp_orders.yaml", 3)
    assert "runs on its triggers, 2 execution(s) at a time" in f.message
    [change] = result.changes
    assert change["change"] == "added"
    assert [r["operation"] for r in change["rows"]] == ["add"] * len(change["rows"])


def test_defaults_are_no_change(repo: Repo) -> None:
    # dropping `max_concurrent_executions: 1` and `create_only: false` changes nothing
    repo.hubspot(max_concurrent_executions=None, create_only=None)
    repo.commit()
    result = repo.review()
    assert result.changes == [] and result.findings == []
    assert result.unchanged == [HUBSPOT]
