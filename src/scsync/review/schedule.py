"""What a change under review does to a connector's schedule, in seconds and in words.

A connector runs on a schedule when its connector_type is `schedule` and it has
a cadence (`scsync.cadence.schedule_of`, the executor's own test); a webhook's
cadence is a batching window.  The policy (SC115-SC117) compares the two sides
here and words the counts with `scsync.cadence`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scsync import cadence

Settings = Mapping[str, Any]


def of(settings: Settings | None, kind: Any) -> int | None:
    """The seconds between the scheduled runs `settings` declare under connector type `kind`."""
    value = (settings or {}).get("cadence")
    # a head that fails the schema may hold anything here: only whole seconds schedule
    seconds = value if type(value) is int and value > 0 else None
    return cadence.schedule_of(kind if isinstance(kind, str) else None, seconds)


def compare(base: Settings | None, head: Settings | None
            ) -> tuple[int | None, int | None] | None:
    """The schedule of each side (None: none), or None when the connector_type changes.

    A connector_type declared on one side only stands for both: declaring it, or
    no longer declaring it, changes nothing live (plan starts or stops comparing
    it).  A type that changes cannot be applied at all (SC114 says so).
    """
    was, now = (base or {}).get("connector_type"), (head or {}).get("connector_type")
    if was is not None and now is not None and was != now:
        return None
    kind = now if now is not None else was
    return of(base, kind), of(head, kind)


def every(seconds: int) -> str:
    """`every 5 minutes`, as a message says it."""
    return cadence.label(seconds).lower()


def runs(old: int | None, new: int | None) -> str:
    """`24 -> 288 runs a day`, `no scheduled runs -> 24 runs a day`."""
    before, after = cadence.per_day_words(old), cadence.per_day_words(new)
    if before.endswith(" a day") and after.endswith(" a day"):
        before = before.split(" ", 1)[0]
    return f"{before} -> {after}"
