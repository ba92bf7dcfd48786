"""Request bodies, their field rules taken from the manifest schema (scsync.contract).

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
    field_validator,
)

from scsync import contract
from scsync.executor import dialect, formats

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


def _not_reserved(value: str) -> str:
    if value in dialect.RESERVED_API_NAMES:
        raise ValueError(f"{value!r} is reserved (it is a path of the API)")
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


# Every limit below is the manifest schema's (scsync.contract): what `validate`
# accepts is what the API accepts, and a limit changes in the schema alone.
_API_NAME = contract.field("api_name")
_NAME = contract.field("name")
_DESCRIPTION = contract.field("description")
_LIMIT = contract.field("max_concurrent_executions")
_COMMAND = contract.field("job.command")
_TIMEOUT = contract.field("job.timeout_seconds")
_ENV = contract.field("job.env")
_WORKING_DIR = contract.field("job.working_dir")


def _part(rule: contract.Field | None) -> contract.Field:
    if rule is None:  # pragma: no cover - a packaging bug
        raise AssertionError("the manifest schema lost a rule the executor checks")
    return rule


def _lengths(rule: contract.Field) -> StringConstraints:
    return StringConstraints(min_length=rule.min_length, max_length=rule.max_length)


def _range(rule: contract.Field) -> Any:
    return Field(ge=rule.minimum, le=rule.maximum)


def _published(rule: contract.Field) -> WithJsonSchema:
    """The schema of a field checked by a validator here rather than by pydantic: the manifest's."""
    schema = {"type": "string", "minLength": rule.min_length, "maxLength": rule.max_length,
              "pattern": rule.pattern}
    return WithJsonSchema({k: v for k, v in schema.items() if v is not None})


_ENV_VALUE = _part(_ENV.values)
_ARGUMENT = _part(_COMMAND.items)

ApiName = Annotated[str, StringConstraints(min_length=_API_NAME.min_length,
                                           max_length=_API_NAME.max_length,
                                           pattern=_API_NAME.pattern),
                   AfterValidator(_not_reserved)]
Name = Annotated[str, _lengths(_NAME), AfterValidator(_not_blank), _published(_NAME)]
Description = Annotated[str, _lengths(_DESCRIPTION)]
Email = Annotated[str, AfterValidator(_single_email),
                  _published(contract.field("additional_notification_email"))]
WebhookUrl = Annotated[str, StringConstraints(max_length=formats.WEBHOOK_URL_MAX),
                       AfterValidator(_webhook_url),
                       _published(contract.field("execution_ended_webhook_url"))]
Whole = BeforeValidator(_whole)
Limit = Annotated[int, _range(_LIMIT), Whole]
EnvName = Annotated[str, StringConstraints(pattern=formats.ENV_NAME_PATTERN)]
EnvValue = Annotated[str, _lengths(_ENV_VALUE)]
# pydantic would publish the key rule as patternProperties, which lets any other key through.
Env = Annotated[dict[EnvName, EnvValue], Field(max_length=_ENV.max_properties), WithJsonSchema({
    "type": "object", "maxProperties": _ENV.max_properties,
    "propertyNames": {"pattern": formats.ENV_NAME_PATTERN},
    "additionalProperties": {"type": "string", "maxLength": _ENV_VALUE.max_length}})]
Argument = Annotated[str, _lengths(_ARGUMENT)]
Command = Annotated[list[Argument], Field(min_length=_COMMAND.min_items,
                                          max_length=_COMMAND.max_items)]
Timeout = Annotated[int, _range(_TIMEOUT), Whole]
WorkingDir = Annotated[str, _lengths(_WORKING_DIR), AfterValidator(_relative_inside),
                       _published(_WORKING_DIR)]
# What an update may set; the route answers the other statuses with Kizen's own 400.
UpdateStatus = Annotated[Status, WithJsonSchema({"type": "string",
                                                 "enum": list(UPDATABLE_STATUSES)})]
NotNull = BeforeValidator(_not_null)

# Kizen's fields, with the manifest schema's rules (scsync.contract). A Literal cannot be
# built from data for the type checker: tests/test_contract.py holds it to the schema's enum.
ConnectorType = Literal["spreadsheet", "webhook", "schedule", "activity", "bulkaction",
                        "polling_third_party_api", "direct_api_connection"]
Cadence = Annotated[int, Field(ge=dialect.CADENCE_MIN, le=dialect.CADENCE_MAX,
                               description="Seconds between scheduled runs (a webhook "
                                           "connector's batching window)."), Whole]
ObjectId = Annotated[str, StringConstraints(pattern=dialect.UUID_PATTERN), Field(
    description="The id of the object the connector loads into (GET /api/custom-objects).")]
ActivityObject = Annotated[str, StringConstraints(min_length=1, max_length=255)]
SqlVersion = Literal["1.3.x", "3.1.x", "3.4.x", "4.1.x"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """As Kizen (DRF) refuses them, and PostgreSQL cannot store them (manifests: SC048)."""
        if has_nul(value):
            raise ValueError(NUL_REFUSED)
        return value


NUL_REFUSED = "Null characters are not allowed."


def has_nul(value: Any) -> bool:
    """A NUL character (U+0000) anywhere in a string, a list's or a mapping's."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


class Job(_Body):
    command: Command
    timeout_seconds: Timeout = _TIMEOUT.default
    env: Env = Field(default_factory=dict)
    working_dir: WorkingDir | None = None


class ConnectorCreate(_Body):
    """Kizen's create (name, custom_object, connector_type, ...) or scsync's; api_name,
    when left out, is derived from the name as Kizen derives it."""

    api_name: Annotated[ApiName, NotNull] | MISSING = MISSING
    name: Name
    connector_type: ConnectorType | None = None
    custom_object: ObjectId | None = None
    cadence: Cadence | None = None
    activity_object: ActivityObject | None = None
    sql_version: SqlVersion | None = None
    description: Description = ""
    status: Status = "setup"
    max_concurrent_executions: Limit = _LIMIT.default
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
    connector_type: Annotated[ConnectorType, NotNull] | MISSING = MISSING
    custom_object: Annotated[ObjectId, NotNull] | MISSING = MISSING
    cadence: Cadence | MISSING | None = MISSING
    activity_object: ActivityObject | MISSING | None = MISSING
    sql_version: SqlVersion | MISSING | None = MISSING
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
