"""The schedule a plan's write gives a connector: its cadence before and after, and its next run.

`scsync.cadence` decides what a cadence means; this turns one connector's
changes into what the plan shows and writes in its JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scsync import cadence
from scsync.diff import DiffItem


@dataclass(frozen=True, slots=True)
class ScheduleChange:
    """The schedule a write gives a connector (`scsync.cadence` counts its slots)."""

    live: int | None
    """Seconds between the live connector's scheduled runs; None: it has no schedule."""
    desired: int
    """Seconds between its runs once applied."""
    next_run: int | None
    """The new schedule's first slot (epoch seconds) on the embedded executor, which
    aligns slots to the epoch; None on Kizen, which decides when a connector runs."""

    @property
    def runs_per_day(self) -> float:
        return cadence.runs_per_day(self.desired)


def schedule_change(changes: Sequence[DiffItem], desired_type: str | None, live_type: Any,
                    *, embedded: bool, now: float) -> ScheduleChange | None:
    """The schedule the changes start or change, with its next run where that is known.

    A connector_type the manifest leaves out stays as it is live; a webhook's
    cadence is a batching window, no schedule.  Only the embedded executor aligns
    slots to the epoch, so only there is the next run known.
    """
    item = next((i for i in changes if i.field == ("cadence",)), None)
    if item is None:
        return None
    live_kind = live_type if isinstance(live_type, str) else None
    kind = desired_type or live_kind
    before = cadence.schedule_of(live_kind, item.old if isinstance(item.old, int) else None)
    after = cadence.schedule_of(kind, item.new if isinstance(item.new, int) else None)
    if after is None or after == before:
        return None
    return ScheduleChange(before, after, cadence.next_slot(now, after) if embedded else None)
