"""The plan: desired connectors against live ones, per connector what apply would do.

Pairing a manifest with a live connector is the heart of the API-name guard,
and `scsync.identity.pair` does it as it does for review: the state's record
for the path (or for the path git says it was renamed from); else a live
connector with the same api_name; else exactly one unclaimed live connector
with the same name (a rename seen without state, so a lost state folder never
turns an API-name change into a silent create).  A paired connector whose live
api_name differs from the manifest's is an API-name change, decided by
`scsync.identity.api_name_change`: refused (SC100) when the connector is in
use, unless the operator allowed that exact OLD:NEW pair.

Settings are compared with the one diff model (`scsync.diff`), live settings
mapped to manifest spelling first.  Status follows the executor's rules rather
than plain equality: both executable statuses run, so Operational against a
live need_attention is in sync, and an update may only set operational or
inactive.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scsync import identity
from scsync.controller import rules
from scsync.controller.desired import Desired
from scsync.controller.facts import ExecutorFacts
from scsync.controller.live import LiveConnector, create_body, patch_body
from scsync.controller.schedule import ScheduleChange, schedule_change
from scsync.controller.state import Record
from scsync.diff import Diff, DiffItem, diff
from scsync.findings import Finding, Severity
from scsync.identity import PairedBy
from scsync.manifest.model import (
    EXECUTABLE,
    INACTIVE,
    NEEDS_ATTENTION,
    OPERATIONAL,
    SETUP,
    Connector,
)
from scsync.rules import Rule


class Action(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    IN_SYNC = "in sync"
    REFUSED = "refused"
    ERROR = "error"


@dataclass(slots=True)
class ConnectorPlan:
    path: str
    api_name: str
    action: Action
    desired: Connector = field(repr=False)
    connector_id: str | None = None
    live_api_name: str | None = None
    paired_by: PairedBy = PairedBy.NOTHING
    record_path: str | None = None  # the state record this pairing came from
    changes: Diff = ()  # live -> desired, what apply changes
    blocked: Diff = ()  # differences no update can make (Setup on an existing connector)
    body: dict[str, Any] = field(default_factory=dict)
    force_api_name_change: bool = False
    findings: list[Finding] = field(default_factory=list)
    reason: str = ""
    schedule: ScheduleChange | None = None  # a write that starts or changes a schedule

    @property
    def writes(self) -> bool:
        return self.action in (Action.CREATE, Action.UPDATE)

    @property
    def matched_by(self) -> str:
        """`paired_by` as plan JSON spells it: a path is paired through its state record."""
        return _PLAN_SPELLING.get(self.paired_by, self.paired_by.value)


#: Plan JSON's `matched_by` (schemas/scsync-output.schema.json) where it differs.
_PLAN_SPELLING = {PairedBy.PATH: "state", PairedBy.NOTHING: "none"}


@dataclass(slots=True)
class UnmanagedPlan:
    connector_id: str
    api_name: str
    name: str
    status: str
    prune: bool  # apply sets it inactive
    was_managed_by: str | None = None
    finding: Finding | None = None


@dataclass(slots=True)
class Plan:
    source: str
    executor: str
    desired: Desired = field(repr=False)
    connectors: list[ConnectorPlan] = field(default_factory=list)
    unmanaged: list[UnmanagedPlan] = field(default_factory=list)
    prune: bool = False
    commit: str | None = None  # the commit the desired state is (a clean work tree: HEAD)
    executor_kind: str | None = None  # "embedded" or "kizen"; None: not asked (invalid)
    #: what the plan knew of the executor, so apply re-plans an adopted create alike
    facts: ExecutorFacts | None = field(default=None, repr=False)
    #: the live connectors the plan was made against (the web UI shows them)
    live: list[LiveConnector] = field(default_factory=list, repr=False)

    @property
    def valid(self) -> bool:
        return self.desired.valid

    @property
    def has_changes(self) -> bool:
        return any(c.writes for c in self.connectors) or any(u.prune for u in self.unmanaged)

    @property
    def has_errors(self) -> bool:
        return not self.valid or any(
            c.action in (Action.REFUSED, Action.ERROR) for c in self.connectors)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.connectors if c.action is action)

    def summary(self) -> str:
        if not self.valid:
            return (f"the manifests have {len(self.desired.errors)} error(s): "
                    "nothing will be applied")
        parts = [f"{self.count(a)} {label}" for a, label in (
            (Action.CREATE, "to create"), (Action.UPDATE, "to update"),
            (Action.REFUSED, "refused"), (Action.ERROR, "in error"), (Action.IN_SYNC, "in sync"))
            if self.count(a)]
        pruned = sum(1 for u in self.unmanaged if u.prune)
        if pruned:
            parts.append(f"{pruned} to set Inactive (--prune)")
        if len(self.unmanaged) > pruned:
            parts.append(f"{len(self.unmanaged) - pruned} unmanaged")
        return ", ".join(parts) or "no connectors"


InUse = Callable[[LiveConnector], bool]


def make_plan(
    desired: Desired,
    live: list[LiveConnector],
    records: Mapping[str, Record],
    *,
    in_use: InUse,
    renames: Mapping[str, str] | None = None,
    allow: frozenset[tuple[str, str]] = frozenset(),
    prune: bool = False,
    executor: str = "",
    facts: ExecutorFacts | None = None,
    now: float | None = None,
) -> Plan:
    """`renames` maps a manifest's path to the path git says it had at the last applied commit.

    `facts` (kind, cadence choices, custom objects) default to an embedded executor
    that offers any cadence and names no objects.  `now` (epoch seconds, the
    wall clock when None) is when a changed schedule's next run is counted from.
    """
    facts = facts or ExecutorFacts()
    at = time.time() if now is None else now
    plan = Plan(desired.source, executor, desired, prune=prune, facts=facts)
    if not desired.valid:
        return plan
    plan.executor_kind, plan.live = facts.kind, live
    pairing = _pair(desired, live, records, renames or {})
    by_api = {c.api_name: c for c in live}
    for path, connector in desired.connectors.items():
        paired = pairing.get(path)
        if paired is None:
            entry = _create(path, connector, by_api, facts)
        else:
            target, how, record_path = paired
            entry = _update(path, connector, target, how, record_path, by_api, in_use, allow,
                            facts)
        live_now = paired[0] if paired else None
        entry.schedule = schedule_change(
            entry.changes if entry.writes else (), entry.desired.connector_type,
            live_now.raw.get("connector_type") if live_now is not None else None,
            embedded=facts.kind == "embedded", now=at)
        plan.connectors.append(entry)
    claimed = {c.connector_id for c in plan.connectors if c.connector_id}
    managed_by = {r.connector_id: r.path for r in records.values()}
    for item in live:
        if item.id in claimed:
            continue
        will_prune = prune and item.manifest_status != INACTIVE
        spec = rules.PRUNE if will_prune else rules.UNMANAGED
        plan.unmanaged.append(UnmanagedPlan(
            item.id, item.api_name, item.name, item.status, will_prune,
            managed_by.get(item.id),
            spec.finding(item.api_name, f"live connector '{item.api_name}' ({item.id}) is "
                         "not managed by any manifest"
                         + ("; apply sets it Inactive" if will_prune else ""))))
    plan.unmanaged.sort(key=lambda u: u.api_name)
    return plan


def _pair(desired: Desired, live: list[LiveConnector], records: Mapping[str, Record],
          renames: Mapping[str, str]) -> dict[str, tuple[LiveConnector, PairedBy, str | None]]:
    """Each manifest path's live connector, how it was found, and the state record used."""
    by_id = {c.id: c for c in live}
    links: list[identity.Link] = []
    for path in desired.connectors:
        for how, key in ((PairedBy.PATH, path), (PairedBy.RENAME, renames.get(path))):
            record = records.get(key) if key else None
            if record is not None:
                links.append(identity.Link(path, record.connector_id, how))
    found = identity.pair(desired.connectors, by_id, links)
    pairing: dict[str, tuple[LiveConnector, PairedBy, str | None]] = {}
    for path, (connector_id, how) in found.matched.items():
        key = path if how is PairedBy.PATH else renames.get(path) if how is PairedBy.RENAME \
            else None
        record = records.get(key) if key else None
        pairing[path] = (by_id[connector_id], how, record.path if record else None)
    return pairing


