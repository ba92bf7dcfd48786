"""Carrying out a plan: one request per changed connector, none for the others.

Each connector stands alone: a refusal or an error on one is recorded on it and
the next one is applied.  Only an executor that cannot be reached at all stops
the run (every further request would fail the same way, after its retries).

Creates are idempotent by api_name: the connector is looked up before it is
created, and a 409 on create means an earlier, interrupted run created it, so
it is adopted.  A SIGKILL between the create and the state write therefore
never yields a duplicate.  Renames and updates run before creates.  That does
not make a commit that frees an api_name and reuses it in the same change apply
in one pass: the plan, made against live state, still sees the name held and
reports SC127 on the new user; the next pass (or apply) after the rename
succeeds applies it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scsync.client import Conflict, ExecutorClient, ExecutorError, ExecutorUnreachable, NotFound
from scsync.controller import rules
from scsync.controller.desired import Desired
from scsync.controller.facts import ExecutorFacts
from scsync.controller.live import LiveConnector, patch_body
from scsync.controller.plan import Action, ConnectorPlan, Plan, make_plan
from scsync.controller.state import Record, State
from scsync.findings import Finding, Severity
from scsync.identity import PairedBy
from scsync.manifest.model import INACTIVE


@dataclass(slots=True)
class Outcome:
    api_name: str
    path: str | None
    action: str  # create | update | adopt | prune
    ok: bool
    detail: str = ""
    connector_id: str | None = None
    live: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    """The executor's answer to the write: the connector as it now is."""


@dataclass(slots=True)
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    aborted: str | None = None  # why the run stopped early (executor unreachable)
    held: list[ConnectorPlan] = field(default_factory=list)  # refused or in error: not tried

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def writes(self) -> int:
        return sum(1 for o in self.outcomes if o.ok and o.action != "adopt")

    def summary(self) -> str:
        done = [o for o in self.outcomes if o.ok]
        text = f"{len(done)} change(s) applied, {len(self.failed)} failed"
        # Exit 1 with "0 failed" alone would hide why: name what was held back.
        for action, label in ((Action.REFUSED, "refused"), (Action.ERROR, "in error")):
            entries = [e for e in self.held if e.action is action]
            if entries:
                text += f", {len(entries)} {label}: " + ", ".join(map(_why, entries))
        return text + (f"; stopped: {self.aborted}" if self.aborted else "")


def _why(entry: ConnectorPlan) -> str:
    rule = next((f.rule for f in entry.findings if f.severity is Severity.ERROR), "")
    reason = entry.reason if len(entry.reason) <= 90 else entry.reason[:89] + "…"
    return f"{entry.api_name} ({rule} {reason})" if rule else f"{entry.api_name} ({reason})"


Log = Callable[[str], None]


def apply_plan(plan: Plan, client: ExecutorClient, state: State, *, commit: str | None = None,
               log: Log | None = None, leave: frozenset[str] = frozenset(),
               log_failure: Log | None = None,
               records: dict[str, Record] | None = None,
               guard: Callable[[], None] | None = None) -> ApplyResult:
    """Apply `plan`; state records what each manifest path now manages.

    The entries whose paths are in `leave` are neither written nor recorded
    (drift that `--drift warn` only reports).  A record's commit is the commit
    last applied to that connector successfully: a failed or refused entry keeps
    the one it had, which is how the loop tells drift from a change not yet made.
    `records` are the state records the plan was made from, when the caller
    has them (the loop reads them once per pass); otherwise they are read here.
    `guard` runs before each connector's writes; what it raises stops the apply
    there (the loop's leader confirms it still holds the lock, `leader.py`).
    """
    result = ApplyResult()
    if not plan.valid:
        return result
    say = log or (lambda _line: None)
    warn = log_failure or say  # a log with levels keeps failures apart from progress
    records = state.records() if records is None else records
    keep: set[str] = set()  # records a refused or failed entry still needs next time
    adopted: list[Record] = []
    ordered = sorted(plan.connectors, key=lambda c: c.action is Action.CREATE)
    for entry in ordered:
        if entry.path in leave:
            keep.add(entry.record_path or entry.path)
            continue
        if entry.action in (Action.REFUSED, Action.ERROR):
            result.held.append(entry)
        if entry.action in (Action.REFUSED, Action.ERROR) or result.aborted:
            keep.add(_carry(entry, records, state))
            continue
        if guard is not None and entry.writes:
            guard()
        try:
            connector_id = _apply_one(entry, client, result, say, plan.facts)
        except ExecutorUnreachable as exc:
            result.aborted = str(exc)
            _failed(entry, exc, result, warn)
            keep.add(_carry(entry, records, state))
            continue
        except ExecutorError as exc:
            _failed(entry, exc, result, warn)
            keep.add(_carry(entry, records, state))
            continue
        record = Record(entry.path, connector_id, entry.api_name, commit)
        previous = records.get(entry.path)
        if entry.writes:
            state.save([record])  # at once: a crash right after must not forget a write
        elif previous is None or (previous.connector_id, previous.api_name) != (
                connector_id, entry.api_name) or (commit is not None
                                                  and previous.commit != commit):
            adopted.append(record)
        keep.add(entry.path)
    if adopted:
        state.save(adopted)
    for item in plan.unmanaged:
        if item.prune and not result.aborted:
            if guard is not None:
                guard()
            _prune(item.connector_id, item.api_name, client, result, say, warn)
    # Records of manifests gone from the tree: those connectors are no longer managed.
    gone = [path for path in records if path not in keep]
    if gone:
        state.save([], forget=gone)
    return result


