"""Which connector at the base became which connector at the head.

Git's answer comes first (the same path, or a rename found by its similarity
detection); `scsync.identity.pair`, the routine the plan uses too, adds what
git misses: a deleted and an added manifest with the same api_name (moved and
rewritten past git's rename threshold) or the same name (its api_name changed
too), one to one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scsync import identity
from scsync.checks.pipeline import FileResult
from scsync.identity import PairedBy

if TYPE_CHECKING:
    from scsync.gitsource import Change

__all__ = ["Pair", "PairedBy", "Side", "pair"]


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
    old: dict[str, Side] = {}
    new: dict[str, Side] = {}
    links: list[identity.Link] = []
    similarity: dict[str, int | None] = {}
    for change in changes:
        was = base.get(change.old_path) if change.old_path else None
        now = head.get(change.new_path) if change.new_path else None
        if was is not None:
            old[was.path] = was
        if now is not None:
            new[now.path] = now
        if was is not None and now is not None:
            how = PairedBy.PATH if was.path == now.path else PairedBy.RENAME
            links.append(identity.Link(now.path, was.path, how))
            similarity[now.path] = change.similarity
    found = identity.pair(new, old, links)
    pairs = [Pair(old[o], new[n], how, similarity.get(n) if how in _GIT else None)
             for n, (o, how) in found.matched.items()]
    pairs.extend(Pair(old[o], None, PairedBy.NOTHING) for o in found.old_left)
    pairs.extend(Pair(None, new[n], PairedBy.NOTHING) for n in found.new_left)
    return sorted(pairs, key=lambda p: (p.path, p.base.path if p.base else ""))


_GIT = (PairedBy.PATH, PairedBy.RENAME)
