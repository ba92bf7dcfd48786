"""A background task's wait ends on a cancellation, even one that comes as it is woken.

That race is what hung the executor's shutdown: `asyncio.wait_for` on Python
3.11 swallowed the cancellation of a scheduler woken in the same instant.
"""

from __future__ import annotations

import asyncio

import pytest

from scsync.hosting import wait_for_wakeup


def test_a_cancellation_that_arrives_with_the_wakeup_is_not_lost() -> None:
    async def main() -> None:
        event = asyncio.Event()
        task = asyncio.create_task(wait_for_wakeup(event, 10))
        await asyncio.sleep(0)  # the task now waits on the event
        event.set()
        task.cancel()  # in the same iteration as the wake-up
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_it_says_whether_it_was_woken_or_timed_out() -> None:
    async def main() -> tuple[bool, bool]:
        event = asyncio.Event()
        asyncio.get_running_loop().call_soon(event.set)
        woken = await wait_for_wakeup(event, 10)
        return woken, await wait_for_wakeup(asyncio.Event(), 0.01)

    assert asyncio.run(main()) == (True, False)
