"""Rules on a plan against the live executor (SC120-SC199): plan, apply, the controller."""

from __future__ import annotations

from scsync.findings import Severity
from scsync.rules.model import Rule

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTICE

SC120 = Rule(
    "SC120", "api-name-change-unused", W, "The api_name of a connector never used changes.",
    "Nothing has called the connector yet, so the change is applied; callers configured "
    "since the last plan must use the new name.",
    "The live connector has never executed, so no caller can depend on its api_name yet; "
    "the guard that refuses SC100 lets this rename through.", ("compatibility",))
SC121 = Rule(
    "SC121", "setup-on-existing", W, "Status Setup cannot be set on an existing connector.",
    "The executor accepts only Operational or Inactive on an update. Use Inactive to stop "
    "executions.",
    "Setup is a status for connectors being created; on an existing connector the plan "
    "leaves the live status as it is and says so.", ("correctness",))
SC122 = Rule(
    "SC122", "concurrency-lowered", N, "max_concurrent_executions is lowered.",
    "In-flight executions continue to completion; the new limit applies to executions not "
    "yet started.",
    "Lowering the limit on the executor never interrupts a running execution; fewer start "
    "at a time once the running ones finish.", ("reliability",))
SC123 = Rule(
    "SC123", "needs-attention-set-operational", N,
    "Needs Attention is set as Operational on the executor.",
    "An update may set only Operational or Inactive; both run executions.",
    "The API has no way to set Operational - Needs Attention on an update, so the connector "
    "is stored as operational, which executes the same way.", ("correctness",))
SC124 = Rule(
    "SC124", "reactivated", N, "The connector becomes executable again.",
    "Executions queued while it was not executable start now, within its limit.",
    "The live connector is Inactive or Setup and the manifest makes it executable; once "
    "applied it runs on its triggers again.", ("reliability",))
SC125 = Rule(
    "SC125", "unmanaged-connector", N, "A live connector no manifest manages.",
    "It is left as it is. Add a manifest to manage it, or plan with --prune to set it "
    "Inactive (nothing is ever deleted).",
    "The executor holds a connector that no manifest in the repository manages, so git "
    "does not describe everything that runs.", ("maintainability",))
SC126 = Rule(
    "SC126", "prune-inactive", W, "--prune sets an unmanaged connector Inactive.",
    "Its scheduled runs and triggers stop until it is set executable again.",
    "--prune sets each live connector no manifest manages to Inactive; it never deletes "
    "one, so a manifest added later can manage it again.", ("reliability",))
SC127 = Rule(
    "SC127", "api-name-taken", E, "The api_name is held by another live connector.",
    "Two connectors cannot share an api_name; rename one of them or manage the live one.",
    "Creating the manifest's connector, or renaming another onto its api_name, would "
    "fail or take over a connector this manifest does not manage.", ("correctness",))
SC128 = Rule(
    "SC128", "apply-failed", E, "The executor refused or failed a change.",
    "Read the executor's answer in the message; the other connectors were still applied.",
    "The executor answered the request with an error (a refusal or a failure); that "
    "connector keeps its previous settings and the run exits 1.", ("reliability",))
SC129 = Rule(
    "SC129", "drift", W, "The live connector differs from the applied manifest.",
    "Someone changed it outside git. The controller undoes it (--drift fix) or reports it "
    "(--drift warn); change the manifest to keep the new value.",
    "The live settings differ from those last applied from git, so the connector was "
    "changed by hand or by another tool since.", ("reliability",))
SC130 = Rule(
    "SC130", "matched-by-name", W, "A manifest was paired with a live connector by name.",
    "No state records which connector the manifest manages, and none has its api_name; one "
    "live connector has its name, so the manifest is treated as renaming it.",
    "A match by name is a guess: check that the live connector is the one the manifest "
    "describes before applying.", ("compatibility",), "medium")

SC131 = Rule(
    "SC131", "type-or-object-change", E,
    "connector_type or custom_object of an existing connector changes.",
    "Kizen cannot change either in place: keep the live value, or author a new connector "
    "in Kizen (a new api_name) and retire this one.",
    "A connector's type and the object it loads into are fixed when Kizen creates it; its "
    "script and flow are built for them, so the plan refuses the change before any write.",
    ("correctness", "compatibility"))
SC132 = Rule(
    "SC132", "not-on-kizen", E, "The manifest's connector is not found on the Kizen executor.",
    "Author it in Kizen and `scsync import` it, or declare connector_type and "
    "custom_object so plan can create it in Setup.",
    "On Kizen a connector is its SQL script and flow; settings alone would make an empty "
    "shell that cannot run, so nothing is created without its type and object.",
    ("correctness",))
SC133 = Rule(
    "SC133", "created-in-setup", N,
    "Created on Kizen in Setup; its script and flow must be authored in Kizen.",
    "Author the connector's script and flow in Kizen; the status the manifest asks for is "
    "set by a later pass, once Kizen accepts it.",
    "Kizen creates every connector in Setup and runs none until its script and flow exist; "
    "the create sends Setup and a later plan sets the manifest's status.", ("reliability",))
SC134 = Rule(
    "SC134", "custom-object-unknown", E, "custom_object names no object of the executor.",
    "Use an api_name (or id) that GET /api/custom-objects lists, e.g. client_client for "
    "contacts.",
    "The create needs the object's id; an api_name the executor does not list cannot be "
    "resolved, so the connector is not created.", ("correctness",))
SC135 = Rule(
    "SC135", "cadence-not-offered", E, "The cadence is not one the executor offers.",
    "Choose one of the values its /metadata cadence_choices lists (the message names them).",
    "An executor listing cadence_choices (as Kizen does) refuses any other value; the plan "
    "reports it before any write.", ("correctness",))

#: In id order: the catalogue (`scsync.rules`) lists these.
ALL = (SC120, SC121, SC122, SC123, SC124, SC125, SC126, SC127, SC128, SC129, SC130, SC131,
       SC132, SC133, SC134, SC135)
