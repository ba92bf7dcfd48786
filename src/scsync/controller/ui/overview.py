"""The overview's table: every connector the last pass saw, filtered, searched, paged.

Rows come from the loop's snapshot (what the pass planned, managed or not), so
sync states and counts are the pass's; the executor adds, for the rows on the
page only, what changes between passes: executions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scsync.controller.live import LiveConnector
from scsync.controller.loop import Snapshot
from scsync.controller.sync import ERROR, OUT_OF_SYNC, REFUSED, SYNCED
from scsync.controller.ui.source import Activity
from scsync.controller.ui.text import NONE, Cell, cell, connector_href, when

UNMANAGED = "Unmanaged"
STATES = (SYNCED, OUT_OF_SYNC, REFUSED, ERROR, UNMANAGED)
PAGE_SIZE = 200
COLUMNS = (
    ("api_name", "API name"), ("name", "Name"), ("manifest_status", "Manifest status"),
    ("live_status", "Live status"), ("max", "Max concurrent"), ("sync", "Sync state"),
    ("reason", "Why"), ("running", "Running"), ("queued", "Queued"),
    ("last", "Last execution"), ("last_at", "Last started"), ("next_run", "Next scheduled run"),
)


@dataclass(frozen=True, slots=True)
class Row:
    api_name: str
    name: str
    sync: str
    reason: str = ""
    connector_id: str | None = None
    manifest_status: str | None = None
    manifest_max: int | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    rows: list[Row]
    """The rows of this page."""
    total: int
    """Rows matching the filter and the search, on every page."""
    page: int
    pages: int
    counts: dict[str, int]
    """Rows per sync state, before filter and search."""
    state: str | None
    query: str


def rows_of(snapshot: Snapshot) -> list[Row]:
    """Managed connectors as planned, then the live ones no manifest manages; by api_name."""
    rows = [Row(d.api_name, d.name, d.sync, d.reason, d.connector_id,
                d.settings.get("status"), d.settings.get("max_concurrent_executions"))
            for d in snapshot.details.values()]
    live = snapshot.live.connectors
    for item in snapshot.unmanaged:
        raw = live.get(item["connector_id"]) or {}
        reason = "no manifest manages it" + ("; set Inactive (--prune)" if item["pruned"]
                                              else "")
        rows.append(Row(item["api_name"], str(raw.get("name") or ""), UNMANAGED, reason,
                        item["connector_id"]))
    rows.sort(key=lambda r: (r.api_name, r.sync != UNMANAGED))
    return rows


def select(rows: Sequence[Row], *, state: str | None = None, query: str = "",
           page: int = 1, size: int = PAGE_SIZE) -> Selection:
    """`state` one of STATES (anything else: all); `query` in api_name or name, any case."""
    counts = dict.fromkeys(STATES, 0)
    for row in rows:
        counts[row.sync] = counts.get(row.sync, 0) + 1
    state = state if state in STATES else None
    needle = query.strip().casefold()
    matching = [r for r in rows if (state is None or r.sync == state) and (
        not needle or needle in r.api_name.casefold() or needle in r.name.casefold())]
    pages = max(1, -(-len(matching) // size))
    page = min(max(1, page), pages)
    start = (page - 1) * size
    return Selection(matching[start:start + size], len(matching), page, pages, counts,
                     state, query.strip())


def cells(row: Row, raw: Mapping[str, Any] | None, activity: Activity | None) -> dict[str, Cell]:
    """One table row: the pass's plan, the pass's live record, the executor's executions now."""
    live = LiveConnector.from_api(raw) if raw and "id" in raw else None
    live_status = live.manifest_status if live else None
    live_max = raw.get("max_concurrent_executions") if raw else None
    differs_status = row.manifest_status is not None and live_status is not None \
        and live_status != row.manifest_status
    differs_max = row.manifest_max is not None and live_max is not None \
        and live_max != row.manifest_max
    out = {
        "api_name": cell(row.api_name, href=connector_href(row.api_name)),
        "name": cell(row.name),
        "manifest_status": cell(row.manifest_status),
        "live_status": cell(live_status, mark=differs_status,
                            title="differs from the manifest" if differs_status else None),
        "max": cell(live_max if live_max is not None else row.manifest_max, mark=differs_max,
                    title=f"the manifest says {row.manifest_max}" if differs_max else None),
        "sync": cell(row.sync, state=row.sync),
        "reason": cell(row.reason),
        "next_run": cell(when(raw.get("next_run_at")) if raw and raw.get("next_run_at")
                         else None),
    }
    out.update(activity_cells(activity))
    return out


def activity_cells(activity: Activity | None) -> dict[str, Cell]:
    if activity is None:  # the executor did not answer: say so rather than show zeros
        unknown = cell("?", title="the executor did not answer")
        return {"running": unknown, "queued": unknown, "last": unknown, "last_at": unknown}
    last = activity.last or {}
    status = last.get("status")
    return {
        "running": cell(activity.running),
        "queued": cell(activity.queued),
        "last": cell(status, state=status),
        "last_at": cell(when(last.get("started_at") or last.get("created")) if last else NONE),
    }
