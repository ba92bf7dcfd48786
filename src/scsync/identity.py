"""Which connector a manifest is, and what changing its api_name means.

Review pairs base manifests with head manifests; the plan pairs manifests
with live connectors.  Both ask the same question, answered here once, in
this order:

1. what the caller knows for certain (`Link`s, in the caller's order of
   trust): git's change of a path, or the state record of the path; then git's
   rename, or the state record of the path git says it was renamed from;
2. the same api_name, one to one;
3. the same name (compared as `fold_name` does), one to one, and only with a
   connector whose api_name no manifest declares (its api_name changed too:
   the case SC100 must not miss).

Name and api_name matches count only one to one: a guess between several
candidates would invent an api_name change.

`api_name_change` is the one decision on a changed api_name, for review, plan
and the executor's guard alike: the same change gets the same rule and
severity wherever it is seen.
"""

from __future__ import annotations

import enum
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from scsync import rules
from scsync.checks.crossfile import fold_name
from scsync.checks.settings import API_NAME
from scsync.findings import Finding, Severity

#: The flag that accepts one api_name change (`OLD:NEW`); messages name it.
ALLOW_FLAG = "--allow-api-name-change"


class PairedBy(enum.Enum):
    PATH = "path"  # the same path; for the plan, the state record of that path
    RENAME = "rename"  # git's rename; for the plan, the state record of the old path
    API_NAME = "api_name"
    NAME = "name"
    NOTHING = "nothing"  # added or deleted: no counterpart


class Named(Protocol):
    """What pairing reads of a manifest or a live connector (None: not known)."""

    @property
    def api_name(self) -> str | None: ...

    @property
    def name(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Link:
    """A pairing the caller knows for certain: `new`'s key is `old`'s key, `by` what."""

    new: str
    old: str
    by: PairedBy


@dataclass(slots=True)
class Pairing:
    """Keys of the new side paired with keys of the old side, and those left over."""

    matched: dict[str, tuple[str, PairedBy]] = field(default_factory=dict)  # new -> (old, by)
    new_left: list[str] = field(default_factory=list)  # in the new side's order
    old_left: list[str] = field(default_factory=list)  # in the old side's order


def pair(new: Mapping[str, Named], old: Mapping[str, Named], links: Iterable[Link] = ()
         ) -> Pairing:
    """Pair `new` with `old` (each keyed: paths, connector ids); see the module docstring.

    A link to a key either side lacks, or to one already paired, is passed
    over, so a caller lists every link it knows in its order of trust.
    """
    out = Pairing()
    taken: set[str] = set()
    for link in links:
        if link.new in new and link.old in old and link.new not in out.matched \
                and link.old not in taken:
            out.matched[link.new] = (link.old, link.by)
            taken.add(link.old)
    declared = {n.api_name for n in new.values() if n.api_name is not None}
    for by, key in ((PairedBy.API_NAME, _api_name), (PairedBy.NAME, folded_name)):
        candidates = [k for k in old if k not in taken
                      and (by is PairedBy.API_NAME or old[k].api_name not in declared)]
        left = [k for k in new if k not in out.matched]
        for n, o in _one_to_one(left, new, candidates, old, key):
            out.matched[n] = (o, by)
            taken.add(o)
    out.new_left = [k for k in new if k not in out.matched]
    out.old_left = [k for k in old if k not in taken]
    return out


def _api_name(item: Named) -> str | None:
    return item.api_name


def folded_name(item: Named) -> str | None:
    """The name as pairing compares it (`fold_name`), None without one."""
    return fold_name(item.name) if item.name else None


def _one_to_one(
    new_keys: list[str], new: Mapping[str, Named], old_keys: list[str], old: Mapping[str, Named],
    key: Callable[[Named], str | None],
) -> list[tuple[str, str]]:
    by_value: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for k in new_keys:
        if (value := key(new[k])) is not None:
            by_value[value][0].append(k)
    for k in old_keys:
        if (value := key(old[k])) is not None:
            by_value[value][1].append(k)
    return [(news[0], olds[0]) for news, olds in by_value.values()
            if len(news) == 1 and len(olds) == 1]


def allows(allow: Collection[tuple[str, str]], old: Any, new: Any) -> bool:
    """Whether `--allow-api-name-change` accepted exactly this change."""
    return isinstance(old, str) and isinstance(new, str) and (old, new) in allow


def api_name_change(
    path: str, old: Any, new: Any, *, uses: int | None, allowed: bool, via: str = "",
    pointer: str = "/api_name",
) -> Finding | None:
    """The finding for a connector whose api_name goes from `old` to `new`; None if it stays.

    `uses` is how often the connector has executed (None: not known, as in a
    review, so it is taken to be in use); `allowed` says the operator accepted
    exactly this change (`allows`).  An error means the change must not be
    made: never used, it is a warning (SC120); in use, an error (SC100) unless
    allowed, then a notice (SC100): accepted, but every caller still breaks.
    `via` adds what only the caller knows (how the pair was found).
    """
    if old == new:
        return None
    was, now = quoted(old), quoted(new)
    if uses == 0:
        return rules.SC120.finding(
            path, f"api_name {was} -> {now}{via}: the connector was never used, so the change "
            "is applied", pointer=pointer)
    used = f" on a connector used {uses} time(s)" if uses else ""
    consequence = (f"api_name changes from {was} to {now}{via}{used}: every integration, "
                   f"orchestration system and webhook URL that calls {was} breaks until it is "
                   f"updated to {now}")
    if allowed:
        return rules.SC100.finding(
            path, f"BREAKING, accepted with {ALLOW_FLAG} {old}:{new}: {consequence}",
            pointer=pointer, severity=Severity.NOTICE)
    hint = f"keep api_name {was} and change `name` for a new label"
    if is_api_name(old) and is_api_name(new):
        # only then: the flag takes two api_names, so OLD:NEW of anything else
        # could never match and would only send the reader in circles
        hint += f"; if every caller is being updated, accept the break with {ALLOW_FLAG} " \
            f"{old}:{new}"
    return rules.SC100.finding(path, f"BREAKING: {consequence}", pointer=pointer, hint=hint)


def is_api_name(value: Any) -> bool:
    return isinstance(value, str) and API_NAME.fullmatch(value) is not None


def quoted(value: Any) -> str:
    """An api_name as a message quotes it (`show`, and a missing one says so)."""
    return "(no api_name)" if value is None else show(value)


def show(value: Any) -> str:
    """A setting's value as messages quote it: strings quoted, others as YAML 1.2 reads them."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)  # as YAML 1.2 reads it, not Python's repr
    return repr(value) if isinstance(value, str) else str(value)
