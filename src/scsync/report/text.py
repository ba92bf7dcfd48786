"""`path:line:col: error[SC001] message`, a hint line, then a summary."""

from __future__ import annotations

from scsync.report.base import Report, Reporter, register


@register
class TextReporter(Reporter):
    name = "text"
    description = "one line per finding, as compilers print them (the default)"

    def render(self, report: Report) -> str:
        lines = []
        for f in report.findings:
            lines.append(f"{f.location()}: {f.severity.value}[{f.rule}] {f.message}")
            if f.hint:
                lines.append(f"    hint: {f.hint}")
        lines.append(report.summary())
        return "\n".join(lines) + "\n"
