"""The reporter interface and its registry."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from scsync.findings import Finding, Severity

if TYPE_CHECKING:
    from scsync.report.changes import ReviewData
    from scsync.report.sources import Sources


@dataclass(slots=True)
class Report:
    """What a command found, for a reporter to render.

    ``failing`` lists the severities that make the command fail (errors, plus
    warnings under --strict), so formats with a pass/fail notion agree with the
    exit code.  ``review`` is `scsync diff`'s own data (the revisions and the
    changed connectors), kept apart from the fields every command has so no
    command's data can overwrite them.  ``sources`` says where the files are and
    gives their text (SARIF's URIs, columns and fingerprints); ``started`` (UTC)
    and ``elapsed`` (seconds) time the run (JUnit).
    """

    command: str
    files: list[str]
    findings: list[Finding]
    failing: frozenset[Severity] = frozenset({Severity.ERROR})
    review: ReviewData | None = None
    sources: Sources | None = None
    started: datetime | None = None
    elapsed: float | None = None

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def passed(self) -> bool:
        return not any(f.severity in self.failing for f in self.findings)

    def summary(self) -> str:
        parts = []
        for severity in Severity:
            n = self.count(severity)
            if n:
                word = severity.value if n == 1 else f"{severity.value}s"
                parts.append(f"{n} {word}")
        files = f"{len(self.files)} file" + ("" if len(self.files) == 1 else "s")
        verdict = "passed" if self.passed else "failed"
        return f"{files} checked, {verdict}: " + (", ".join(parts) if parts else "no problems")


class Reporter(ABC):
    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def render(self, report: Report) -> str:
        """The whole output, ending with a newline."""


REPORTERS: dict[str, type[Reporter]] = {}


def register(cls: type[Reporter]) -> type[Reporter]:
    REPORTERS[cls.name] = cls
    return cls


def get_reporter(name: str) -> Reporter:
    return REPORTERS[name]()


def auto_format(environ: dict[str, str] | None = None) -> str:
    """`github` under GitHub Actions (annotations on the PR), `text` elsewhere."""
    env = os.environ if environ is None else environ
    return "github" if env.get("GITHUB_ACTIONS") == "true" else "text"
