"""The executor's records: what the store reads and writes, as typed values.

Each record is built from its table's row in one place (`from_row`), where the
column types SQLite cannot keep (booleans, JSON) are turned back into Python
values, so no other module indexes a `dict[str, Any]` by column name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypedDict

Row = dict[str, Any]
"""One row as sqlite3 returns it; only this module and the store's SQL see it."""


class JobSpec(TypedDict):
    """A connector's job, as the API takes it (models.Job) and the store keeps it as JSON."""

    command: list[str]
    timeout_seconds: int
    env: dict[str, str]
    working_dir: str | None


class ConnectorSettings(TypedDict, total=False):
    """What a create sets (every key) or an update changes (the keys it sends)."""

    api_name: str
    name: str
    description: str
    status: str
    max_concurrent_executions: int
    create_only: bool
    additional_notification_email: str | None
    additional_error_notification_email: str | None
    execution_ended_webhook_url: str | None
    job: JobSpec | None
    connector_type: str | None
    custom_object: str | None
    cadence: int | None
    activity_object: str | None
    sql_version: str | None


@dataclass(frozen=True, slots=True)
class ScheduleState:
    """Where a scheduled connector's slots stand, in epoch seconds (see store_schedule.py)."""

    cursor: int | None = None
    """Every slot up to this one is decided; None until the connector has a schedule."""
    last_slot: int | None = None
    """The latest slot that came due (fired, or skipped because one was still queued)."""
    skipped: int = 0
    """Slots not queued because a scheduled execution was still waiting (coalesced)."""
    missed: int = 0
    """Slots that passed while no executor was running, and so never fired."""


@dataclass(frozen=True, slots=True)
class Connector:
    id: str
    api_name: str
    name: str
    description: str
    status: str
    max_concurrent_executions: int
    create_only: bool
    additional_notification_email: str | None
    additional_error_notification_email: str | None
    execution_ended_webhook_url: str | None
    job: JobSpec | None
    used_count: int
    last_used_at: str | None
    created: str
    updated: str
    # Kizen's fields, last and defaulted: a connector made by scsync alone has none.
    connector_type: str | None = None
    custom_object: str | None = None
    cadence: int | None = None
    activity_object: str | None = None
    sql_version: str | None = None
    schedule: ScheduleState = ScheduleState()

    @classmethod
    def from_row(cls, row: Row) -> Connector:
        return cls(
            id=row["id"], api_name=row["api_name"], name=row["name"],
            description=row["description"], status=row["status"],
            max_concurrent_executions=row["max_concurrent_executions"],
            create_only=bool(row["create_only"]),
            additional_notification_email=row["additional_notification_email"],
            additional_error_notification_email=row["additional_error_notification_email"],
            execution_ended_webhook_url=row["execution_ended_webhook_url"],
            job=json.loads(row["job"]) if row["job"] else None,
            connector_type=row["connector_type"], custom_object=row["custom_object"],
            cadence=row["cadence"], activity_object=row["activity_object"],
            sql_version=row["sql_version"],
            schedule=ScheduleState(row["schedule_cursor"], row["schedule_last_slot"],
                                   row["schedule_skipped"], row["schedule_missed"]),
            used_count=row["used_count"], last_used_at=row["last_used_at"],
            created=row["created"], updated=row["updated"],
        )


@dataclass(frozen=True, slots=True)
class Execution:
    id: str
    connector_id: str
    status: str
    reason: str | None
    initiated_by: str | None
    initiator_email: str | None
    is_dry_run: bool
    diff_check: bool
    trigger_type: str
    """`manual` for start-connector-flow (Kizen's word); `schedule` for scheduled runs."""
    scheduled_for: int | None
    """A scheduled execution's slot, in epoch seconds; None for a manual one."""
    created: str
    started_at: str | None
    ended_at: str | None
    exit_code: int | None
    record_counts: dict[str, int] | None
    report_file_id: str | None
    attempt: int
    pid: int | None
    pid_start_time: int | None
    """Clock ticks after boot (/proc/<pid>/stat field 22): tells the job from a reused pid."""
    pgid: int | None
    replica_id: str | None = None
    """On PostgreSQL, the replica that admitted and runs it; None on SQLite."""

    @classmethod
    def from_row(cls, row: Row) -> Execution:
        counts = row["record_counts"]
        return cls(
            id=row["id"], connector_id=row["connector_id"], status=row["status"],
            reason=row["reason"], initiated_by=row["initiated_by"],
            initiator_email=row["initiator_email"], is_dry_run=bool(row["is_dry_run"]),
            diff_check=bool(row["diff_check"]), trigger_type=row["trigger_type"],
            scheduled_for=row["scheduled_for"], created=row["created"],
            started_at=row["started_at"], ended_at=row["ended_at"],
            exit_code=row["exit_code"],
            record_counts=json.loads(counts) if counts is not None else None,
            report_file_id=row["report_file_id"], attempt=row["attempt"], pid=row["pid"],
            pid_start_time=row["pid_start_time"], pgid=row["pgid"],
            replica_id=row.get("replica_id"),
        )


@dataclass(frozen=True, slots=True)
class Activity:
    """A connector's executions at a glance: how many run and wait, and the newest."""

    connector: Connector
    running: int
    queued: int
    last: Execution | None


@dataclass(frozen=True, slots=True)
class SlotOutcome:
    """What one connector's due slot came to, as the store decided it."""

    connector_id: str
    next_due: int | None
    """When its next slot starts (epoch seconds); None when it has no schedule any more."""
    slot: int | None = None
    """The slot that came due, if one did."""
    execution_id: str | None = None
    """The execution the slot fired; None when it was skipped or none came due."""
    skipped: bool = False
    missed: int = 0


@dataclass(frozen=True, slots=True)
class Report:
    """An ending's report file: its id (the download link) and its bytes."""

    file_id: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Ending:
    """How an execution ended: the one shape the runner, the outbox and the store share.

    A cancelled execution never ran, so it has no report; every other ending has one.
    """

    status: str
    reason: str | None
    ended_at: str
    exit_code: int | None = None
    record_counts: dict[str, int] | None = None
    report: Report | None = None


@dataclass(frozen=True, slots=True)
class JobProcess:
    """A started job's process, as a restart needs it to find and stop a leftover job."""

    pid: int
    start_time: int | None
    pgid: int


@dataclass(frozen=True, slots=True)
class Notification:
    """One outbox row to write when an execution ends."""

    kind: str  # "email" or "webhook"
    target: str
    payload: dict[str, Any]
    state: str = "pending"  # "skipped" when the channel is not configured
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A pending outbox row, as the delivery worker reads it."""

    id: int
    kind: str
    target: str
    payload: dict[str, Any]
    attempts: int

    @classmethod
    def from_row(cls, row: Row) -> Delivery:
        return cls(id=row["id"], kind=row["kind"], target=row["target"],
                   payload=json.loads(row["payload"]), attempts=row["attempts"])


class Attempt(TypedDict):
    attempt: int
    at: str
    ok: bool
    detail: str


class NotificationState(TypedDict):
    """An outbox row as an execution's detail shows it, with every attempt so far."""

    kind: str
    target: str
    state: str
    attempts: int
    last_error: str | None
    history: list[Attempt]


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: str
    name: str
    content_type: str
    content: bytes

    @classmethod
    def from_row(cls, row: Row) -> StoredFile:
        return cls(id=row["id"], name=row["name"], content_type=row["content_type"],
                   content=row["content"])