def _create(path: str, connector: Connector, by_api: Mapping[str, LiveConnector],
            facts: ExecutorFacts) -> ConnectorPlan:
    entry = ConnectorPlan(path, connector.api_name, Action.CREATE, connector,
                          changes=diff(None, connector.settings()))
    taken = by_api.get(connector.api_name)
    if taken is not None:  # held by a connector another manifest manages
        return _error(entry, rules.API_NAME_TAKEN, f"api_name '{connector.api_name}' is held "
                      f"by live connector {taken.id}, which another manifest manages")
    overrides: dict[str, Any] = {}
    if facts.kind == "kizen":
        if connector.connector_type is None or connector.custom_object is None:
            return _error(entry, rules.NOT_ON_KIZEN, f"'{connector.api_name}' not found on "
                          "the executor: on Kizen a connector is its script and flow, authored "
                          "in Kizen; author it there and `scsync import` it, or declare "
                          "connector_type and custom_object to create it in Setup")
        overrides["status"] = SETUP  # Kizen creates in Setup; the status is a later step
    if connector.custom_object is not None:
        object_id = facts.object_id(connector.custom_object)
        if object_id is None:
            known = ", ".join(sorted(facts.objects or {})[:10]) or "none"
            return _error(entry, rules.OBJECT_UNKNOWN, f"custom_object "
                          f"'{connector.custom_object}' is not an object of the executor "
                          f"(GET /api/custom-objects lists: {known})", "/custom_object")
        overrides["custom_object"] = object_id
    if not _cadence_offered(entry, connector.cadence, facts):
        return entry
    entry.body = create_body(connector, overrides)
    if facts.kind == "kizen":
        later = "" if connector.status == SETUP else (
            f"; status {connector.status} is set by a later pass, once Kizen accepts it")
        entry.findings.append(rules.CREATED_IN_SETUP.finding(
            path, "created in Setup: its script and flow must be authored in Kizen before it "
            f"can run{later}", pointer="/status"))
    return entry


