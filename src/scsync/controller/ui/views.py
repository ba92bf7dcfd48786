"""Page data from the loop's state and the executor: one model per page, for HTML and JSON.

Every page model has `fields` (named cells) and `tables` (named lists of rows of
cells): the templates render them, and `/live/...` sends them as JSON for the
script to put in place, so a value is computed once for both.  Anything else
in a model (links, headings) is fixed for the page's URL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from scsync.client import ExecutorError
from scsync.controller.journal import ConnectorDetail
from scsync.controller.live import FIELDS, LiveConnector
from scsync.controller.loop import Reconciler
from scsync.controller.settings import ControllerSettings
from scsync.controller.ui import overview
from scsync.controller.ui.source import Activity, ExecutorReader
from scsync.controller.ui.text import (
    NONE,
    Cell,
    cell,
    duration,
    record_counts,
    report_href,
    seconds,
    short,
    value_text,
    when,
)
from scsync.diff import diff

Model = dict[str, Any]
EXECUTIONS_SHOWN = 50
INVALID_SHOWN = 10
EXECUTION_COLUMNS = (
    ("status", "Status"), ("trigger", "Trigger"), ("initiated_by", "Initiated by"),
    ("reason", "Queued for / reason"), ("started", "Started"), ("ended", "Ended"),
    ("duration", "Duration"), ("records", "Records"), ("report", "Report"),
)
SETTING_COLUMNS = (("setting", "Setting"), ("manifest", "Manifest"), ("live", "Live"))
FINDING_COLUMNS = (("rule", "Rule"), ("severity", "Severity"), ("message", "Message"),
                   ("hint", "Hint"))
PASS_COLUMNS = (("number", "Pass"), ("started", "Started"), ("duration", "Duration"),
                ("commit", "Commit"), ("outcome", "Outcome"), ("applied", "Applied"),
                ("refused", "Refused"), ("failed", "Failed"))


@dataclass(frozen=True, slots=True)
class Context:
    reconciler: Reconciler
    settings: ControllerSettings
    reader: ExecutorReader


def common(ctx: Context) -> dict[str, Cell]:
    """What every page shows in its header: commits and when each side last answered."""
    snap, reader = ctx.reconciler.snapshot, ctx.reader
    heard = max(filter(None, (reader.heard_at, snap.live.read_at)), default=None)
    fields = {
        "heard-controller": cell(when(time.time())),
        "heard-executor": cell(when(heard)),
        "executor-error": cell(reader.error, empty=""),
        "last-pass": cell(when(snap.last_pass_at)),
        "last-error": cell(snap.last_error, empty="",
                           state="Error" if snap.last_error else None),
    }
    for key, sha in (("seen", snap.last_seen_commit), ("applied", snap.last_applied_commit)):
        info = snap.commits.get(sha) if sha else None
        fields[f"{key}-sha"] = cell(short(sha), title=sha)
        fields[f"{key}-subject"] = cell(info.subject if info else None)
        fields[f"{key}-author"] = cell(info.author if info else None)
        fields[f"{key}-time"] = cell(when(info.time) if info else None)
    invalid = snap.invalid_commit or {}
    fields["invalid-sha"] = cell(short(invalid.get("commit")) if invalid else None, empty="")
    return fields


def overview_page(ctx: Context, *, state: str | None, query: str, page: int) -> Model:
    snap = ctx.reconciler.snapshot
    chosen = overview.select(overview.rows_of(snap), state=state, query=query, page=page)
    refs = [r.connector_id for r in chosen.rows if r.connector_id]
    activity = ctx.reader.activity(refs)
    live = snap.live.connectors
    rows = [overview.cells(r, live.get(r.connector_id) if r.connector_id else None,
                           activity.get(r.connector_id) if r.connector_id else
                           Activity(0, 0, None))
            for r in chosen.rows]
    fields = common(ctx)
    fields.update({f"count-{s}": cell(chosen.counts.get(s, 0)) for s in overview.STATES})
    fields["shown"] = cell(_shown(chosen))
    errors = (snap.invalid_commit or {}).get("errors") or []
    return {"fields": fields, "selection": chosen, "states": overview.STATES,
            "columns": overview.COLUMNS,
            "tables": {"connectors": rows,
                       "invalid": [{"error": cell(e)} for e in errors[:INVALID_SHOWN]]},
            "invalid_more": max(0, len(errors) - INVALID_SHOWN)}


def _shown(chosen: overview.Selection) -> str:
    if not chosen.total:
        return "no connector matches"
    first = (chosen.page - 1) * overview.PAGE_SIZE + 1
    return f"{first}-{first + len(chosen.rows) - 1} of {chosen.total}"


def connector_page(ctx: Context, api_name: str) -> Model | None:
    snap = ctx.reconciler.snapshot
    detail = snap.details.get(api_name) or _by_live_name(ctx, api_name)
    unmanaged = next((u for u in snap.unmanaged if u["api_name"] == api_name), None)
    if detail is None and unmanaged is None:
        return None
    connector_id = detail.connector_id if detail else unmanaged["connector_id"] \
        if unmanaged else None
    raw, executions, live_note = _live(ctx, connector_id)
    desired = dict(detail.settings) if detail else {}
    fields = common(ctx)
    fields.update({
        "sync": cell(detail.sync if detail else overview.UNMANAGED,
                     state=detail.sync if detail else overview.UNMANAGED),
        "reason": cell(detail.reason if detail else "no manifest manages it"),
        "live-note": cell(live_note, empty=""),
    })
    return {
        "api_name": detail.api_name if detail else api_name, "detail": detail,
        "live_api_name": raw.get("api_name") if raw else None, "connector_id": connector_id,
        "commit": _commit(ctx, detail), "fields": fields,
        "columns": {"settings": SETTING_COLUMNS, "findings": FINDING_COLUMNS,
                    "executions": EXECUTION_COLUMNS},
        "tables": {"settings": _settings(desired, raw, snap.live.object_names, bool(detail)),
                   "findings": _findings(detail),
                   "executions": [_execution(e) for e in executions]},
    }


def _by_live_name(ctx: Context, api_name: str) -> ConnectorDetail | None:
    """A managed connector whose manifest renames it (refused, or not applied yet) is
    still found by the api_name it has on the executor."""
    snap = ctx.reconciler.snapshot
    live = snap.live.connectors
    return next((d for d in snap.details.values() if d.connector_id and
                 (live.get(d.connector_id) or {}).get("api_name") == api_name), None)


def _live(ctx: Context, connector_id: str | None,
          ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str]:
    if connector_id is None:
        return None, [], "not on the executor yet"
    try:
        raw = ctx.reader.connector(connector_id)
        executions = ctx.reader.executions(connector_id, EXECUTIONS_SHOWN) if raw else []
    except ExecutorError as exc:
        kept = ctx.reconciler.snapshot.live.connectors.get(connector_id)
        return (dict(kept) if kept else None), [], \
            f"the executor did not answer ({exc}); live values as of the last pass"
    return raw, executions, "" if raw else "gone from the executor"


def _commit(ctx: Context, detail: ConnectorDetail | None) -> dict[str, str] | None:
    if detail is None:
        return None
    info = ctx.reconciler.snapshot.commits.get(detail.commit)
    return {"sha": detail.commit, "short": short(detail.commit),
            "subject": info.subject if info else "", "author": info.author if info else "",
            "time": when(info.time) if info else NONE}


def _settings(desired: dict[str, Any], raw: dict[str, Any] | None,
              object_names: Any, managed: bool) -> list[dict[str, Cell]]:
    live = LiveConnector.from_api(raw).comparable(desired, object_names) \
        if raw and "id" in raw else None
    differs = {item.field[0] for item in diff(live, desired)} if live and managed else set()
    rows = []
    for key in FIELDS:
        mark = key in differs
        rows.append({
            "setting": cell(key, mark=mark, title="differs" if mark else None),
            "manifest": cell(value_text(desired.get(key)) if managed else "(no manifest)",
                             mark=mark),
            "live": cell(value_text(live.get(key)) if live is not None
                         else "(no live connector)", mark=mark),
        })
    return rows


def _findings(detail: ConnectorDetail | None) -> list[dict[str, Cell]]:
    return [{"rule": cell(f.rule), "severity": cell(f.severity.value, state=f.severity.value),
             "message": cell(f.message), "hint": cell(f.hint, empty="")}
            for f in (detail.findings if detail else ())]


def _execution(e: dict[str, Any]) -> dict[str, Cell]:
    file_id = e.get("report_file_id")
    return {
        "status": cell(e.get("status"), state=e.get("status")),
        "trigger": cell(e.get("trigger_type")),
        "initiated_by": cell(e.get("initiated_by")),
        "reason": cell(e.get("reason")),
        "started": cell(when(e.get("started_at"))),
        "ended": cell(when(e.get("ended_at"))),
        "duration": cell(duration(e.get("started_at"), e.get("ended_at"))),
        "records": cell(record_counts(e.get("record_counts"))),
        "report": cell("report" if file_id else None,
                       href=report_href(str(file_id)) if file_id else None),
    }


def passes_page(ctx: Context) -> Model:
    snap = ctx.reconciler.snapshot
    rows = []
    for p in ctx.reconciler.passes.recent():
        info = snap.commits.get(p.commit) if p.commit else None
        rows.append({
            "number": cell(p.number), "started": cell(when(p.started_at)),
            "duration": cell(seconds(p.duration)),
            "commit": cell(short(p.commit), title=info.subject if info else p.commit),
            "outcome": cell("ok" if p.ok else f"failed: {p.error}",
                            state="Synced" if p.ok else "Error"),
            "applied": cell(", ".join(p.applied)), "refused": cell(", ".join(p.refused)),
            "failed": cell(", ".join(p.failed)),
        })
    return {"fields": common(ctx), "columns": {"passes": PASS_COLUMNS},
            "tables": {"passes": rows}}
