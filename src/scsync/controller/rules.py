"""The plan's rule ids (SC120-SC139), registered with the project's rule table."""

from __future__ import annotations

from scsync.findings import Severity
from scsync.rules import Rule, register

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTICE

API_NAME_CHANGE = "SC100"
UNUSED_RENAME = register(Rule(
    "SC120", "api-name-change-unused", W, "The api_name of a connector never used changes.",
    "Nothing has called the connector yet, so the change is applied; callers configured "
    "since the last plan must use the new name."))
SETUP_ON_EXISTING = register(Rule(
    "SC121", "setup-on-existing", W, "Status Setup cannot be set on an existing connector.",
    "The executor accepts only Operational or Inactive on an update. Use Inactive to stop "
    "executions."))
CONCURRENCY_LOWERED = register(Rule(
    "SC122", "concurrency-lowered", N, "max_concurrent_executions is lowered.",
    "In-flight executions continue to completion; the new limit applies to executions not "
    "yet started."))
NEEDS_ATTENTION = register(Rule(
    "SC123", "needs-attention-set-operational", N,
    "Needs Attention is set as Operational on the executor.",
    "An update may set only Operational or Inactive; both run executions."))
REACTIVATED = register(Rule(
    "SC124", "reactivated", N, "The connector becomes executable again.",
    "Executions queued while it was not executable start now, within its limit."))
UNMANAGED = register(Rule(
    "SC125", "unmanaged-connector", N, "A live connector no manifest manages.",
    "It is left as it is. Add a manifest to manage it, or plan with --prune to set it "
    "Inactive (nothing is ever deleted)."))
PRUNE = register(Rule(
    "SC126", "prune-inactive", W, "--prune sets an unmanaged connector Inactive.",
    "Its scheduled runs and triggers stop until it is set executable again."))
API_NAME_TAKEN = register(Rule(
    "SC127", "api-name-taken", E, "The api_name is held by another live connector.",
    "Two connectors cannot share an api_name; rename one of them or manage the live one."))
APPLY_FAILED = register(Rule(
    "SC128", "apply-failed", E, "The executor refused or failed a change.",
    "Read the executor's answer in the message; the other connectors were still applied."))
DRIFT = register(Rule(
    "SC129", "drift", W, "The live connector differs from the applied manifest.",
    "Someone changed it outside git. The controller undoes it (--drift fix) or reports it "
    "(--drift warn); change the manifest to keep the new value."))
MATCHED_BY_NAME = register(Rule(
    "SC130", "matched-by-name", W, "A manifest was paired with a live connector by name.",
    "No state records which connector the manifest manages, and none has its api_name; one "
    "live connector has its name, so the manifest is treated as renaming it."))
