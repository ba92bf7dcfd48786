"""What the API answers: connectors, executions and pages, as records become JSON.

The models are the answers' schemas in /openapi.json and FastAPI's response
models, so what a route sends is checked against what the document says.
Answers stay open (extra fields may come in a later version); every field
listed is always present.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import Request
from pydantic import BaseModel, WithJsonSchema

from scsync import cadence
from scsync.executor.dialect import CustomObject
from scsync.executor.domain import next_run, waiting_reason
from scsync.executor.models import ConnectorType, SqlVersion, Status
from scsync.executor.records import Activity, Connector, Execution
from scsync.executor.service import Executor

ExecutionStatus = Literal["queued", "running", "success", "partial_success", "error", "cancelled"]
StatusFilter = Literal["queued", "running", "success", "partial_success", "error", "cancelled",
                       "failed"]
"""What the executions' status filter takes: the statuses, and Kizen's `failed` for `error`."""
TriggerType = Literal["manual", "schedule"]
Uuid = Annotated[str, WithJsonSchema({"type": "string", "format": "uuid"})]
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class JobView(BaseModel):
    command: list[str]
    timeout_seconds: int
    env: dict[str, str]
    working_dir: str | None


class Stats(BaseModel):
    used_count: int


class ScheduleView(BaseModel):
    last_slot: Timestamp | None
    """The latest slot that came due (fired, or skipped while one was still queued)."""
    skipped: int
    """Slots not queued because a scheduled execution of the connector was still waiting."""
    missed: int
    """Slots that passed while no executor was running; only the latest of them fired."""


class ConnectorView(BaseModel):
    id: Uuid
    api_name: str
    name: str
    description: str
    status: Status
    max_concurrent_executions: int
    create_only: bool
    additional_notification_email: str | None
    additional_error_notification_email: str | None
    execution_ended_webhook_url: str | None
    job: JobView | None
    connector_type: ConnectorType | None
    custom_object: Uuid | None
    cadence: int | None
    activity_object: str | None
    sql_version: SqlVersion | None
    live_script: None
    """Kizen's published SQL; always null here (the embedded executor runs `job`)."""
    last_draft_script: None
    flow: None
    stats: Stats
    next_run_at: Timestamp | None
    """When the next scheduled slot starts; null when the connector has no schedule."""
    schedule: ScheduleView
    last_used_at: Timestamp | None
    created: Timestamp
    updated: Timestamp


class ExecutionView(BaseModel):
    id: Uuid
    connector_id: Uuid
    api_name: str
    status: ExecutionStatus
    reason: str | None
    initiated_by: str | None
    started_by: str | None
    """Kizen's name for initiated_by."""
    trigger_type: TriggerType
    scheduled_for: Timestamp | None
    """A scheduled execution's slot; null for a manual one."""
    is_dry_run: bool
    diff_check: bool
    error_details: str | None
    """The reason, when the execution ended as error; null otherwise."""
    created: Timestamp
    started_at: Timestamp | None
    ended_at: Timestamp | None
    exit_code: int | None
    record_counts: dict[str, int] | None
    attempt: int
    report_file_id: Uuid | None
    report_url: str | None
    replica_id: str | None
    """scsync's own: on PostgreSQL, the replica that admitted and runs it; null on SQLite
    and while it is queued."""


class Attempt(BaseModel):
    attempt: int
    at: Timestamp
    ok: bool
    detail: str


class NotificationView(BaseModel):
    kind: Literal["email", "webhook"]
    target: str
    state: Literal["pending", "sent", "failed", "skipped"]
    attempts: int
    last_error: str | None
    history: list[Attempt]


class ExecutionDetail(ExecutionView):
    notifications: list[NotificationView]


class ConnectorPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[ConnectorView]


class ExecutionPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[ExecutionView]


class ActivityView(BaseModel):
    connector_id: Uuid
    running: int
    queued: int
    last_execution: ExecutionView | None
    """The connector's newest execution; null when it has none."""


class ActivityList(BaseModel):
    results: list[ActivityView]


