"""Rules on a change between two revisions (SC100-SC119), from `scsync diff`.

SC100 is also what plan and the controller report on a connector in use
(`scsync.identity.api_name_change` decides it for both)."""

from __future__ import annotations

from scsync.findings import Severity
from scsync.rules.model import Rule

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTICE

SC100 = Rule(
    "SC100", "api-name-change", E, "The api_name of a connector in use changes.",
    "Everything that calls the connector by its API name breaks. Keep the old api_name; "
    "change `name` for a new label. An accepted break needs --allow-api-name-change OLD:NEW.",
    "Integrations, orchestration systems and webhook URLs call a connector by its "
    "api_name. `scsync diff` finds the change in place, through git renames and "
    "through a deleted and an added manifest of the same connector; plan and the "
    "controller refuse it on a connector that has run.", ("compatibility", "plan"),
    "high")
SC101 = Rule(
    "SC101", "manifest-deleted", W, "A manifest is deleted: scsync stops managing it.",
    "To stop the connector, first merge `status: Inactive` (or "
    "`max_concurrent_executions: 0`), then delete the manifest; delete the connector in "
    "Kizen by hand if that is the intent.",
    "Deleting the manifest neither deletes nor stops the connector: it keeps its last "
    "applied settings and keeps running on its triggers, now managed by no one. The "
    "finding is placed at 1:1 of the deleted path.", ("reliability",))
SC102 = Rule(
    "SC102", "status-stops", W, "The status changes to one that does not execute.",
    "Scheduled runs and manual triggers stop until the status is Operational again.",
    "Inactive and Setup do not execute; whatever waits on the connector's output stops "
    "getting it once the change is applied.", ("reliability",))
SC103 = Rule(
    "SC103", "status-resumes", N, "The status changes back to one that executes.",
    "Queued executions start once this is applied.",
    "Executions queued while the connector could not run start as soon as the change "
    "is applied, within its concurrency limit.", ("reliability",))
SC104 = Rule(
    "SC104", "paused", W, "max_concurrent_executions goes to 0: the connector is paused.",
    "New executions queue and none starts; in-flight executions finish.",
    "A limit of 0 is the documented pause: triggers keep queueing executions and "
    "nothing runs until the limit is raised again.", ("reliability",))
SC105 = Rule(
    "SC105", "unpaused", N, "max_concurrent_executions goes up from 0.",
    "Queued executions start once this is applied.",
    "Everything queued during the pause starts once applied, up to the new limit at a "
    "time.", ("reliability",))
SC106 = Rule(
    "SC106", "parallel-writes-raised", W,
    "Executions may now overlap without create_only: true.",
    "Set `create_only: true` if the load steps only create records (then runs cannot "
    "conflict), or keep the limit at 1.",
    "The change lets executions of the connector overlap while its load steps may "
    "update records, so two runs can write the same record and the last to finish "
    "wins.", ("reliability",))
SC107 = Rule(
    "SC107", "concurrency-lowered", N, "max_concurrent_executions is lowered.",
    "In-flight executions are not cancelled; the new limit applies to executions not yet "
    "started.",
    "Lowering the limit never interrupts a running execution; fewer start at a time "
    "once the running ones finish.", ("reliability",))
SC108 = Rule(
    "SC108", "webhook-changed", W, "execution_ended_webhook_url is removed or changed.",
    "Downstream systems triggered by the old URL stop being called; update or retire them.",
    "The execution-ended webhook is how downstream systems learn that a run finished; "
    "a removed or moved URL stops those calls without an error anywhere. A webhook "
    "added where there was none is a notice.", ("integration",))
SC109 = Rule(
    "SC109", "emails-changed", N, "A notification email is changed, added or removed.",
    "Check that the people who must hear about executions still do.",
    "The two notification addresses decide who hears of completed and failed "
    "executions; a change can leave failures unnoticed.", ("notification",))
SC110 = Rule(
    "SC110", "label-changed", N, "name or description changes.",
    "A label and documentation only: safe, nothing calls a connector by them.",
    "name and description are for people; integrations call a connector by its "
    "api_name, so this change breaks nothing.", ("maintainability",))
SC111 = Rule(
    "SC111", "connector-added", N, "A new connector.",
    "Check its status and concurrency: they decide what it does once applied.",
    "Once merged and applied the manifest creates a connector; its status and "
    "max_concurrent_executions decide whether it runs at once, queues or waits.",
    ("reliability",))
SC112 = Rule(
    "SC112", "job-changed", N, "The job the embedded executor runs changes.",
    "The new job runs from the next execution on; running ones keep the old one.",
    "The job (command, environment, timeout, working folder) is what scsync's embedded "
    "executor runs for each execution.", ("reliability",))
SC113 = Rule(
    "SC113", "setting-changed", N, "Another setting changes.",
    "Read the message for its effect.",
    "A change no other rule covers: create_only, a raised concurrency limit that "
    "cannot cause conflicting writes, a status within the same class (both executing, "
    "or both not); the message states the effect.", ("reliability",))

SC114 = Rule(
    "SC114", "type-or-object-changed", E,
    "connector_type or custom_object of a connector changes.",
    "Kizen cannot change either in place and plan refuses it (SC131): keep the value, or "
    "add a new connector (a new api_name) for the new type or object.",
    "A connector's type and the object it loads into are fixed when Kizen creates it; a "
    "change in git can never be applied to the live connector.",
    ("correctness", "compatibility"))

SC115 = Rule(
    "SC115", "schedule-added", W, "A connector now runs on a schedule.",
    "Check that the source system's rate limits allow the runs a day the message gives, that "
    "max_concurrent_executions suits them, and that one run finishes before the next slot.",
    "A schedule connector (connector_type `schedule` with a cadence) runs every cadence "
    "seconds once applied, at the multiples of the cadence since the Unix epoch (UTC); the "
    "change gives a connector a schedule it did not have, or adds a connector with one. A "
    "webhook's cadence is a batching window, not a schedule, and is not reported here.",
    ("reliability", "performance"))
SC116 = Rule(
    "SC116", "schedule-removed", W, "A schedule connector's cadence is no longer declared.",
    "Removing `cadence` does not stop the runs: to stop them set `status: Inactive` (or "
    "`max_concurrent_executions: 0`); keep the cadence to keep managing it.",
    "Plan neither sends nor compares a cadence the manifest leaves out, so the live "
    "connector keeps its last applied cadence and keeps running on it, now unmanaged. A "
    "connector_type changed away from `schedule` is SC114 (it cannot be applied) and a "
    "deleted manifest SC101, whose message names the schedule it keeps.",
    ("reliability",))
SC117 = Rule(
    "SC117", "schedule-more-frequent", W, "A schedule connector's cadence is shortened.",
    "Check that the source system's rate limits allow the new runs a day, that "
    "max_concurrent_executions suits them, and that one run finishes before the next slot "
    "(overlapping runs queue or write the same records).",
    "A shorter cadence multiplies the runs a day, and the load on the source system and on "
    "Kizen with it; a run that takes longer than the new cadence overlaps the next. A "
    "longer cadence is a notice (SC113), as any other cadence change.",
    ("reliability", "performance"))

#: In id order: the catalogue (`scsync.rules`) lists these.
ALL = (SC100, SC101, SC102, SC103, SC104, SC105, SC106, SC107, SC108, SC109, SC110, SC111, SC112,
       SC113, SC114, SC115, SC116, SC117)
