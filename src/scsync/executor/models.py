"""Request bodies and their field rules, which mirror the manifest schema.

Models are strict (no "3" for 3, no 1 for true) and refuse unknown fields, so
a typo in a field name is an error rather than a silently ignored setting.
What each field accepts is what /openapi.json says of it: the free-text rules
are the patterns of `formats`, published as they are checked.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    MISSING,
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from scsync.executor import formats

UPDATABLE_STATUSES = ("operational", "inactive")
STATUS_UPDATE_ERROR = "Status can only be set to 'Operational' or 'Inactive' on an update."

Status = Literal["setup", "operational", "need_attention", "inactive"]

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def _not_blank(value: str) -> str:
    if not formats.is_visible(value):
        raise ValueError("must not be blank")
    return value


def is_single_email(value: str) -> bool:
    return formats.is_email(value)


def _single_email(value: str) -> str:
    if not is_single_email(value):
        raise ValueError("must be a single email address")
    return value


def webhook_url_problem(value: str) -> str | None:
    """What makes a webhook URL unusable, or None.

    The delivery worker asks this of URLs stored before the API checked them
    (a URL that can never work is a permanent failure there, not a network
    error), and the API asks it to explain a URL its pattern has refused.
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
        return "must use https (http only for localhost, 127.0.0.1 and [::1])"
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
    if formats.is_webhook_url(value):
        return value
    # Explained only once refused: the pattern alone decides, as the document says.
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an absolute https URL")
    raise ValueError(webhook_url_problem(value) or (
        "must be a URL without white space or control characters, its host name in "
        "ASCII (an international one in its xn-- form)"))


def _relative_inside(value: str) -> str:
    if (problem := formats.working_dir_problem(value)) is not None:
        raise ValueError(problem)
    return value


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("may not be null (leave the field out to keep its value)")
    return value


def _whole(value: object) -> object:
    # JSON has one number type, and JSON Schema's "integer" takes 3.0: so does the API.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _string(**schema: object) -> WithJsonSchema:
    """The published schema of a field checked by a validator here rather than by pydantic."""
    return WithJsonSchema({"type": "string", **schema})


ApiName = Annotated[str, StringConstraints(pattern=formats.API_NAME_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_not_blank),
                 _string(minLength=1, maxLength=255, pattern=formats.VISIBLE_PATTERN)]
Description = Annotated[str, StringConstraints(max_length=2000)]
Email = Annotated[str, AfterValidator(_single_email),
                  _string(maxLength=formats.EMAIL_MAX, pattern=formats.EMAIL_PATTERN)]
WebhookUrl = Annotated[str, StringConstraints(max_length=formats.WEBHOOK_URL_MAX),
                       AfterValidator(_webhook_url),
                       _string(maxLength=formats.WEBHOOK_URL_MAX,
                               pattern=formats.WEBHOOK_URL_PATTERN)]
Whole = BeforeValidator(_whole)
Limit = Annotated[int, Field(ge=0, le=100), Whole]
EnvName = Annotated[str, StringConstraints(pattern=formats.ENV_NAME_PATTERN)]
EnvValue = Annotated[str, StringConstraints(max_length=32768)]
# pydantic would publish the key rule as patternProperties, which lets any other key through.
Env = Annotated[dict[EnvName, EnvValue], Field(max_length=500), WithJsonSchema({
    "type": "object", "maxProperties": 500,
    "propertyNames": {"pattern": formats.ENV_NAME_PATTERN},
    "additionalProperties": {"type": "string", "maxLength": 32768}})]
Argument = Annotated[str, StringConstraints(min_length=1, max_length=32768)]
WorkingDir = Annotated[str, StringConstraints(min_length=1, max_length=1024),
                       AfterValidator(_relative_inside),
                       _string(minLength=1, maxLength=1024, pattern=formats.WORKING_DIR_PATTERN)]
# What an update may set; the route answers the other statuses with Kizen's own 400.
UpdateStatus = Annotated[Status, WithJsonSchema({"type": "string",
                                                 "enum": list(UPDATABLE_STATUSES)})]
NotNull = BeforeValidator(_not_null)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Job(_Body):
    command: Annotated[list[Argument], Field(min_length=1, max_length=1000)]
    timeout_seconds: Annotated[int, Field(ge=1, le=86400), Whole] = 3600
    env: Env = Field(default_factory=dict)
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
    """Every field optional: a field left out keeps its value.

    null clears the optional settings (the emails, the webhook, the job, and the
    description, which becomes ""); the fields that always have a value refuse it.
    """

    api_name: Annotated[ApiName, NotNull] | MISSING = MISSING
    name: Annotated[Name, NotNull] | MISSING = MISSING
    description: Description | MISSING | None = MISSING
    status: Annotated[UpdateStatus, NotNull] | MISSING = MISSING
    max_concurrent_executions: Annotated[Limit, NotNull] | MISSING = MISSING
    create_only: Annotated[bool, NotNull] | MISSING = MISSING
    additional_notification_email: Email | MISSING | None = MISSING
    additional_error_notification_email: Email | MISSING | None = MISSING
    execution_ended_webhook_url: WebhookUrl | MISSING | None = MISSING
    job: Job | MISSING | None = MISSING
    force_api_name_change: bool = False

    def changes(self) -> dict[str, Any]:
        """The settings the body sets, as the store keeps them."""
        changes = self.model_dump(exclude={"force_api_name_change"})
        if "description" in changes and changes["description"] is None:
            changes["description"] = ""
        return changes


class StartFlow(_Body):
    is_dry_run: bool = False
    disable_diff_check: bool = False
