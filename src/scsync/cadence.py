"""What a cadence of N seconds means: slots aligned to the Unix epoch, and their words.

A schedule connector with cadence N has one slot every N seconds, at the
multiples of N since 1970-01-01T00:00:00Z (3600 fires on the hour, 86400 at
00:00 UTC).  The embedded executor fires these slots, review counts the runs a
day they give, and the plan shows the next one; all of them ask this module.
Pure arithmetic on wall-clock UTC seconds.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

DAY_SECONDS = 86_400
SCHEDULE_TYPE = "schedule"
"""The connector type that runs on its cadence (a webhook's cadence is a batching window)."""


def schedule_of(connector_type: str | None, cadence: int | None) -> int | None:
    """The seconds between a connector's scheduled runs, or None when it has no schedule."""
    return cadence if connector_type == SCHEDULE_TYPE and cadence else None


def slot_at(epoch: float, cadence: int) -> int:
    """The start of the slot `epoch` falls in: the latest multiple of `cadence` not after it."""
    return math.floor(epoch / cadence) * cadence


def next_slot(epoch: float, cadence: int) -> int:
    """The first slot that starts strictly after `epoch`."""
    return slot_at(epoch, cadence) + cadence


def runs_per_day(cadence: int) -> float:
    """How many slots a day has (fractional for cadences longer than a day or not dividing it)."""
    return DAY_SECONDS / cadence


def per_day_words(cadence: int | None) -> str:
    """`24 runs a day`, `1 run every 2 days`; `no scheduled runs` for no cadence."""
    if cadence is None:
        return "no scheduled runs"
    per_day = runs_per_day(cadence)
    if per_day >= 1:
        count = f"{per_day:g}" if per_day == int(per_day) else f"{per_day:.1f}"
        return f"{count} run{'' if count == '1' else 's'} a day"
    return f"1 run every {cadence / DAY_SECONDS:g} days"


def label(cadence: int) -> str:
    """`Every 5 minutes`, `Every hour`: a cadence in words, as Kizen labels its choices."""
    for unit, size in (("day", DAY_SECONDS), ("hour", 3_600), ("minute", 60)):
        if cadence % size == 0:
            count = cadence // size
            return f"Every {unit}" if count == 1 else f"Every {count} {unit}s"
    return "Every second" if cadence == 1 else f"Every {cadence} seconds"


def iso(epoch: int) -> str:
    """A slot's start as the API writes times: `2026-12-01T22:00:00Z`."""
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