def _error(entry: ConnectorPlan, rule: Rule, reason: str, pointer: str = "") -> ConnectorPlan:
    entry.action, entry.body, entry.reason = Action.ERROR, {}, reason
    entry.findings.append(rule.finding(entry.path, reason, pointer=pointer))
    return entry


def _cadence_offered(entry: ConnectorPlan, cadence: int | None, facts: ExecutorFacts) -> bool:
    """False (the entry made an error) for a cadence the executor's choices leave out."""
    if cadence is None or not facts.cadence_choices or cadence in facts.cadence_choices:
        return True
    offered = ", ".join(map(str, facts.cadence_choices))
    _error(entry, rules.CADENCE_NOT_OFFERED, f"cadence {cadence} is not offered by the "
           f"executor; its /metadata cadence_choices are: {offered}", "/cadence")
    return False


def _update(path: str, connector: Connector, live: LiveConnector, how: PairedBy,
            record_path: str | None, by_api: Mapping[str, LiveConnector], in_use: InUse,
            allow: frozenset[tuple[str, str]], facts: ExecutorFacts) -> ConnectorPlan:
    entry = ConnectorPlan(path, connector.api_name, Action.IN_SYNC, connector, live.id,
                          live.api_name, how, record_path)
    want = connector.settings()
    names = facts.object_names
    if want["custom_object"] in names:  # a manifest may hold the id, as import keeps it
        want["custom_object"] = names[want["custom_object"]]
    have = live.comparable(want, names)
    items = list(diff(have, want))
    fixed = [i for i in items if i.field[0] in ("connector_type", "custom_object")]
    if fixed:
        for item in fixed:
            entry.findings.append(rules.TYPE_OR_OBJECT_CHANGE.finding(
                path, f"{item.dotted} {item.old!r} -> {item.new!r} refused: Kizen cannot "
                "change it on an existing connector", pointer=item.pointer))
        entry.action, entry.changes = Action.REFUSED, tuple(items)
        entry.reason = (", ".join(i.dotted for i in fixed) + " of an existing connector "
                        "cannot change; keep the live value or author a new connector")
        return entry
    cadence = next((i for i in items if i.field == ("cadence",)), None)
    if cadence is not None and not _cadence_offered(entry, cadence.new, facts):
        entry.changes = tuple(items)
        return entry
    status_item, items = _take(items, "status")
    name_item, items = _take(items, "api_name")
    applied: list[DiffItem] = list(items)
    keys = list(dict.fromkeys(item.field[0] for item in items))
    for item in items:
        if item.field == ("max_concurrent_executions",) and item.new < item.old:
            entry.findings.append(rules.CONCURRENCY_LOWERED.finding(
                path, f"max_concurrent_executions {item.old} -> {item.new}: in-flight "
                "executions continue; the limit applies to executions not yet started",
                pointer="/max_concurrent_executions"))
    new_status = _status_change(path, connector, live, entry)
    if new_status is not None and status_item is not None:
        applied.append(status_item)
        keys.append("status")
    elif status_item is not None and connector.status == SETUP:
        entry.blocked = (status_item,)
    if name_item is not None:
        refusal = _api_name_guard(path, connector, live, how, by_api, in_use, allow, entry)
        if refusal is not None:
            entry.action, entry.reason = refusal
            entry.changes = (name_item, *applied)
            return entry
        keys.append("api_name")
        applied.insert(0, name_item)
    # The one crossing into API spelling: an update may set only some statuses.
    body = patch_body(want, keys, {"status": new_status} if new_status is not None else None)
    entry.changes, entry.body = tuple(applied), body
    entry.action = Action.UPDATE if body else Action.IN_SYNC
    return entry


