"""JSON: the same data as the text format, for machines, per schemas/scsync-output.schema.json.

Every document starts with ``format_version``, which changes only when a
field is removed or changes meaning (adding one does not).  A command's own
data lives under its own key (``review`` for `scsync diff`, ``plan`` and
``apply`` for the plan commands), never mixed into the fields every command has.
"""

from __future__ import annotations

import json
from typing import Any

from scsync import __version__
from scsync.findings import Finding, Severity
from scsync.report.base import Report, Reporter, register
from scsync.rules import RULES

#: the JSON output's major version (docs/output.md says what it promises)
FORMAT_VERSION = 1


def header() -> dict[str, Any]:
    """The fields that open every JSON document scsync writes."""
    return {"format_version": FORMAT_VERSION, "tool": "scsync", "version": __version__}


def finding_dict(f: Finding) -> dict[str, Any]:
    rule = RULES.get(f.rule)
    return {
        "rule": f.rule,
        "name": rule.name if rule else None,
        "severity": f.severity.value,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        # just after the node's last character; null when only the start is known
        "end_line": f.end_line or None,
        "end_column": f.end_column or None,
        "pointer": f.pointer,
        "message": f.message,
        "hint": f.hint,
    }


@register
class JsonReporter(Reporter):
    name = "json"
    description = "one JSON document: summary and findings (schemas/scsync-output.schema.json)"

    def render(self, report: Report) -> str:
        body: dict[str, Any] = {
            **header(),
            "command": report.command,
            "passed": report.passed,
            "files_checked": len(report.files),
            "summary": {f"{s.value}s": report.count(s) for s in Severity},
            "findings": [finding_dict(f) for f in report.findings],
        }
        if report.review is not None:
            body["review"] = report.review
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
