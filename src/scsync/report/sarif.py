"""SARIF 2.1.0, for GitHub code scanning and other static-analysis dashboards."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from scsync import __version__
from scsync.findings import Severity
from scsync.report.base import Report, Reporter, register
from scsync.rules import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "note"}


def _uri(path: str) -> str:
    # artifactLocation.uri must be a URI reference: a space or `<stdin>` is percent-encoded;
    # relative paths stay relative to the repository root, absolute ones become file URIs.
    pure = PurePath(path)
    if pure.is_absolute():
        return pure.as_uri()
    return quote(pure.as_posix().removeprefix("./"), safe="/")


@register
class SarifReporter(Reporter):
    name = "sarif"
    description = "SARIF 2.1.0 (code scanning), one rule per rule id"

    def render(self, report: Report) -> str:
        rule_ids = sorted(RULES)
        index = {rid: i for i, rid in enumerate(rule_ids)}
        rules = [
            {
                "id": rid,
                "name": RULES[rid].name,
                "shortDescription": {"text": RULES[rid].summary},
                "fullDescription": {"text": RULES[rid].summary},
                "help": {"text": RULES[rid].help},
                "defaultConfiguration": {"level": _LEVEL[RULES[rid].severity]},
            }
            for rid in rule_ids
        ]
        results: list[dict[str, Any]] = []
        for f in report.findings:
            location: dict[str, Any] = {"artifactLocation": {"uri": _uri(f.path)}}
            if f.line > 0:
                location["region"] = {"startLine": f.line, "startColumn": max(f.column, 1)}
            result: dict[str, Any] = {
                "ruleId": f.rule,
                "level": _LEVEL[f.severity],
                "message": {"text": f.message + (f" (hint: {f.hint})" if f.hint else "")},
                "locations": [{"physicalLocation": location}],
            }
            if f.rule in index:
                result["ruleIndex"] = index[f.rule]
            if f.pointer:
                result["properties"] = {"jsonPointer": f.pointer}
            results.append(result)
        log = {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "scsync",
                            "version": __version__,
                            "rules": rules,
                        }
                    },
                    # Columns count code points (Python's str), not SARIF's default
                    # UTF-16 code units: say so, or an emoji shifts every column after it.
                    "columnKind": "unicodeCodePoints",
                    "results": results,
                }
            ],
        }
        return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
