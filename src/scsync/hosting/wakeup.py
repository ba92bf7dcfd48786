"""Waiting for a wake-up or a timeout, in a way that a cancellation always ends.

`asyncio.wait_for(event.wait(), timeout)` on Python 3.11 swallows a
cancellation that arrives as the event is set (CPython gh-86296): the task
goes on as if nothing happened and a shutdown that awaits it hangs.  The
executor's scheduler and delivery worker met exactly that once the slot timer
woke them from another thread several times a second.  `asyncio.timeout`
counts cancellations (`Task.uncancel`), so it cannot lose one.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait_for_wakeup(event: asyncio.Event, seconds: float) -> bool:
    """Until `event` is set (True) or `seconds` pass (False); a cancellation propagates."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
            return True
    return False
