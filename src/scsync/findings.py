"""Problems as values: every check yields `Finding`s, never raises."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTICE: 2}


class Span(NamedTuple):
    """Where something is: its 1-based start, and the position just after its end.

    The end counts as ``Finding.end_line``/``end_column`` do (0 when unknown).  A
    named tuple, not a dataclass: every located finding makes one.
    """

    line: int = 1
    column: int = 1
    end_line: int = 0
    end_column: int = 0


#: A whole-file finding's place: the start of the file, no extent.
FILE_START = Span()


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place.

    ``line`` and ``column`` are 1-based and never below 1: a finding about the
    whole file (too large, empty, unreadable) is placed at 1:1, so every format
    can point at it.  ``end_line``/``end_column`` close the extent of the node
    concerned: the 1-based position just after its last character, as SARIF's
    ``endColumn`` counts (YAML's end mark, plus one); 0 when only the start is
    known.  ``pointer`` is the RFC 6901 JSON pointer of the value
    concerned, "" for the document itself.
    """

    rule: str
    severity: Severity
    path: str
    line: int
    column: int
    pointer: str
    message: str
    hint: str | None = None
    end_line: int = 0
    end_column: int = 0

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)

    def placed(self, span: Span) -> Finding:
        """This finding at `span` (start and extent), everything else the same."""
        # The constructor, not dataclasses.replace: this runs for every finding.
        return Finding(self.rule, self.severity, self.path, span.line, span.column,
                       self.pointer, self.message, self.hint, span.end_line, span.end_column)

    @property
    def span(self) -> Span:
        return Span(self.line, self.column, self.end_line, self.end_column)

    def location(self) -> str:
        return f"{self.path}:{max(self.line, 1)}:{max(self.column, 1)}"


def json_pointer(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """RFC 6901 pointer for a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def worst(findings: list[Finding]) -> Severity | None:
    if not findings:
        return None
    return min((f.severity for f in findings), key=lambda s: s.rank)
