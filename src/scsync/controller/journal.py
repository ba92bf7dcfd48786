"""What the reconcile loop remembers beyond /status, for the web UI: recent passes, and
what each pass knew of every connector (its manifest, its findings, its live record).

The loop writes here; the UI only reads.  Records are frozen and replaced whole,
so a page never sees half a pass.  The ring of passes is bounded: a controller
that runs for months keeps the last `PASSES_KEPT` of them; the loop also keeps
them in its state database (state.py), and a restarted controller starts its
ring, and its pass numbers, from there.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scsync.findings import Finding

PASSES_KEPT = 200


@dataclass(frozen=True, slots=True)
class PassRecord:
    """One reconcile pass, as the Passes page lists it."""

    number: int
    started_at: float
    """Seconds since the epoch."""
    duration: float
    ok: bool
    commit: str | None = None
    """The commit in force during the pass (the last valid one)."""
    error: str | None = None
    applied: tuple[str, ...] = ()
    """api_names written (created or updated, or set Inactive by --prune)."""
    refused: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    """api_names planned as errors or whose write failed."""


class PassLog:
    """The last `size` passes, newest first; safe to read from any thread."""

    def __init__(self, size: int = PASSES_KEPT, kept: Sequence[PassRecord] = ()) -> None:
        """`kept`: earlier passes, newest first (from the state database)."""
        self._ring: deque[PassRecord] = deque(kept[:size], maxlen=size)
        self._lock = threading.Lock()

    def add(self, record: PassRecord) -> None:
        with self._lock:
            self._ring.appendleft(record)

    def recent(self) -> list[PassRecord]:
        with self._lock:
            return list(self._ring)


@dataclass(frozen=True, slots=True)
class ConnectorDetail:
    """One managed connector as the last pass planned it."""

    path: str
    api_name: str
    name: str
    sync: str
    reason: str
    commit: str
    """The commit the manifest was read from."""
    connector_id: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    """The manifest's settings, defaults applied (`Connector.settings()`)."""
    findings: tuple[Finding, ...] = ()
    """What the plan found: refusals with their rule and hint, warnings, notices."""


@dataclass(frozen=True, slots=True)
class LiveView:
    """The executor's connectors as the last pass read them, and what it knew besides."""

    connectors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """connector id -> the executor's JSON for it."""
    read_at: float | None = None
    object_names: Mapping[str, str] = field(default_factory=dict)
    """custom object id -> api_name, to show a live `custom_object` in manifest terms."""
    kind: str | None = None
