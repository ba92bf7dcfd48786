"""Rules across the whole set of manifests (SC050-SC051)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scsync.findings import Finding, Span
from scsync.rules import RULES


@dataclass(frozen=True, slots=True)
class Identity:
    """What the cross-file rules need of one manifest: its two names and where they are."""

    path: str
    api_name: str | None
    api_name_at: Span
    name: str | None
    name_at: Span


def check(
    identities: Iterable[Identity], *, established: Iterable[Identity] = ()
) -> list[Finding]:
    """Duplicates among `identities`, and of `established` ones (which are not reported).

    `established` serves a review: the unchanged rest of the tree holds its names
    first, so a duplicate is reported on the file the change brings.
    """
    findings: list[Finding] = []
    by_api: dict[str, Identity] = {}
    by_name: dict[str, Identity] = {}
    for ident in sorted(established, key=lambda i: i.path):
        if ident.api_name is not None:
            by_api.setdefault(ident.api_name, ident)
        if ident.name is not None:
            by_name.setdefault(fold_name(ident.name), ident)
    for ident in sorted(identities, key=lambda i: i.path):
        if ident.api_name is not None:
            first = by_api.setdefault(ident.api_name, ident)
            if first is not ident:
                findings.append(
                    RULES["SC050"].finding(
                        ident.path,
                        f"api_name '{ident.api_name}' is already used by {first.path}:"
                        f"{first.api_name_at.line}",
                        pointer="/api_name",
                    ).placed(ident.api_name_at)
                )
        if ident.name is not None:
            key = fold_name(ident.name)
            first = by_name.setdefault(key, ident)
            if first is not ident:
                findings.append(
                    RULES["SC051"].finding(
                        ident.path,
                        f"name '{ident.name}' is already used by {first.path}:{first.name_at.line}",
                        pointer="/name",
                    ).placed(ident.name_at)
                )
    return findings


def fold_name(name: str) -> str:
    """Names compare without case and spacing: `Web  Leads` is `web leads`."""
    return " ".join(name.split()).casefold()