# A [value, label] pair, as Django's choices are serialised; published without tuple
# syntax, which FastAPI writes in a form OpenAPI 3.1 does not have.
Choice = Annotated[list[str], WithJsonSchema({
    "type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2})]


class Metadata(BaseModel):
    cadence_choices: list[Choice]
    """[seconds as a string, label] pairs; empty when any cadence is accepted."""
    connector_types: list[Choice]
    sql_versions: list[Choice]
    executor: Literal["scsync"]
    """Tells this executor from Kizen, whose /metadata has no such key."""


class CustomObjectView(BaseModel):
    id: Uuid
    name: str
    """The api_name."""
    object_name: str
    custom: bool


class CustomObjectPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[CustomObjectView]


def custom_object_view(obj: CustomObject) -> dict[str, Any]:
    return {"id": obj.id, "name": obj.name, "object_name": obj.object_name,
            "custom": obj.custom}


class Started(BaseModel):
    execution_id: Uuid


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    reason: str | None
    """Why not, when not ready."""
    replica: str | None
    """This replica's id on PostgreSQL; null on SQLite."""


def connector_view(connector: Connector) -> dict[str, Any]:
    return {
        "id": connector.id,
        "api_name": connector.api_name,
        "name": connector.name,
        "description": connector.description,
        "status": connector.status,
        "max_concurrent_executions": connector.max_concurrent_executions,
        "create_only": connector.create_only,
        "additional_notification_email": connector.additional_notification_email,
        "additional_error_notification_email": connector.additional_error_notification_email,
        "execution_ended_webhook_url": connector.execution_ended_webhook_url,
        "job": connector.job,
        "connector_type": connector.connector_type,
        "custom_object": connector.custom_object,
        "cadence": connector.cadence,
        "activity_object": connector.activity_object,
        "sql_version": connector.sql_version,
        "live_script": None,
        "last_draft_script": None,
        "flow": None,
        "stats": {"used_count": connector.used_count},
        "next_run_at": _iso(next_run(connector, time.time())),
        "schedule": {"last_slot": _iso(connector.schedule.last_slot),
                     "skipped": connector.schedule.skipped,
                     "missed": connector.schedule.missed},
        "last_used_at": connector.last_used_at,
        "created": connector.created,
        "updated": connector.updated,
    }


class Queue:
    """A connector's queue positions and running count, read once per response, if needed."""

    def __init__(self, executor: Executor, connector: Connector) -> None:
        self._executor = executor
        self._connector = connector
        self._read: tuple[dict[str, int], int] | None = None

    def reason(self, execution: Execution) -> str:
        if self._read is None:
            store, cid = self._executor.store, self._connector.id
            self._read = store.queue_positions(cid), store.running_count(cid)
        positions, running = self._read
        return waiting_reason(self._connector, positions.get(execution.id, 0), running,
                              dry_run=execution.is_dry_run)


def execution_view(executor: Executor, execution: Execution, connector: Connector,
                   base_url: str, *, detail: bool = False,
                   queue: Queue | None = None) -> dict[str, Any]:
    reason = execution.reason
    if execution.status == "queued":
        reason = (queue or Queue(executor, connector)).reason(execution)
    file_id = execution.report_file_id
    view: dict[str, Any] = {
        "id": execution.id,
        "connector_id": execution.connector_id,
        "api_name": connector.api_name,
        "status": execution.status,
        "reason": reason,
        "initiated_by": execution.initiated_by,
        "started_by": execution.initiated_by,
        "trigger_type": execution.trigger_type,
        "scheduled_for": _iso(execution.scheduled_for),
        "is_dry_run": execution.is_dry_run,
        "diff_check": execution.diff_check,
        "error_details": execution.reason if execution.status == "error" else None,
        "created": execution.created,
        "started_at": execution.started_at,
        "ended_at": execution.ended_at,
        "exit_code": execution.exit_code,
        "record_counts": execution.record_counts,
        "attempt": execution.attempt,
        "report_file_id": file_id,
        "report_url": f"{base_url}/api/files/{file_id}/download" if file_id else None,
        "replica_id": execution.replica_id,
    }
    if detail:
        view["notifications"] = executor.store.notifications_of(execution.id)
    return view


def activity_view(executor: Executor, activity: Activity) -> dict[str, Any]:
    last, connector = activity.last, activity.connector
    return {"connector_id": connector.id, "running": activity.running,
            "queued": activity.queued,
            "last_execution": execution_view(executor, last, connector,
                                             executor.settings.base_url) if last else None}


def _iso(epoch: int | None) -> str | None:
    return cadence.iso(epoch) if epoch is not None else None


def page_of(request: Request, total: int, number: int, size: int,
         results: list[dict[str, Any]]) -> dict[str, Any]:
    def link(to: int) -> str:
        return str(request.url.include_query_params(page=to, page_size=size))

    return {
        "count": total,
        "next": link(number + 1) if number * size < total else None,
        "previous": link(number - 1) if number > 1 else None,
        "results": results,
    }
