"""The review data a `Report` carries in ``review``, and helpers to render it.

`scsync diff` fills `Report.review`: the revisions compared, and ``changes``
(one entry per changed connector, each with a row per changed setting).  They
are plain JSON values, so the json reporter emits them as they are, under the
one key ``review``; the text and markdown reporters read them through these types.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

from scsync.report.base import Report

#: how each operation is marked in text and markdown (after `terraform plan`)
MARK = {"add": "+", "change": "~", "remove": "-"}


class RevisionData(TypedDict):
    rev: str
    commit: str


class SideData(TypedDict):
    path: str
    api_name: str | None


class RowData(TypedDict):
    field: str  # dotted: job.env.SOURCE
    pointer: str
    operation: str  # add | change | remove
    before: Any
    after: Any
    severity: str | None  # the worst finding on this field, None when nothing is said
    rules: list[str]


class ConnectorData(TypedDict):
    connector: str  # api_name at the head (at the base when deleted), else the path
    change: str  # added | deleted | changed | renamed | unreadable
    paired_by: str  # path | rename | api_name | name | nothing
    breaking: bool  # the api_name changes
    severity: str | None  # the worst of its findings
    base: SideData | None
    head: SideData | None
    rows: list[RowData]
    findings: list[dict[str, Any]]


class IgnoredData(TypedDict):
    path: str
    reason: str


class ReviewData(TypedDict):
    range: str
    base: RevisionData
    head: RevisionData
    merge_base: bool
    ignored: list[IgnoredData]
    unchanged: list[str]  # manifests edited without a setting change (comments, formatting)
    unused_allowances: list[str]
    changes: list[ConnectorData]  # one per changed connector, by path


def review_of(report: Report) -> ReviewData | None:
    return report.review


def changes_of(report: Report) -> list[ConnectorData]:
    return report.review["changes"] if report.review else []


def value_text(value: Any, limit: int = 80) -> str:
    """A setting's value on one line: strings bare, the rest as JSON, long ones cut."""
    if value is None:
        return "(unset)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def paths(c: ConnectorData) -> tuple[str, ...]:
    """The manifest's path, or its old and new paths when it moved."""
    base, head = c["base"], c["head"]
    if base and head and base["path"] != head["path"]:
        return base["path"], head["path"]
    side = head or base
    return (side["path"],) if side else ()


def names(c: ConnectorData) -> tuple[str, ...]:
    """The connector's api_name, or its old and new ones, as written, when they differ.

    The sides hold only valid (string) api_names; the api_name row holds what
    each manifest says, so a removed or non-string one shows as such, not as None.
    """
    row = next((r for r in c["rows"] if r["field"] == "api_name"), None)
    if c["base"] and c["head"] and row is not None:
        return api_name_text(row["before"]), api_name_text(row["after"])
    return (c["connector"],)


def api_name_text(value: Any) -> str:
    """An api_name as a manifest writes it: the name, a JSON value, or `(no api_name)`."""
    return "(no api_name)" if value is None else value_text(value)


def how_text(c: ConnectorData) -> str:
    """What happened to the connector, for a reader: `renamed`, `added`, `changed, breaking`."""
    how = {
        "rename": "renamed",
        "api_name": "moved (same api_name)",
        "name": "deleted and re-added with the same name",
    }.get(c["paired_by"], c["change"])
    return f"{how}, breaking" if c["breaking"] else how
