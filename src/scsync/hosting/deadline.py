"""How long a client may take to send one request: its headers and its whole body.

One budget per request, from its first byte (or from the connection opening):
`protocol.py` cuts a client still sending headers at the deadline, and stamps
the deadline into the request's scope so `body.py` stops waiting for the body
at the same moment, not a full budget later.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Mapping

from starlette.types import Scope

from scsync.errors import ConfigError

DEADLINE_ENV = "SCSYNC_HTTP_DEADLINE"
DEFAULT_DEADLINE = 30.0
"""Seconds; GitHub gives a webhook delivery 10 s in all, so a real sender is far inside it."""

#: The scope extension holding the request's deadline, in the event loop's clock.
EXTENSION = "scsync.request_deadline"


def deadline_from_env(environ: Mapping[str, str] | None = None) -> float:
    """SCSYNC_HTTP_DEADLINE in seconds, or the default; anything else stops the start."""
    env = os.environ if environ is None else environ
    raw = env.get(DEADLINE_ENV, "").strip()
    if not raw:
        return DEFAULT_DEADLINE
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    # NaN compares false to everything; 0 or less would refuse every request.
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigError(f"{DEADLINE_ENV}={raw!r}: expected a positive number of seconds "
                          f"(default {DEFAULT_DEADLINE:g})")
    return seconds


def stamp(scope: Scope, deadline: float) -> None:
    scope.setdefault("extensions", {})[EXTENSION] = deadline


def request_deadline(scope: Scope, seconds: float) -> float:
    """The stamped deadline, or `seconds` from now when no bounded protocol serves us."""
    stamped = (scope.get("extensions") or {}).get(EXTENSION)
    if isinstance(stamped, float):
        return stamped
    return asyncio.get_running_loop().time() + seconds