def _carry(entry: ConnectorPlan, records: dict[str, Record], state: State) -> str:
    """The record an unapplied entry still needs; the path it is kept under.

    An entry paired through a git rename is only paired while git still shows
    the rename, and the next pass diffs from the commit this one records:
    the rename is gone from that diff.  So its record moves to the new path
    now, unchanged (same connector, the api_name last applied, the old
    commit), and the next pass pairs by state and refuses again instead of
    creating a second connector.
    """
    old = records.get(entry.record_path or "")
    if entry.paired_by is not PairedBy.RENAME or old is None or old.path == entry.path:
        return entry.record_path or entry.path
    state.save([Record(entry.path, old.connector_id, old.api_name, old.commit)],
               forget=[old.path])
    return entry.path


def _apply_one(entry: ConnectorPlan, client: ExecutorClient, result: ApplyResult,
               say: Log, facts: ExecutorFacts | None = None) -> str:
    if entry.action is Action.IN_SYNC:
        assert entry.connector_id is not None
        return entry.connector_id
    if entry.action is Action.UPDATE:
        assert entry.connector_id is not None
        now = client.patch_connector(entry.connector_id, entry.body,
                                     force_api_name_change=entry.force_api_name_change)
        fields = ", ".join(sorted(entry.body))
        _ok(result, say, Outcome(entry.api_name, entry.path, "update", True,
                                 f"updated {fields}", entry.connector_id, now))
        return entry.connector_id
    return _create(entry, client, result, say, facts)


def _create(entry: ConnectorPlan, client: ExecutorClient, result: ApplyResult, say: Log,
            facts: ExecutorFacts | None) -> str:
    existing = _lookup(client, entry.api_name)
    if existing is None:
        try:
            created = client.create_connector(entry.body)
        except Conflict:
            existing = _lookup(client, entry.api_name)
            if existing is None:
                raise
        else:
            connector_id = str(created["id"])
            _ok(result, say, Outcome(entry.api_name, entry.path, "create", True,
                                     "created", connector_id, created))
            return connector_id
    # Created by an earlier run that died before recording it: adopt, then converge.
    live = LiveConnector.from_api(existing)
    redo = _converge(entry, live, facts)
    _ok(result, say, Outcome(entry.api_name, entry.path, "adopt", True,
                             "already created by an earlier run; adopted", live.id, existing))
    if redo is not None and redo.body:
        now = client.patch_connector(live.id, redo.body)
        _ok(result, say, Outcome(entry.api_name, entry.path, "update", True,
                                 f"updated {', '.join(sorted(redo.body))}", live.id, now))
    return live.id


def _converge(entry: ConnectorPlan, live: LiveConnector,
              facts: ExecutorFacts | None) -> ConnectorPlan | None:
    # The same facts as the plan's: on Kizen the live object id must read as its api_name.
    desired = Desired("adopt", {entry.path: entry.desired}, [])
    plan = make_plan(desired, [live], {}, in_use=lambda _c: True, facts=facts)
    found = plan.connectors[0] if plan.connectors else None
    return found if found is not None and found.action is Action.UPDATE else None


def _lookup(client: ExecutorClient, api_name: str) -> dict[str, Any] | None:
    try:
        return client.get_connector(api_name)
    except NotFound:
        return None


def _prune(connector_id: str, api_name: str, client: ExecutorClient, result: ApplyResult,
           say: Log, warn: Log) -> None:
    try:
        now = client.patch_connector(connector_id, patch_body({}, (), {"status": INACTIVE}))
    except ExecutorError as exc:
        if isinstance(exc, ExecutorUnreachable):
            result.aborted = str(exc)
        outcome = Outcome(api_name, None, "prune", False, str(exc), connector_id)
        result.outcomes.append(outcome)
        warn(f"  ! {api_name}: could not set Inactive: {exc}")
        return
    _ok(result, say, Outcome(api_name, None, "prune", True, "set Inactive (--prune)",
                             connector_id, now))


def _ok(result: ApplyResult, say: Log, outcome: Outcome) -> None:
    result.outcomes.append(outcome)
    say(f"  {outcome.api_name}: {outcome.detail}")


def _failed(entry: ConnectorPlan, exc: ExecutorError, result: ApplyResult, say: Log) -> None:
    action = "create" if entry.action is Action.CREATE else "update"
    result.outcomes.append(Outcome(entry.api_name, entry.path, action, False, str(exc),
                                   entry.connector_id))
    result.findings.append(rules.APPLY_FAILED.finding(
        entry.path, f"{action} of '{entry.api_name}' failed: {exc}"))
    say(f"  ! {entry.api_name}: {action} failed: {exc}")
