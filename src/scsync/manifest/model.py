"""The connector model: a manifest's settings with defaults applied.

Built only from documents that passed the schema, so field types are known.
Status spellings of the manifest (`Operational - Needs Attention`) and of the
executor API (`need_attention`) are mapped here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPERATIONAL = "Operational"
NEEDS_ATTENTION = "Operational - Needs Attention"
INACTIVE = "Inactive"
SETUP = "Setup"

STATUSES = (OPERATIONAL, NEEDS_ATTENTION, INACTIVE, SETUP)
EXECUTABLE = frozenset({OPERATIONAL, NEEDS_ATTENTION})

#: manifest spelling -> executor API spelling
API_STATUS = {
    OPERATIONAL: "operational",
    NEEDS_ATTENTION: "need_attention",
    INACTIVE: "inactive",
    SETUP: "setup",
}
MANIFEST_STATUS = {v: k for k, v in API_STATUS.items()}
#: the executable statuses in the executor API's spelling (what a live connector reports)
API_EXECUTABLE = frozenset(API_STATUS[status] for status in EXECUTABLE)

#: Kizen's connector types (the schema's `connector_type` enum, in its order)
CONNECTOR_TYPES = ("spreadsheet", "webhook", "schedule", "activity", "bulkaction",
                   "polling_third_party_api", "direct_api_connection")
#: the types that read `cadence`: a schedule's interval, a webhook's batching window
CADENCE_TYPES = frozenset({"schedule", "webhook"})

DEFAULT_MAX_CONCURRENT = 1
DEFAULT_TIMEOUT_SECONDS = 3600


def is_executable(status: str) -> bool:
    """In either spelling: a manifest's `Operational` or a live connector's `operational`."""
    return status in EXECUTABLE or status in API_EXECUTABLE


@dataclass(frozen=True, slots=True)
class JobSpec:
    command: tuple[str, ...]
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str | None = None

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "command": list(self.command),
            "timeout_seconds": self.timeout_seconds,
            "env": dict(self.env),
        }
        if self.working_dir is not None:
            body["working_dir"] = self.working_dir
        return body


@dataclass(frozen=True, slots=True)
class Connector:
    """The desired settings of one SmartConnector."""

    api_name: str
    name: str
    status: str
    description: str | None = None
    connector_type: str | None = None
    custom_object: str | None = None
    cadence: int | None = None
    max_concurrent_executions: int = DEFAULT_MAX_CONCURRENT
    create_only: bool = False
    additional_notification_email: str | None = None
    additional_error_notification_email: str | None = None
    execution_ended_webhook_url: str | None = None
    job: JobSpec | None = None
    path: str = field(default="", compare=False)

    @classmethod
    def from_data(cls, data: dict[str, Any], path: str = "") -> Connector:
        job_data = data.get("job")
        job = None
        if isinstance(job_data, dict):
            job = JobSpec(
                command=tuple(job_data["command"]),
                timeout_seconds=int(job_data.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
                env=tuple(sorted(dict(job_data.get("env") or {}).items())),
                working_dir=job_data.get("working_dir"),
            )
        return cls(
            api_name=data["api_name"],
            name=data["name"],
            status=data["status"],
            description=data.get("description"),
            connector_type=data.get("connector_type"),
            custom_object=data.get("custom_object"),
            cadence=int(data["cadence"]) if data.get("cadence") is not None else None,
            max_concurrent_executions=int(
                data.get("max_concurrent_executions", DEFAULT_MAX_CONCURRENT)
            ),
            create_only=bool(data.get("create_only", False)),
            additional_notification_email=data.get("additional_notification_email"),
            additional_error_notification_email=data.get("additional_error_notification_email"),
            execution_ended_webhook_url=data.get("execution_ended_webhook_url"),
            job=job,
            path=path,
        )

    @property
    def executable(self) -> bool:
        return self.status in EXECUTABLE

    def settings(self) -> dict[str, Any]:
        """The comparable settings, manifest spelling, defaults applied."""
        return {
            "api_name": self.api_name,
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "connector_type": self.connector_type,
            "custom_object": self.custom_object,
            "cadence": self.cadence,
            "max_concurrent_executions": self.max_concurrent_executions,
            "create_only": self.create_only,
            "additional_notification_email": self.additional_notification_email,
            "additional_error_notification_email": self.additional_error_notification_email,
            "execution_ended_webhook_url": self.execution_ended_webhook_url,
            "job": self.job.to_api() if self.job else None,
        }
