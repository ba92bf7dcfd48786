"""A review's outcome, and its conversion to the `Report` every reporter renders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from scsync.diff import Diff, DiffItem
from scsync.findings import Finding, Severity, worst
from scsync.gitsource import Range
from scsync.report.base import Report
from scsync.report.changes import (
    ConnectorData,
    IgnoredData,
    ReviewData,
    RowData,
    SideData,
)
from scsync.report.machine import finding_dict
from scsync.report.sources import Sources
from scsync.review.pairing import Pair, Side
from scsync.rules import SC100


@dataclass(slots=True)
class ReviewResult:
    revisions: Range
    pairs: list[Pair]
    #: every finding: the review's and the head side's validation, sorted by place
    findings: list[Finding]
    #: one entry per changed connector, in the order of `pairs` (by path)
    changes: list[ConnectorData]
    ignored: list[IgnoredData]
    #: manifests whose text changed but not their settings (comments, formatting)
    unchanged: list[str]
    #: `OLD:NEW` allowances given that matched no api_name change (likely a typo)
    unused_allowances: list[str]
    #: the repository's top folder (its git folder when bare): what the paths are relative to
    root: str = "."
    #: each reviewed file's text by path: the head blob's, or the base blob's for a file
    #: only the base has (deleted, or renamed away); what SARIF's columns and fingerprints read
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        return sorted({s.path for p in self.pairs for s in (p.base, p.head) if s is not None})

    def report(
        self,
        failing: frozenset[Severity] = frozenset({Severity.ERROR}),
        *,
        started: datetime | None = None,
        elapsed: float | None = None,
    ) -> Report:
        r = self.revisions
        review = ReviewData(
            range=r.label,
            base={"rev": r.base_rev, "commit": r.base},
            head={"rev": r.head_rev, "commit": r.head},
            merge_base=r.merge_base,
            ignored=self.ignored,
            unchanged=self.unchanged,
            unused_allowances=self.unused_allowances,
            changes=self.changes,
        )
        # the paths are the repository's own; their text is the reviewed blobs'
        sources = Sources(self.root, self.root, self.texts.get)
        return Report(command="diff", files=self.files, findings=self.findings,
                      failing=failing, review=review, sources=sources,
                      started=started, elapsed=elapsed)


def connector_data(pair: Pair, items: Diff, findings: Sequence[Finding]) -> ConnectorData:
    """One changed connector: a row per changed setting, with the findings about it."""
    head, base = pair.head, pair.base
    if head is None:
        change = "deleted"
    elif base is None:
        change = "added"
    elif head.settings is None:
        change = "unreadable"
    else:
        change = "renamed" if pair.renamed else "changed"
    top = worst(list(findings))
    return ConnectorData(
        connector=(head and head.api_name) or (base and base.api_name) or pair.path,
        change=change,
        paired_by=pair.paired_by.value,
        breaking=any(f.rule == SC100.id for f in findings),
        severity=top.value if top else None,
        base=_side(base),
        head=_side(head),
        rows=[_row(item, findings) for item in items],
        findings=[finding_dict(f) for f in findings],
    )


def _side(side: Side | None) -> SideData | None:
    return SideData(path=side.path, api_name=side.api_name) if side else None


def _row(item: DiffItem, findings: Sequence[Finding]) -> RowData:
    # a finding below the field (job.command[0]) is about the field's row too
    about = [f for f in findings
             if f.pointer == item.pointer or f.pointer.startswith(item.pointer + "/")]
    top = worst(about)
    return RowData(
        field=item.dotted,
        pointer=item.pointer,
        operation=item.operation.value,
        before=item.old,
        after=item.new,
        severity=top.value if top else None,
        rules=sorted({f.rule for f in about}),
    )
