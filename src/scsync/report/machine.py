"""JSON: the same data as the text format, for machines."""

from __future__ import annotations

import json
from typing import Any

from scsync import __version__
from scsync.findings import Finding, Severity
from scsync.report.base import Report, Reporter, register
from scsync.rules import RULES


def finding_dict(f: Finding) -> dict[str, Any]:
    rule = RULES.get(f.rule)
    return {
        "rule": f.rule,
        "name": rule.name if rule else None,
        "severity": f.severity.value,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "pointer": f.pointer,
        "message": f.message,
        "hint": f.hint,
    }


@register
class JsonReporter(Reporter):
    name = "json"
    description = "one JSON document: summary and findings"

    def render(self, report: Report) -> str:
        body: dict[str, Any] = {
            "tool": "scsync",
            "version": __version__,
            "command": report.command,
            "passed": report.passed,
            "files_checked": len(report.files),
            "summary": {f"{s.value}s": report.count(s) for s in Severity},
            "findings": [finding_dict(f) for f in report.findings],
        }
        body.update(report.extra)
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
