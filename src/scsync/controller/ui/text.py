"""Values as the pages write them: times, durations, settings, commits, table cells.

A cell is a small dict, `{"text": ..., "href": ..., "state": ..., "mark": ...}`:
the templates render it and the live endpoint sends it as JSON, so a value is
written once for both.  Text only: escaping is the template's (autoescape) and
the script's (`textContent`) business, never this module's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from scsync.controller.runs import counts_text

Cell = dict[str, Any]
NONE = "—"


def cell(text: Any, *, href: str | None = None, state: str | None = None,
         mark: bool = False, title: str | None = None, empty: str = NONE) -> Cell:
    """`empty` stands for no value: a dash in a table, nothing for a message."""
    out: Cell = {"text": empty if text is None or text == "" else str(text)}
    if href is not None:
        out["href"] = href
    if state is not None:
        out["state"] = state
    if mark:
        out["mark"] = True
    if title:
        out["title"] = title
    return out


def connector_href(api_name: str) -> str:
    return "/connectors/" + quote(api_name, safe="")


def report_href(file_id: str) -> str:
    return "/reports/" + quote(file_id, safe="")


def moment(value: str | float | None) -> datetime | None:
    """An API timestamp (ISO 8601) or seconds since the epoch, as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def when(value: str | float | None) -> str:
    at = moment(value)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else NONE


def seconds(value: float | None) -> str:
    if value is None:
        return NONE
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60} min"


def duration(start: str | None, end: str | None) -> str:
    began, ended = moment(start), moment(end)
    if began is None or ended is None:
        return NONE
    return seconds(max(0.0, (ended - began).total_seconds()))


def short(sha: str | None) -> str:
    return sha[:12] if sha else NONE


def value_text(value: Any) -> str:
    """A setting's value: strings as they are, the rest as JSON (job, env, booleans)."""
    if value is None:
        return "(not set)"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def record_counts(counts: dict[str, Any] | None) -> str:
    return counts_text(counts) or NONE
