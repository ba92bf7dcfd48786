"""A pass's plan and writes as each connector's sync state: what /status, the metrics
and the web UI show.

Pure: the loop hands over the plan and what apply did, and publishes what comes
back.  One connector is Synced, OutOfSync, Refused or Error, with a reason a
person can act on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scsync.controller import rules
from scsync.controller.apply import ApplyResult
from scsync.controller.journal import ConnectorDetail, LiveView
from scsync.controller.plan import Action, ConnectorPlan, Plan
from scsync.findings import Severity

SYNCED, OUT_OF_SYNC, REFUSED, ERROR = "Synced", "OutOfSync", "Refused", "Error"
SYNC_STATES = (SYNCED, OUT_OF_SYNC, REFUSED, ERROR)


@dataclass(frozen=True, slots=True)
class SyncView:
    """What a pass publishes of its connectors."""

    rows: tuple[dict[str, Any], ...]
    """/status's `connectors`: path, api_name, connector_id, sync, reason."""
    unmanaged: tuple[dict[str, Any], ...]
    details: Mapping[str, ConnectorDetail]
    live: LiveView


def sync_view(plan: Plan, result: ApplyResult, left: frozenset[str] = frozenset(), *,
              applying: bool = False) -> SyncView:
    """`left`: paths whose drift --drift warn leaves; `applying`: the writes are under way."""
    failed = {o.path: o.detail for o in result.failed}
    made = {o.path: o.connector_id for o in result.outcomes if o.ok and o.connector_id}
    rows, details = [], {}
    for entry in sorted(plan.connectors, key=lambda c: c.path):
        sync, reason = _state(entry, failed, left, aborted=bool(result.aborted),
                              applying=applying)
        # Warnings (an unused rename applied, a rename seen without state) belong
        # with the row: /status is where an operator looks.
        notes = [f.message for f in entry.findings
                 if f.severity is Severity.WARNING and f.message not in reason]
        reason = "; ".join(filter(None, (reason, *notes)))
        connector_id = entry.connector_id or made.get(entry.path)  # created just now
        rows.append({"path": entry.path, "api_name": entry.api_name,
                     "connector_id": connector_id, "sync": sync, "reason": reason})
        details[entry.api_name] = ConnectorDetail(
            entry.path, entry.api_name, entry.desired.name, sync, reason, plan.source,
            connector_id, entry.desired.settings(), tuple(entry.findings))
    unmanaged = tuple({"api_name": u.api_name, "connector_id": u.connector_id,
                       "status": u.status, "pruned": u.prune} for u in plan.unmanaged)
    facts = plan.facts
    known = {c.id: c.raw for c in plan.live}  # read before the writes, which answer anew
    known.update((o.connector_id, o.live) for o in result.outcomes
                 if o.ok and o.connector_id and o.live is not None)
    live = LiveView(known, time.time(), facts.object_names if facts else {},
                    plan.executor_kind)
    return SyncView(tuple(rows), unmanaged, details, live)


def _state(entry: ConnectorPlan, failed: Mapping[str | None, str], left: frozenset[str], *,
           aborted: bool, applying: bool) -> tuple[str, str]:
    if entry.action is Action.REFUSED:
        return REFUSED, entry.reason
    if entry.action is Action.ERROR:
        return ERROR, entry.reason
    if entry.path in failed:
        return ERROR, failed[entry.path]
    if entry.writes and (entry.path in left or aborted or applying):
        fields = ", ".join(i.dotted for i in entry.changes)
        return OUT_OF_SYNC, (f"live differs in {fields} (--drift warn leaves it)"
                             if entry.path in left else f"applying: {fields}" if applying
                             else f"not applied: {fields}")
    if entry.blocked:
        return OUT_OF_SYNC, "; ".join(f.message for f in entry.findings
                                      if f.rule == rules.SETUP_ON_EXISTING.id)
    if entry.writes:
        return SYNCED, "applied: " + ", ".join(i.dotted for i in entry.changes)
    return SYNCED, ""
