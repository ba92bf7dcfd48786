"""SARIF 2.1.0, as GitHub code scanning reads it ("SARIF support for code scanning").

Beyond the OASIS schema, code scanning wants: URIs relative to the repository
root (``%SRCROOT%``), regions in UTF-16 code units, a
``partialFingerprints.primaryLocationLineHash`` so a re-upload matches the
alerts it already has, and per rule a full description, help in text and
markdown, tags and a precision.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from scsync import __version__
from scsync.findings import Finding, Severity
from scsync.report.base import Report, Reporter, register
from scsync.report.sources import SRCROOT, Sources
from scsync.rules import PROJECT_URL, RULES, Rule

#: the `id` of the OASIS schema file (errata 01) the output is checked against
SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "note"}


def _descriptor(rule: Rule) -> dict[str, Any]:
    link = f"[{rule.id} {rule.name}]({rule.help_uri})"
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.description},
        "help": {
            "text": f"{rule.help}\n\nThe rule in scsync's documentation: {rule.help_uri}",
            "markdown": f"{rule.help}\n\nThe rule in scsync's documentation: {link}.",
        },
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": list(rule.all_tags), "precision": rule.precision},
    }


def line_hash(rule_id: str, uri: str, line: str | None) -> str:
    """What identifies a result across runs: its rule, its file and its line's text.

    Never the line number, so a line added above leaves the hash as it is; the
    caller appends `:n` for the n-th result with the same hash in the file.
    """
    content = "" if line is None else line.strip()
    digest = hashlib.sha256(f"{rule_id}\0{uri}\0{content}".encode()).hexdigest()
    return digest[:16]


def _result(f: Finding, sources: Sources, index: dict[str, int],
            seen: Counter[str]) -> dict[str, Any]:
    artifact = sources.artifact(f.path)
    key = line_hash(f.rule, artifact["uri"], sources.line(f.path, f.line))
    seen[key] += 1
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "level": _LEVEL[f.severity],
        "message": {"text": f.message + (f" (hint: {f.hint})" if f.hint else "")},
        "locations": [{"physicalLocation": {
            "artifactLocation": artifact, "region": sources.region(f)}}],
        "partialFingerprints": {"primaryLocationLineHash": f"{key}:{seen[key]}"},
    }
    if f.rule in index:
        result["ruleIndex"] = index[f.rule]
    if f.pointer:
        result["properties"] = {"jsonPointer": f.pointer}
    return result


@register
class SarifReporter(Reporter):
    name = "sarif"
    description = "SARIF 2.1.0 for GitHub code scanning, one rule per rule id"

    def render(self, report: Report) -> str:
        sources = report.sources or Sources.here()
        rule_ids = sorted(RULES)
        index = {rid: i for i, rid in enumerate(rule_ids)}
        seen: Counter[str] = Counter()
        run: dict[str, Any] = {
            "tool": {"driver": {
                "name": "scsync",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": PROJECT_URL,
                "rules": [_descriptor(RULES[rid]) for rid in rule_ids],
            }},
            "originalUriBaseIds": {SRCROOT: {
                "uri": sources.root_uri(),
                "description": {"text": "The repository root (git's top level, or the "
                                        "folder scsync ran in outside git)."},
            }},
            # GitHub counts columns in UTF-16 code units; scsync's findings count code
            # points, converted on the line's text (an emoji before a column shifts it).
            "columnKind": "utf16CodeUnits",
            "results": [_result(f, sources, index, seen) for f in report.findings],
        }
        log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
        return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
