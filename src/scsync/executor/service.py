"""One running executor: its parts (store, scheduler, delivery worker) and what the API asks.

The routes (api.py) make every lookup and change through the methods below,
which apply the rules of domain.py and raise a `Refusal` for what they refuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from scsync.executor import dialect, domain
from scsync.executor.admission import Scheduler
from scsync.executor.database import database_errors
from scsync.executor.dialect import CustomObject
from scsync.executor.domain import BadRequest, Conflict, NotFound
from scsync.executor.metrics import ExecutorMetrics
from scsync.executor.models import is_single_email
from scsync.executor.outbox import DeliveryWorker
from scsync.executor.records import Activity, Connector, ConnectorSettings, Execution, StoredFile
from scsync.executor.replicas import ADMIT, SCHEDULE, Replica
from scsync.executor.settings import ExecutorSettings
from scsync.executor.store import ApiNameTaken, Store
from scsync.executor.timer import SlotTimer

log = logging.getLogger("scsync.executor")


class Executor:
    def __init__(self, settings: ExecutorSettings) -> None:
        self.settings = settings
        # Opened here, before the server binds, so a locked or newer database is a
        # clean start-up error rather than a half-started server.
        self.store = Store(settings.db_url.value if settings.db_url else settings.db_path)
        self.metrics = ExecutorMetrics(self.store)
        self.deliveries = DeliveryWorker(self.store, settings, self._count_attempt)
        self.scheduler = Scheduler(self.store, settings, self.metrics, self.deliveries)
        self.timer = SlotTimer(self.store, self.metrics)
        self._tasks: list[asyncio.Task[None]] = []
        self.replica: Replica | None = None
        """On PostgreSQL, this process as one replica of many (replicas.py)."""
        if self.store.postgres:
            self.replica = Replica(self.store, settings)
            try:
                self.replica.register()
            except BaseException:
                self.store.close()
                raise

    async def start(self) -> None:
        if recovered := self.scheduler.recover():
            log.warning("%d execution(s) were running when the executor stopped; "
                        "they end as error (interrupted)", recovered)
        self._tasks = [
            asyncio.create_task(self.scheduler.run(), name="scheduler"),
            asyncio.create_task(self.deliveries.run(), name="deliveries"),
        ]
        loop = asyncio.get_running_loop()

        def wake_admission() -> None:  # on the timer's thread
            loop.call_soon_threadsafe(self.scheduler.wake)

        self.timer.start(wake_admission)
        if self.replica is not None:
            self.replica.listen(loop, self._woken)
            self._tasks.append(asyncio.create_task(
                self.replica.keep(self.scheduler.take_over, self._lease_lost), name="lease"))

    def _woken(self, what: str) -> None:
        """Another replica's change (on the loop): a schedule to re-read, executions to admit."""
        if what == SCHEDULE:
            self.timer.changed()
        self.scheduler.wake()

    async def _lease_lost(self) -> None:
        """Another replica ended this one's running executions: stop their jobs (their
        endings are no longer this replica's to record)."""
        await self.scheduler.runner.stop_all("interrupted")

    def _tell(self, what: str = ADMIT) -> None:
        if self.replica is not None:
            self.replica.tell(what)

    async def stop(self) -> None:
        """Admit nothing more, stop the jobs (they end as interrupted), then close."""
        tasks: list[asyncio.Task[None] | None] = [*self._tasks] or [None, None]
        scheduler, deliveries, *rest = tasks
        if self.replica is not None:
            self.replica.stop()
        await asyncio.to_thread(self.timer.stop)
        for task in (scheduler, *rest):
            await _cancel(task)
        await self.scheduler.shutdown()
        await self.deliveries.stop()
        await _cancel(deliveries)
        if self.replica is not None:
            self.replica.retire()
        self.store.close()

    def not_ready(self) -> str | None:
        """Why this executor should get no traffic now; None when it may."""
        try:
            self.store.ping()
        except database_errors() as exc:
            return f"the database does not answer: {str(exc).strip()[:200]}"
        if self.replica is not None and not self.replica.holds_lease:
            return f"replica {self.replica.id} does not hold its lease"
        return None

    # -- what the API asks ----------------------------------------------------

    def connector(self, ref: str) -> Connector:
        if (connector := self.store.get_connector(ref)) is None:
            raise NotFound(f"SmartConnector {ref!r} not found.")
        return connector

    def execution(self, connector: Connector, execution_id: str) -> Execution:
        if (execution := self.store.get_execution(execution_id, connector.id)) is None:
            raise NotFound(f"Execution {execution_id} not found on {connector.api_name!r}.")
        return execution

    def report_file(self, file_id: str) -> StoredFile:
        if (file := self.store.get_file(file_id)) is None:
            raise NotFound("File not found.")
        return file

    def connectors(self, *, status: str | None, search: str | None, offset: int, limit: int,
                   ordering: str | None = None, connector_type: str | None = None,
                   custom_object: str | None = None,
                   active: bool | None = None) -> tuple[int, list[Connector]]:
        """One page of connectors, and how many match in all."""
        statuses = None
        if active is not None:
            statuses = dialect.ACTIVE_STATUSES if active else tuple(
                s for s in ("setup", "operational", "need_attention", "inactive")
                if s not in dialect.ACTIVE_STATUSES)
        return self.store.list_connectors(
            status=status, search=search, offset=offset, limit=limit,
            order=_order(ordering, dialect.CONNECTOR_ORDERING), connector_type=connector_type,
            custom_object=custom_object.lower() if custom_object else None, statuses=statuses)

    def executions(self, connector: Connector, *, status: str | None, offset: int,
                   limit: int, ordering: str | None = None,
                   include_dry_run: bool = True) -> tuple[int, list[Execution]]:
        """One page of a connector's executions, newest first unless ordered, and the total."""
        if status is not None:
            status = dialect.EXECUTION_STATUS_ALIASES.get(status, status)
        return self.store.list_executions(
            connector.id, status=status, offset=offset, limit=limit,
            order=_order(ordering, dialect.EXECUTION_ORDERING) or ("seq", True),
            include_dry_run=include_dry_run)

    def activity(self, connector_ids: Sequence[str]) -> list[Activity]:
        """Each known connector's running and queued counts and newest execution."""
        return list(self.store.activity(connector_ids).values())

    def metadata(self) -> dict[str, object]:
        """What Kizen's /metadata tells a client before it creates a connector."""
        return {
            "cadence_choices": dialect.cadence_choices(self.settings.cadence_choices),
            "connector_types": [[t, t.replace("_", " ").capitalize()]
                                for t in dialect.CONNECTOR_TYPES],
            "sql_versions": [[v, v] for v in dialect.SQL_VERSIONS],
            "executor": "scsync",
        }

    def custom_objects(self, *, custom_only: bool) -> list[CustomObject]:
        """The objects connectors may load into; like Kizen, built-ins only on request."""
        return [o for o in self.settings.custom_objects if o.custom or not custom_only]

    def create_connector(self, fields: ConnectorSettings) -> Connector:
        fields = _canonical(fields)
        domain.check_kizen_fields(fields, cadences=self.settings.cadence_choices,
                                  objects=self.settings.custom_objects)
        created = self._insert_connector(fields)
        # Its schedule, if it has one, is every replica's to fire.
        self.timer.changed()
        self._tell(SCHEDULE)
        return created

    def _insert_connector(self, fields: ConnectorSettings) -> Connector:
        if "api_name" in fields:
            try:
                return self.store.create_connector(fields)
            except ApiNameTaken as exc:
                raise Conflict(f"api_name {fields['api_name']!r} is already taken.") from exc
        # Kizen's create has no api_name: derive one from the name, the first one free.
        for taken in range(1000):
            candidate: ConnectorSettings = {
                **fields, "api_name": dialect.derived_api_name(fields["name"], taken)}
            with contextlib.suppress(ApiNameTaken):
                return self.store.create_connector(candidate)
        raise Conflict(f"no free api_name derived from {fields['name']!r}; send one.")

    def update_connector(self, ref: str, changes: ConnectorSettings, *,
                         force_api_name_change: bool) -> Connector:
        connector = self.connector(ref)
        changes = _canonical(changes)
        domain.check_update(connector, changes, force_api_name_change=force_api_name_change)
        domain.check_kizen_fields(changes, cadences=self.settings.cadence_choices,
                                  objects=self.settings.custom_objects)
        try:
            updated = self.store.update_connector(connector.id, changes)
        except ApiNameTaken as exc:
            raise Conflict(f"api_name {changes.get('api_name')!r} is already taken.") from exc
        # A higher limit or an executable status may free slots: admit now, not on a tick.
        self.scheduler.wake()
        self.timer.changed()
        self._tell(SCHEDULE)
        return updated

    def trigger(self, ref: str, *, user: str | None, is_dry_run: bool,
                diff_check: bool) -> str:
        """Queue an execution of the connector; its id. A single email address is also told."""
        connector = self.connector(ref)
        execution_id = self.store.enqueue(
            connector.id, initiated_by=user or None,
            initiator_email=user if user and is_single_email(user) else None,
            is_dry_run=is_dry_run, diff_check=diff_check,
        )
        # Started here if a slot is free; if none is, the end that frees one hands it over
        # (on whichever replica): the others need waking only when this one held back.
        if not self.scheduler.admit_queued(connector.id):
            self._tell()
        return execution_id

    def cancel(self, ref: str, execution_id: str,
               user: str | None) -> tuple[Connector, Execution]:
        """End a queued execution as cancelled; the connector and the ended execution."""
        connector = self.connector(ref)
        execution = self.execution(connector, execution_id)
        if not self.scheduler.cancel(execution, connector, user):
            current = self.execution(connector, execution_id)
            raise Conflict(domain.cancel_refusal(current.status))
        return connector, self.execution(connector, execution_id)

    def _count_attempt(self, kind: str, ok: bool) -> None:
        self.metrics.deliveries.labels(kind, "ok" if ok else "failed").inc()


def _order(key: str | None, columns: dict[str, str]) -> tuple[str, bool] | None:
    """The column and direction of an `ordering` key; unknown keys are refused."""
    if key is None:
        return None
    if (order := dialect.order_by(key, columns)) is None:
        raise BadRequest(f"ordering {key!r} is not supported; allowed: "
                         f"{', '.join(dialect.ordering_keys(columns))}.")
    return order


def _canonical(fields: ConnectorSettings) -> ConnectorSettings:
    """Object ids in one spelling, so filters and comparisons need no case folding."""
    if target := fields.get("custom_object"):
        return {**fields, "custom_object": target.lower()}
    return fields


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
