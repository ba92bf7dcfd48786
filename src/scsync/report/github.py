"""GitHub Actions workflow commands: annotations on the pull request's lines."""

from __future__ import annotations

from scsync.report.base import Report, Reporter, register
from scsync.rules import RULES


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


@register
class GithubReporter(Reporter):
    name = "github"
    description = "GitHub Actions annotations (chosen automatically under GitHub Actions)"

    def render(self, report: Report) -> str:
        lines = []
        for f in report.findings:
            rule = RULES.get(f.rule)
            title = f"{f.rule} {rule.name}" if rule else f.rule
            props = [f"file={_escape_property(f.path)}", f"line={f.line}", f"col={f.column}"]
            props.append(f"title={_escape_property(title)}")
            message = f.message + (f"\nhint: {f.hint}" if f.hint else "")
            lines.append(f"::{f.severity.value} {','.join(props)}::{_escape_data(message)}")
        lines.append(report.summary())
        return "\n".join(lines) + "\n"
