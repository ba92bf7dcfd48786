"""What a rule is, and the families its id ranges stand for.

Ids are a public contract: they appear in reports, SARIF rule tables and
suppressions, and are never reused for a different meaning.  A family is an id
range (the ranges were published before families had a name), so it is data
here, asked of a rule as ``rule.family is Family.SCHEMA`` rather than by
comparing id strings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from scsync.findings import Finding, Severity

#: Where the project lives; SARIF's `informationUri` and every rule's help link point here.
PROJECT_URL = "https://github.com/scsync/scsync"
#: docs/rules.md as published: each rule has its own anchor there (`#sc024`).
RULES_DOC_URL = f"{PROJECT_URL}/blob/main/docs/rules.md"
#: SARIF's and GitHub code scanning's scale for how often a finding is a true problem.
PRECISIONS = ("very-high", "high", "medium", "low")


class Family(enum.Enum):
    """A rule's family: its first tag, its section of docs/rules.md, its id range."""

    YAML = ("yaml", "SC001", "SC019", "Loading: the bytes and the YAML")
    SCHEMA = ("schema", "SC020", "SC039", "The JSON Schema")
    SETTINGS = ("settings", "SC040", "SC049", "One connector's settings")
    MANIFEST_SET = ("manifest-set", "SC050", "SC059", "The set of connectors")
    REVIEW = ("review", "SC100", "SC119", "Changes under review (`scsync diff`)")
    PLAN = ("plan", "SC120", "SC199",
            "Plans against the live executor (`scsync plan`, `apply`, the controller)")

    def __init__(self, tag: str, first: str, last: str, title: str) -> None:
        self.tag, self.first, self.last, self.title = tag, first, last, title

    @classmethod
    def of(cls, rule_id: str) -> Family | None:
        """The family whose range holds `rule_id` (None: an id outside every range)."""
        return next((f for f in cls if f.first <= rule_id <= f.last), None)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its id and name, and what reports say about it.

    ``summary`` is one line (the rule tables, SARIF's shortDescription);
    ``details`` says why it matters (with the summary, SARIF's fullDescription);
    ``help`` says what to do.  ``tags`` are added after the family tag;
    ``precision`` is how often a finding is a true problem.
    """

    id: str
    name: str
    severity: Severity
    summary: str
    help: str
    details: str = ""
    tags: tuple[str, ...] = ()
    precision: str = "very-high"

    @property
    def family(self) -> Family:
        family = Family.of(self.id)
        if family is None:
            raise ValueError(f"rule id {self.id} lies in no family's range")
        return family

    @property
    def description(self) -> str:
        return f"{self.summary} {self.details}".strip()

    @property
    def anchor(self) -> str:
        """The rule's anchor in docs/rules.md: its id in lower case (`sc024`)."""
        return self.id.lower()

    @property
    def help_uri(self) -> str:
        return f"{RULES_DOC_URL}#{self.anchor}"

    @property
    def all_tags(self) -> tuple[str, ...]:
        family = self.family.tag
        return (family, *(t for t in self.tags if t != family))

    def finding(
        self,
        path: str,
        message: str,
        *,
        line: int = 1,
        column: int = 1,
        pointer: str = "",
        hint: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            rule=self.id,
            severity=severity or self.severity,
            path=path,
            line=line,
            column=column,
            pointer=pointer,
            message=message,
            hint=hint,
        )
