"""Markdown for a pull-request comment: a summary line, then a section per changed connector.

The first line is a hidden marker so a workflow can find its own comment and
edit it instead of adding one per push; sections and rows come in a stable
order, so a re-run over the same change renders the same text.  User values
go into code spans or are escaped, so a manifest cannot inject markup or
@-mention anyone, and the whole comment stays under GitHub's size limit.
"""

from __future__ import annotations

import html
import re
from typing import Any

from scsync.findings import Severity
from scsync.report.base import Report, Reporter, register
from scsync.report.changes import (
    MARK,
    ConnectorData,
    changes_of,
    how_text,
    names,
    paths,
    review_of,
    value_text,
)
from scsync.report.machine import finding_dict

MARKER = "<!-- scsync-diff -->"
#: GitHub refuses comments over 65,536 characters; the whole comment stays under this
MAX_CHARS = 60_000
#: room the footer's lists (not reviewed, no setting changes) keep however long the sections
FOOTER_MIN = 4_000
#: room for the line that says how many sections were left out
_CUT_NOTE = 120
_BACKTICKS = re.compile(r"`+")
_NEWLINES = re.compile(r"[\r\n]+")
ICON = {"error": ":x:", "warning": ":warning:", "notice": ":information_source:", None: ""}


def escape(text: str) -> str:
    """Text that renders as written: no HTML, no @-mention, no link, no table cell break."""
    # an empty comment after @ keeps GitHub from turning a value into a mention;
    # escaped brackets cannot open a link or an image ([x](y), ![x](y))
    text = html.escape(text, quote=False).replace("@", "@<!-- -->")
    return text.replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


def code(text: str, *, in_table: bool = True) -> str:
    """`text` as one inline code span, whatever backticks it holds (CommonMark's rules).

    The fence is one backtick longer than the longest run inside, so no run can
    close it; a space pads text that starts or ends with a backtick (or with
    spaces at both ends, which CommonMark would strip).  In a table cell `|`
    still splits the row inside a code span, so it is escaped there.
    """
    text = _NEWLINES.sub(" ", text)  # a newline would end the heading or the table row
    fence = "`" * (max(map(len, _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text[:1] == "`" or text[-1:] == "`" or (
        text[:1] == text[-1:] == " " and text.strip(" ")) else ""
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(value: Any) -> str:
    return "_unset_" if value is None else code(value_text(value))


def _severity(severity: str | None, rules: list[str]) -> str:
    if severity is None:
        return ""
    return f"{ICON[severity]} {severity} {', '.join(rules)}".strip()


@register
class MarkdownReporter(Reporter):
    name = "markdown"
    description = "Markdown for a pull-request comment, with a marker to find and edit it"

    def render(self, report: Report) -> str:
        lines = [MARKER, f"### scsync {report.command}", self._summary(report), ""]
        changes = changes_of(report)
        if report.command == "diff" or changes:
            body = [_section(c) for c in changes]
        else:  # a report without changes (validate): its findings by file
            by_file: dict[str, list[dict[str, Any]]] = {}
            for f in report.findings:
                by_file.setdefault(f.path, []).append(finding_dict(f))
            body = [[f"#### {code(path, in_table=False)}", *_bullets(fs), ""]
                    for path, fs in by_file.items()]
        # The whole comment shares one budget.  Sections (the findings) come first;
        # the footer's lists get what they leave, but never less than FOOTER_MIN.
        used = _size(lines) + _CUT_NOTE
        wanted = sum(_size(section) for section in body)
        footer = _footer(report, max(FOOTER_MIN, MAX_CHARS - used - wanted))
        used += _size(footer)
        for n, section in enumerate(body):
            size = _size(section)
            if used + size > MAX_CHARS:
                lines.append(f"_… and {len(body) - n} more; the full report is in the job log "
                             "(`scsync diff --format text`)._")
                break
            lines.extend(section)
            used += size
        lines.extend(footer)
        return "\n".join(lines).rstrip("\n") + "\n"

    def _summary(self, report: Report) -> str:
        counts = [f"{report.count(s)} {s.value}{'s' if report.count(s) != 1 else ''}"
                  for s in Severity if report.count(s)]
        verdict = ":white_check_mark: **passed**" if report.passed else ":x: **failed**"
        review = review_of(report)
        if review is None:
            scope = f"{len(report.files)} file{'s' if len(report.files) != 1 else ''} checked"
        else:
            n = len(changes_of(report))
            scope = (f"{n} changed connector{'s' if n != 1 else ''} in "
                     f"{code(review['range'], in_table=False)} "
                     f"({code(review['base']['commit'][:12])} → "
                     f"{code(review['head']['commit'][:12])})")
        return f"{verdict}: {', '.join(counts) or 'no findings'}; {scope}"


def _section(c: ConnectorData) -> list[str]:
    icon = ICON[c["severity"]]
    title = " → ".join(code(n, in_table=False) for n in names(c))
    lines = [f"#### {icon + ' ' if icon else ''}{title} ({how_text(c)})",
             " → ".join(code(p, in_table=False) for p in paths(c)), ""]
    if c["rows"]:
        lines += ["| | setting | before | after | severity |", "|---|---|---|---|---|"]
        lines += [
            f"| {MARK[r['operation']]} | {code(r['field'])} | {_cell(r['before'])} | "
            f"{_cell(r['after'])} | {_severity(r['severity'], r['rules'])} |"
            for r in c["rows"]
        ]
        lines.append("")
    lines += [*_bullets(c["findings"]), ""]
    return lines


def _bullets(findings: list[dict[str, Any]]) -> list[str]:
    out = []
    for f in findings:
        where = f" line {f['line']}" if f["line"] else ""
        out.append(f"- {ICON[f['severity']]} **{f['severity']} {f['rule']}**{where}: "
                   f"{escape(f['message'])}")
        if f["hint"]:
            out.append(f"  <br>hint: {escape(f['hint'])}")
    return out


def _size(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _footer(report: Report, budget: int) -> list[str]:
    """The lists of files not reviewed or without setting changes, within `budget` characters."""
    review = review_of(report)
    if not review:
        return []
    lists = []
    if review["unchanged"]:
        lists.append(("No setting changes (comments or formatting only): ",
                      [code(p, in_table=False) for p in review["unchanged"]]))
    if review["ignored"]:
        lists.append(("Not reviewed: ", [f"{code(i['path'], in_table=False)} "
                                         f"({escape(i['reason'])})"
                                         for i in review["ignored"]]))
    wrap = len("\n<sub></sub>\n")
    notes: list[str] = []
    for n, (prefix, items) in enumerate(lists):
        share = (budget - _size(notes)) // (len(lists) - n)  # what an earlier list left over
        notes.append(f"<sub>{_listing(prefix, items, share - wrap)}</sub>")
    return [line for note in notes for line in ("", note)]


def _listing(prefix: str, items: list[str], budget: int) -> str:
    """`prefix` and as many `items` as fit in `budget` characters, then how many are left."""
    text = prefix
    for n, item in enumerate(items):
        left = len(items) - n - 1
        candidate = f"{text}{', ' if n else ''}{item}"
        if len(candidate) + (len(f", … and {left} more") if left else 0) > budget:
            return f"{text}{', ' if n else ''}… and {len(items) - n} more"
        text = candidate
    return text
