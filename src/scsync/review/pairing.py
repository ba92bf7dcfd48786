"""Which connector at the base became which connector at the head.

A connector is the same one when git says so (same path, or a rename found by
git's similarity detection) or, failing that, when a deleted and an added
manifest declare the same api_name (moved and rewritten past git's rename
threshold) or the same name (its api_name changed too: the case SC100 must not
miss).  Name matches count only when they are one to one; a guess between
several candidates would invent an api_name change.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scsync.checks.crossfile import fold_name
from scsync.checks.pipeline import FileResult

if TYPE_CHECKING:
    from scsync.gitsource import Change


class PairedBy(enum.Enum):
    PATH = "path"
    RENAME = "rename"
    API_NAME = "api_name"
    NAME = "name"
    NOTHING = "nothing"  # added or deleted


@dataclass(slots=True)
class Side:
    """One revision's copy of a changed manifest, loaded and checked."""

    path: str
    result: FileResult
    settings: dict[str, Any] | None  # None: the file cannot be loaded

    def _text(self, key: str) -> str | None:
        value = (self.settings or {}).get(key)
        return value if isinstance(value, str) else None

    @property
    def api_name(self) -> str | None:
        return self._text("api_name")

    @property
    def name(self) -> str | None:
        return self._text("name")


@dataclass(slots=True)
class Pair:
    base: Side | None
    head: Side | None
    paired_by: PairedBy
    similarity: int | None = None

    @property
    def path(self) -> str:
        """The path a reviewer knows the connector by: the head's, else the base's."""
        side = self.head or self.base
        assert side is not None
        return side.path

    @property
    def renamed(self) -> bool:
        return self.base is not None and self.head is not None and self.base.path != self.head.path


def pair(
    changes: Iterable[Change], base: Mapping[str, Side], head: Mapping[str, Side]
) -> list[Pair]:
    """Pairs for every changed manifest, ordered by path (stable across re-runs)."""
    pairs: list[Pair] = []
    deleted: list[Side] = []
    added: list[Side] = []
    for change in changes:
        old = base.get(change.old_path) if change.old_path else None
        new = head.get(change.new_path) if change.new_path else None
        if old is not None and new is not None:
            how = PairedBy.PATH if old.path == new.path else PairedBy.RENAME
            pairs.append(Pair(old, new, how, change.similarity))
        elif old is not None:
            deleted.append(old)
        elif new is not None:
            added.append(new)
    for how, key in ((PairedBy.API_NAME, _api_name), (PairedBy.NAME, _name)):
        matched = _match(deleted, added, key)
        pairs.extend(Pair(old, new, how) for old, new in matched)
        paired = {id(side) for couple in matched for side in couple}
        deleted = [s for s in deleted if id(s) not in paired]
        added = [s for s in added if id(s) not in paired]
    pairs.extend(Pair(old, None, PairedBy.NOTHING) for old in deleted)
    pairs.extend(Pair(None, new, PairedBy.NOTHING) for new in added)
    return sorted(pairs, key=lambda p: (p.path, p.base.path if p.base else ""))


def _api_name(side: Side) -> str | None:
    return side.api_name


def _name(side: Side) -> str | None:
    return fold_name(side.name) if side.name else None


def _match(
    deleted: list[Side], added: list[Side], key: Callable[[Side], str | None]
) -> list[tuple[Side, Side]]:
    gone: dict[str, list[Side]] = defaultdict(list)
    new: dict[str, list[Side]] = defaultdict(list)
    for side in deleted:
        if (k := key(side)) is not None:
            gone[k].append(side)
    for side in added:
        if (k := key(side)) is not None:
            new[k].append(side)
    return [
        (gone[k][0], new[k][0])
        for k in sorted(gone)
        if len(gone[k]) == 1 and len(new.get(k, ())) == 1
    ]
