"""One running executor: the store, the scheduler, the delivery worker, their lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from scsync.executor.admission import Scheduler
from scsync.executor.metrics import ExecutorMetrics
from scsync.executor.outbox import DeliveryWorker
from scsync.executor.settings import ExecutorSettings
from scsync.executor.store import Store

log = logging.getLogger("scsync.executor")


class Executor:
    def __init__(self, settings: ExecutorSettings) -> None:
        self.settings = settings
        # Opened here, before the server binds, so a locked or newer database is a
        # clean start-up error rather than a half-started server.
        self.store = Store(settings.db_path)
        self.metrics = ExecutorMetrics(self.store)
        self.deliveries = DeliveryWorker(self.store, settings, self._count_attempt)
        self.scheduler = Scheduler(self.store, settings, self.metrics, self.deliveries)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if recovered := self.scheduler.recover():
            log.warning("%d execution(s) were running when the executor stopped; "
                        "they end as error (interrupted)", recovered)
        self._tasks = [
            asyncio.create_task(self.scheduler.run(), name="scheduler"),
            asyncio.create_task(self.deliveries.run(), name="deliveries"),
        ]

    async def stop(self) -> None:
        """Admit nothing more, stop the jobs (they end as interrupted), then close."""
        scheduler, deliveries = self._tasks or (None, None)
        await _cancel(scheduler)
        await self.scheduler.shutdown()
        await self.deliveries.stop()
        await _cancel(deliveries)
        self.store.close()

    def _count_attempt(self, kind: str, ok: bool) -> None:
        self.metrics.deliveries.labels(kind, "ok" if ok else "failed").inc()


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