def _take(items: list[DiffItem], key: str) -> tuple[DiffItem | None, list[DiffItem]]:
    found = next((i for i in items if i.field == (key,)), None)
    return found, [i for i in items if i is not found]


def _status_change(path: str, connector: Connector, live: LiveConnector,
                   entry: ConnectorPlan) -> str | None:
    """The status an update sets (manifest spelling), or None; notes what a reader must know."""
    if connector.status in EXECUTABLE:
        if live.running:
            return None
        entry.findings.append(rules.REACTIVATED.finding(
            path, f"status {live.status} -> operational: queued executions start",
            pointer="/status"))
        if connector.status == NEEDS_ATTENTION:
            entry.findings.append(rules.NEEDS_ATTENTION.finding(
                path, "the executor is set to operational (an update cannot set "
                "need_attention)", pointer="/status"))
        return OPERATIONAL
    if connector.status == INACTIVE:
        return None if live.manifest_status == INACTIVE else INACTIVE
    if connector.status == SETUP and live.manifest_status != SETUP:
        entry.findings.append(rules.SETUP_ON_EXISTING.finding(
            path, f"status Setup cannot be set on an existing connector; it stays "
            f"{live.status}", pointer="/status"))
    return None


def _api_name_guard(path: str, connector: Connector, live: LiveConnector, how: PairedBy,
                    by_api: Mapping[str, LiveConnector], in_use: InUse,
                    allow: frozenset[tuple[str, str]],
                    entry: ConnectorPlan) -> tuple[Action, str] | None:
    old, new = live.api_name, connector.api_name
    holder = by_api.get(new)
    if holder is not None and holder.id != live.id:
        reason = f"api_name '{new}' is already held by live connector {holder.id}"
        entry.findings.append(rules.API_NAME_TAKEN.finding(path, reason, pointer="/api_name"))
        return Action.ERROR, reason
    if how is PairedBy.NAME:
        entry.findings.append(rules.MATCHED_BY_NAME.finding(
            path, f"no state for this manifest; live connector '{old}' has its name "
            f"'{connector.name}', so this is read as renaming '{old}' to '{new}'",
            pointer="/api_name"))
    used = in_use(live)
    # in use with no count: executions exist though the stats say 0 (None: count unknown)
    uses = (live.used_count or None) if used else 0
    allowed = identity.allows(allow, old, new)
    decision = identity.api_name_change(path, old, new, uses=uses, allowed=allowed)
    if decision is not None:
        entry.findings.append(decision)
    if decision is None or decision.severity is not Severity.ERROR:
        entry.force_api_name_change = used and allowed
        return None
    reason = (f"api_name '{old}' -> '{new}' refused: the connector is in use (used "
              f"{live.used_count} time(s)) and everything that calls '{old}' would break; "
              f"keep '{old}', or accept the break with --allow-api-name-change {old}:{new}")
    return Action.REFUSED, reason


def drift_findings(plan: Plan, records: Mapping[str, Record]) -> list[Finding]:
    """Differences on connectors this very commit was applied to: made by hand since.

    Only a record whose commit is the plan's says the connector got this
    commit's settings; a change the executor refused or that failed leaves the
    record's older commit, so it stays a change to make (and to retry), never drift.
    """
    out = []
    for entry in plan.connectors:
        record = records.get(entry.path) if entry.paired_by is PairedBy.PATH else None
        if entry.action is Action.UPDATE and record is not None and record.commit == plan.source:
            fields = ", ".join(i.dotted for i in entry.changes)
            out.append(rules.DRIFT.finding(entry.path, f"'{entry.api_name}' drifted: {fields}"))
    return out
