"""The scheduler: admits queued executions into free slots and ends the ones that finish.

Admission is one synchronous transaction on the loop thread (SQLite: the store
holds the file, so one scheduler per database; PostgreSQL: a lock per connector
across replicas), so no two admissions can ever see the same free slot.  A
trigger admits its connector in its own request and a job's end in its own
callback (`_hand_over`), rather than behind the requests queued on the loop;
anything else that may free or add capacity (a PATCH, a fired slot, another
replica's wake-up) calls `wake()`, for a pass over every connector.  The
periodic pass (`--poll`) is only a safety net.
"""

from __future__ import annotations

import asyncio
import logging

from scsync.executor import outbox
from scsync.executor.domain import cancel_reason
from scsync.executor.metrics import ExecutorMetrics
from scsync.executor.outbox import DeliveryWorker
from scsync.executor.records import Connector, Ending, Execution, JobProcess
from scsync.executor.runner import JobResult, JobRunner, interrupted, kill_orphan
from scsync.executor.settings import ExecutorSettings
from scsync.executor.store import Store, now_iso, parse_iso
from scsync.hosting import wait_for_wakeup

log = logging.getLogger("scsync.executor.admission")

LOST_REPLICA = "interrupted: executor replica lost"
ADMIT_BATCH = 32
"""Jobs started in one go: a burst (every scheduled slot of a whole minute) is started in
batches, with the loop free between them for requests and the slot timer."""


class Scheduler:
    def __init__(self, store: Store, settings: ExecutorSettings, metrics: ExecutorMetrics,
                 deliveries: DeliveryWorker) -> None:
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self._deliveries = deliveries
        self._wakeup = asyncio.Event()
        # Off during start-up recovery and shutdown, when an ending must not start anything.
        self._admit_on_end = False
        self.runner = JobRunner(settings, self._job_ended)

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        self._admit_on_end = True
        while True:
            self._wakeup.clear()
            if self._admit_safely() >= ADMIT_BATCH:
                await asyncio.sleep(0)  # more may be admissible: go on after the others
                continue
            await wait_for_wakeup(self._wakeup, self._settings.poll_seconds)

    def _admit_safely(self, connector_id: str | None = None) -> int:
        try:
            return self.admit_now(connector_id)
        except Exception:  # the scheduler must outlive one bad admission
            log.exception("admission failed; retrying on the next wake-up")
            return 0

    def admit_now(self, connector_id: str | None = None, *, others: bool = False) -> int:
        """Start what free slots allow (of one connector, then with `others` every other;
        or of all); how many started."""
        connectors: dict[str, Connector] = {}

        def spawn(execution: Execution) -> JobProcess | None:
            cid = execution.connector_id
            if cid not in connectors:
                found = self._store.get_connector(cid)
                assert found is not None, "executions reference their connector"
                connectors[cid] = found
            assert execution.started_at is not None, "admitted executions have started"
            waited = parse_iso(execution.started_at) - parse_iso(execution.created)
            self._metrics.admission_latency.observe(waited.total_seconds())
            try:
                return self.runner.start(execution, connectors[cid])
            except Exception as exc:  # raising would roll back jobs already started
                log.exception("cannot start execution %s", execution.id)
                self.runner.end_unstarted(execution, connectors[cid],
                                          f"job cannot start: internal error: {exc}")
                return None

        budget = ADMIT_BATCH
        if self._settings.max_jobs is not None:  # this process's room (replicas share work)
            budget = min(budget, self._settings.max_jobs - self.runner.active)
            if budget <= 0:
                return 0
        return len(self._store.admit(spawn, budget, connector_id, others=others))

    def recover(self) -> int:
        """At start-up: every execution still marked running was cut off by a crash (on
        PostgreSQL: every one this replica ran)."""
        stale = self._store.running_executions(self._store.replica_id)
        for execution in stale:
            if kill_orphan(execution):
                log.warning("killed the leftover job of interrupted execution %s",
                            execution.id)
            connector = self._store.get_connector(execution.connector_id)
            assert connector is not None
            self._job_ended(interrupted(execution, connector))
        return len(stale)

    def take_over(self, lost: list[str]) -> int:
        """End the running executions of replicas taken for lost, with their notifications,
        freeing their slots; how many."""
        ended = 0
        for replica_id in lost:
            for execution in self._store.running_executions(replica_id):
                connector = self._store.get_connector(execution.connector_id)
                assert connector is not None
                result = interrupted(execution, connector, LOST_REPLICA)
                notes = outbox.plan(execution, connector, self._settings, result.ending)
                if self._store.finish(execution.id, result.ending, notes, owner=replica_id):
                    self._metrics.finished.labels("error").inc()
                    ended += 1
            log.warning("replica %s was lost: %d running execution(s) ended as error (%s)",
                        replica_id, ended, LOST_REPLICA)
        if ended:
            self._deliveries.wake()
            self.wake()
        return ended

    def cancel(self, execution: Execution, connector: Connector, user: str | None) -> bool:
        ending = Ending("cancelled", cancel_reason(user), now_iso())
        notes = outbox.plan(execution, connector, self._settings, ending)
        if not self._store.cancel(execution.id, ending, notes):
            return False
        self._metrics.finished.labels("cancelled").inc()
        self._deliveries.wake()
        return True

    async def shutdown(self) -> None:
        self._admit_on_end = False
        await self.runner.stop_all("interrupted")

    def _job_ended(self, result: JobResult) -> None:
        execution, ending = result.execution, result.ending
        notes = outbox.plan(execution, result.connector, self._settings, ending)
        if self._store.finish(execution.id, ending, notes):
            self._metrics.finished.labels(ending.status).inc()
            self._deliveries.wake()
        if self._admit_on_end:
            # Under --max-jobs the job this ending frees is any connector's too.
            self._hand_over(execution.connector_id,
                            others=self._settings.max_jobs is not None)

    def admit_queued(self, connector_id: str) -> bool:
        """After a trigger of the connector (on the loop): start what its free slots allow
        now, in the request, rather than after every request already queued on the loop.
        False when this replica may have left the execution to another (its --max-jobs
        budget, a failed admission, shutdown): then the caller wakes the others."""
        if not self._admit_on_end or self._settings.max_jobs is not None:
            # --max-jobs: the process's room goes earliest deadline first, over connectors.
            self.wake()
            return False
        return self._hand_over(connector_id)

    def _hand_over(self, connector_id: str, *, others: bool = False) -> bool:
        """Admit in this very callback: a wake-up would wait behind every HTTP request
        already queued on the loop.  Only this connector's queue changed, unless
        `others` (the process's room freed) or a wake-up (a trigger, a fired slot, a
        PATCH) is pending: then its pass is taken here, once, this connector first,
        rather than after those requests.  False if the admission failed."""
        pending = self._wakeup.is_set()
        self._wakeup.clear()
        try:
            admitted = self.admit_now(connector_id, others=others or pending)
        except Exception:  # the scheduler must outlive one bad admission
            log.exception("admission failed; retrying on the next wake-up")
            self.wake()
            return False
        if admitted >= ADMIT_BATCH:
            self.wake()
        return True
