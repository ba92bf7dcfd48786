"""A plan as text (for a terminal), JSON (for machines) or markdown (for a PR comment).

All three read the same plan, so they cannot disagree; ordering is stable (by
path, then api_name) so a re-run rewrites a comment cleanly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from scsync import cadence
from scsync.controller.apply import ApplyResult
from scsync.controller.plan import Action, ConnectorPlan, Plan
from scsync.controller.schedule import ScheduleChange
from scsync.diff import DiffItem
from scsync.report.changes import value_text
from scsync.report.machine import finding_dict, header
from scsync.report.markdown import code, escape

MARK = {Action.CREATE: "+", Action.UPDATE: "~", Action.IN_SYNC: "=", Action.REFUSED: "!",
        Action.ERROR: "x"}
OP_MARK = {"add": "+", "change": "~", "remove": "-"}


def _item(i: DiffItem) -> dict[str, Any]:
    return {"field": i.dotted, "operation": i.operation.value, "live": i.old, "desired": i.new}


def _schedule(s: ScheduleChange | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"live": s.live, "desired": s.desired, "runs_per_day": s.runs_per_day,
            "next_run": cadence.iso(s.next_run) if s.next_run is not None else None}


def connector_data(c: ConnectorPlan) -> dict[str, Any]:
    return {
        "path": c.path, "api_name": c.api_name, "action": c.action.value,
        "connector_id": c.connector_id, "live_api_name": c.live_api_name,
        "matched_by": c.matched_by, "changes": [_item(i) for i in c.changes],
        "blocked": [_item(i) for i in c.blocked], "reason": c.reason or None,
        "findings": [finding_dict(f) for f in c.findings], "schedule": _schedule(c.schedule),
    }


def _schedule_words(s: ScheduleChange) -> str:
    """`every 5 minutes, 288 runs a day; next run 2026-12-01T22:35:00Z`."""
    when = f"next run {cadence.iso(s.next_run)}" if s.next_run is not None else \
        "Kizen decides the next run time"
    return f"{cadence.label(s.desired).lower()}, {cadence.per_day_words(s.desired)}; {when}"


def _about(c: ConnectorPlan, i: DiffItem) -> str:
    """What a changed setting means beyond its value: the schedule a cadence gives."""
    if c.schedule is not None and i.field == ("cadence",):
        return f" ({_schedule_words(c.schedule)})"
    return ""


def plan_data(plan: Plan) -> dict[str, Any]:
    return {
        "source": plan.source, "executor": plan.executor,
        "executor_kind": plan.executor_kind, "valid": plan.valid,
        "summary": plan.summary(), "has_changes": plan.has_changes,
        "findings": [finding_dict(f) for f in plan.desired.findings],
        "connectors": [connector_data(c) for c in sorted(plan.connectors,
                                                         key=lambda c: c.path)],
        "unmanaged": [{"connector_id": u.connector_id, "api_name": u.api_name, "name": u.name,
                       "status": u.status, "prune": u.prune, "was_managed_by": u.was_managed_by}
                      for u in plan.unmanaged],
    }


def apply_data(result: ApplyResult) -> dict[str, Any]:
    return {
        "summary": result.summary(), "aborted": result.aborted,
        "outcomes": [{"api_name": o.api_name, "path": o.path, "action": o.action,
                      "ok": o.ok, "detail": o.detail, "connector_id": o.connector_id}
                     for o in result.outcomes],
    }


def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def render_text(plan: Plan, result: ApplyResult | None = None, *, verbose: bool = False) -> str:
    kind = f" ({plan.executor_kind})" if plan.executor_kind else ""
    lines = [f"Plan: {plan.desired.source[:12]} against {plan.executor}{kind}"]
    for f in plan.desired.findings:
        lines.append(f"{f.location()}: {f.severity.value} {f.rule}: {f.message}")
    in_sync = 0
    for c in sorted(plan.connectors, key=lambda c: c.path):
        if c.action is Action.IN_SYNC and not c.findings and not c.blocked and not verbose:
            in_sync += 1
            continue
        rename = f" (was {c.live_api_name})" if c.live_api_name not in (None, c.api_name) else ""
        lines.append(f"{MARK[c.action]} {c.action.value:8} {c.api_name}{rename}  [{c.path}]")
        for i in c.changes:
            old = "" if i.old is None else f"{_value(i.old)} -> "
            new = "(cleared)" if i.new is None else _value(i.new)
            lines.append(f"      {OP_MARK[i.operation.value]} {i.dotted}: {old}{new}"
                         f"{_about(c, i)}")
        for i in c.blocked:
            lines.append(f"      ! {i.dotted}: {_value(i.old)} stays (cannot become "
                         f"{_value(i.new)})")
        for f in c.findings:
            lines.append(f"      {f.severity.value} {f.rule}: {f.message}")
    if in_sync:
        lines.append(f"= {in_sync} connector(s) in sync")
    for u in plan.unmanaged:
        what = "set Inactive (--prune)" if u.prune else "left as it is"
        was = f", no longer in {u.was_managed_by}" if u.was_managed_by else ""
        lines.append(f"? unmanaged {u.api_name} ({u.status}{was}): {what}")
    lines.append(f"Plan: {plan.summary()}.")
    if result is not None:
        for o in result.failed:
            lines.append(f"failed: {o.api_name}: {o.detail}")
        lines.append(f"Apply: {result.summary()}.")
    return "\n".join(lines) + "\n"


def _cell(v: Any) -> str:
    return "_unset_" if v is None else code(value_text(v))


def render_markdown(plan: Plan, result: ApplyResult | None = None) -> str:
    lines = [f"### scsync plan: {plan.summary()}", "",
             f"Manifests at `{plan.desired.source[:12]}` against `{plan.executor}`.", ""]
    if plan.desired.findings:
        lines += ["| location | severity | rule | message |", "|---|---|---|---|"]
        lines += [f"| {code(f.location())} | {f.severity.value} | {f.rule} | "
                  f"{escape(f.message)} |"
                  for f in plan.desired.findings]
        lines.append("")
    for c in sorted(plan.connectors, key=lambda c: c.path):
        if c.action is Action.IN_SYNC and not c.findings and not c.blocked:
            continue
        lines += [f"#### {MARK[c.action]} {c.action.value}: `{c.api_name}`", "",
                  f"`{c.path}`" + (f" (live `{c.live_api_name}`)" if c.live_api_name else ""),
                  ""]
        if c.changes:
            lines += ["| setting | live | desired |", "|---|---|---|"]
            lines += [f"| `{i.dotted}` | {_cell(i.old)} | {_cell(i.new)}{escape(_about(c, i))} |"
                      for i in c.changes]
            lines.append("")
        lines += [f"- **{f.severity.value}** {f.rule}: {escape(f.message)}"
                  for f in c.findings]
        if c.findings:
            lines.append("")
    if plan.unmanaged:
        lines += ["#### Unmanaged live connectors", ""]
        lines += [f"- `{u.api_name}` ({u.status}): "
                  + ("set Inactive (--prune)" if u.prune else "left as it is")
                  for u in plan.unmanaged]
        lines.append("")
    if result is not None:
        lines.append(f"**Apply:** {result.summary()}.")
    return "\n".join(lines).rstrip() + "\n"


def render_json(plan: Plan, result: ApplyResult | None = None) -> str:
    """The plan under ``plan``; what apply did under ``apply`` (null when nothing was applied).

    The fields every scsync JSON document opens with come first
    (schemas/scsync-output.schema.json).
    """
    body = {**header(), "plan": plan_data(plan),
            "apply": None if result is None else apply_data(result)}
    return json.dumps(body, indent=2, sort_keys=False) + "\n"


RENDERERS: dict[str, Callable[[Plan, ApplyResult | None], str]] = {
    "text": render_text, "json": render_json, "markdown": render_markdown,
}
