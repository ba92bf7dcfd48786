"""The one diff model: what changes between two sets of a connector's settings.

Pull-request review compares a manifest at two revisions; the controller's plan
will compare a manifest with the live connector.  Both speak this model (after
kopf's `DiffItem`): a flat, ordered tuple of leaf-level items, each an `add`, a
`change` or a `remove` of one field.  It knows nothing of git, of severities or
of review policy; those read the items.

Settings are compared as `Connector.settings()` gives them, with defaults
applied, so an omitted `max_concurrent_executions` equals an explicit 1.  An
unset optional value (`None`) and a missing key are the same thing: setting it
is an `add`, clearing it a `remove`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scsync.findings import json_pointer
from scsync.manifest.model import Connector

Field = tuple[str, ...]


class Operation(enum.Enum):
    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class DiffItem:
    operation: Operation
    field: Field
    old: Any
    new: Any

    @property
    def pointer(self) -> str:
        """The RFC 6901 pointer of the field, as findings carry it."""
        return json_pointer(self.field)

    @property
    def dotted(self) -> str:
        return ".".join(self.field)


Diff = tuple[DiffItem, ...]


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Diff:
    """Leaf-level differences from `old` to `new` (None: no connector on that side).

    Keys keep the order of `old`, then the keys only `new` has, so a diff of
    `Connector.settings()` reads in the manifest's canonical order.
    """
    return tuple(_walk(old or {}, new or {}, ()))


def diff_connectors(old: Connector | None, new: Connector | None) -> Diff:
    return diff(old.settings() if old is not None else None,
                new.settings() if new is not None else None)


def _walk(old: Mapping[str, Any], new: Mapping[str, Any], where: Field) -> list[DiffItem]:
    items: list[DiffItem] = []
    for key in [*old, *(k for k in new if k not in old)]:
        before, after = old.get(key), new.get(key)
        # The common case inline: a plan diffs every connector on every pass, and
        # most settings are equal scalars of the same type.
        if type(before) is type(after) and type(before) in _SCALARS and before == after:
            continue
        if _same(before, after):
            continue
        field = (*where, str(key))
        # Descend into mappings so a one-key edit of `job.env` is one item, and a
        # job added or removed lists what it holds rather than one opaque blob.
        if _nested(before) and _nested(after):
            items.extend(_walk(before or {}, after or {}, field))
        elif before is None:
            items.append(DiffItem(Operation.ADD, field, None, after))
        elif after is None:
            items.append(DiffItem(Operation.REMOVE, field, before, None))
        else:
            items.append(DiffItem(Operation.CHANGE, field, before, after))
    return items


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _nested(value: Any) -> bool:
    return value is None or isinstance(value, Mapping)


def _same(a: Any, b: Any) -> bool:
    """Equality that tells `1` from `true` and `1` from `1.0` (YAML typos do that)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def comparable(data: Mapping[str, Any], *, schema_valid: bool) -> dict[str, Any]:
    """The settings of a manifest's raw data, defaults applied, ready for `diff`.

    A document the schema accepts becomes `Connector.settings()`.  One it refuses
    (the head side under review may be invalid) is compared as written, over the
    same defaults, so its other changes still show.
    """
    if schema_valid:
        return Connector.from_data(dict(data)).settings()
    settings = dict(_UNSET)
    settings.update((k, v) for k, v in data.items() if k not in ("apiVersion", "kind"))
    return settings


# Every settings key, with the model's defaults; identity fields unset.
_UNSET: dict[str, Any] = {
    **Connector(api_name="", name="", status="").settings(),
    "api_name": None, "name": None, "status": None,
}
