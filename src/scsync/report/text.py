"""`path:line:col: error[SC001] message`, a hint line, then a summary.

A review (`scsync diff`) first lists each changed connector and its changed
settings, `terraform plan` style, each with the severity of what it causes.
"""

from __future__ import annotations

from scsync.report.base import Report, Reporter, register
from scsync.report.changes import MARK, changes_of, how_text, names, paths, review_of, value_text


@register
class TextReporter(Reporter):
    name = "text"
    description = "one line per finding, as compilers print them (the default)"

    def render(self, report: Report) -> str:
        lines = _changes(report)
        for f in report.findings:
            lines.append(f"{f.location()}: {f.severity.value}[{f.rule}] {f.message}")
            if f.hint:
                lines.append(f"    hint: {f.hint}")
        lines.append(report.summary())
        return "\n".join(lines) + "\n"


def _changes(report: Report) -> list[str]:
    review = review_of(report)
    if review is None:
        return []
    changes = changes_of(report)
    lines = [f"scsync diff {review['range']} ({review['base']['commit'][:12]} → "
             f"{review['head']['commit'][:12]}): {len(changes)} changed connector"
             + ("" if len(changes) == 1 else "s")]
    for c in changes:
        mark = {"added": "+", "deleted": "-"}.get(c["change"], "~")
        lines.append(f"{mark} {' → '.join(names(c))} ({how_text(c)}): {' → '.join(paths(c))}")
        for row in c["rows"]:
            said = f"  [{row['severity']} {', '.join(row['rules'])}]" if row["severity"] else ""
            values = value_text(row["after"])
            if row["operation"] != "add":
                values = value_text(row["before"]) + (
                    f" → {values}" if row["operation"] == "change" else "")
            lines.append(f"    {MARK[row['operation']]} {row['field']}: {values}{said}")
    lines += [f"= {path}: no setting changes (comments or formatting)"
              for path in review["unchanged"]]
    lines += [f"not reviewed: {i['path']} ({i['reason']})" for i in review["ignored"]]
    return [*lines, ""]
