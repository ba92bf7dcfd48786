"""Request bodies and their field rules, which mirror the manifest schema.

Models are strict (no "3" for 3, no 1 for true) and refuse unknown fields, so
a typo in a field name is an error rather than a silently ignored setting.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

UPDATABLE_STATUSES = ("operational", "inactive")
STATUS_UPDATE_ERROR = "Status can only be set to 'Operational' or 'Inactive' on an update."

Status = Literal["setup", "operational", "need_attention", "inactive"]

_EMAIL = re.compile(r"^[^@\s,;<>()\[\]\\\"]+@[^@\s,;<>()\[\]\\\"]+\.[^@\s,;<>()\[\]\\\".]+$")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# A DNS label: letters, digits and hyphens, not at either end; underscores are
# tolerated because real names (service records, some intranets) carry them.
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def is_single_email(value: str) -> bool:
    return len(value) <= 254 and _EMAIL.match(value) is not None


def _single_email(value: str) -> str:
    if not is_single_email(value):
        raise ValueError("must be a single email address")
    return value


def webhook_url_problem(value: str) -> str | None:
    """What is wrong with a webhook URL, or None.

    Also asked by the delivery worker, of URLs stored before a check existed: a
    URL that can never work is a permanent failure there, not a network error.
    """
    try:
        parts = urlsplit(value)
    except ValueError:  # an unbalanced or invalid [IPv6] host
        return "must be a URL with a valid host name"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute https URL"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "must be a URL with a port number from 1 to 65535"
    if not _valid_host(parts.hostname):
        return "must be a URL with a valid host name"
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        return "must use https (http only for localhost and 127.0.0.1)"
    if parts.username or parts.password:
        return "must not carry credentials in the URL"
    return None


def _valid_host(host: str) -> bool:
    if ":" in host:  # urlsplit has taken off the brackets of an IPv6 literal
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return False
        return True
    try:
        # International names are checked in the ASCII form the resolver is given.
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.removesuffix(".").split(".")
    return len(ascii_host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def _webhook_url(value: str) -> str:
    if (problem := webhook_url_problem(value)) is not None:
        raise ValueError(problem)
    return value


def _relative_inside(value: str) -> str:
    if "\0" in value or value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value):
        raise ValueError("must be a relative path inside the repository")
    normal = posixpath.normpath(value.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        raise ValueError("must not leave the repository ('..')")
    return value


ApiName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_not_blank)]
Description = Annotated[str, StringConstraints(max_length=2000)]
Email = Annotated[str, AfterValidator(_single_email)]
WebhookUrl = Annotated[str, StringConstraints(max_length=2048), AfterValidator(_webhook_url)]
Limit = Annotated[int, Field(ge=0, le=100)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
EnvValue = Annotated[str, StringConstraints(max_length=32768)]
Argument = Annotated[str, StringConstraints(min_length=1, max_length=32768)]
WorkingDir = Annotated[str, StringConstraints(min_length=1, max_length=1024),
                       AfterValidator(_relative_inside)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Job(_Body):
    command: Annotated[list[Argument], Field(min_length=1, max_length=1000)]
    timeout_seconds: Annotated[int, Field(ge=1, le=86400)] = 3600
    env: Annotated[dict[EnvName, EnvValue], Field(max_length=500)] = Field(default_factory=dict)
    working_dir: WorkingDir | None = None


class ConnectorCreate(_Body):
    api_name: ApiName
    name: Name
    description: Description = ""
    status: Status = "setup"
    max_concurrent_executions: Limit = 1
    create_only: bool = False
    additional_notification_email: Email | None = None
    additional_error_notification_email: Email | None = None
    execution_ended_webhook_url: WebhookUrl | None = None
    job: Job | None = None


class ConnectorUpdate(_Body):
    """Every field optional; null clears the optional ones."""

    api_name: ApiName | None = None
    name: Name | None = None
    description: Description | None = None
    # Checked by the route, to answer with Kizen's exact 400 for the other statuses.
    status: Status | None = None
    max_concurrent_executions: Limit | None = None
    create_only: bool | None = None
    additional_notification_email: Email | None = None
    additional_error_notification_email: Email | None = None
    execution_ended_webhook_url: WebhookUrl | None = None
    job: Job | None = None
    force_api_name_change: bool = False


# Fields that refuse null on an update: they always have a value.
NOT_NULLABLE = ("api_name", "name", "description", "status", "max_concurrent_executions",
                "create_only")


class StartFlow(_Body):
    is_dry_run: bool = False
    disable_diff_check: bool = False
