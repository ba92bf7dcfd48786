"""Kizen's dialect of the SmartConnector API: its vocabularies, and how they map onto ours.

Kizen's own client (builder-cli's `kizen_builder.api.smart_connectors`) reads
these from `/metadata`, sends them in a create, and filters and orders its lists
with them; the embedded executor answers in the same words so that client, and
scsync's controller, work against it as against Kizen.  Pure data and functions.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from scsync import cadence, contract

CONNECTOR_TYPES: tuple[str, ...] = tuple(contract.field("connector_type").choices or ())
"""Kizen's connector types, as the manifest schema lists them (builder-cli's notes and the
issue; the labels are ours)."""

SQL_VERSIONS = ("1.3.x", "3.1.x", "3.4.x", "4.1.x")
"""The versions builder-cli's notes name (webhook connectors need 4.1.x)."""

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
"""An object id as Kizen gives it: a UUID in its hyphenated form."""

CADENCE_MIN: int = contract.field("cadence").minimum or 1
CADENCE_MAX: int = contract.field("cadence").maximum or 2_592_000
"""The manifest schema's bounds for a cadence, in seconds (30 days at most)."""

RESERVED_API_NAMES = frozenset({"metadata"})
"""Path words under /api/smart-connectors/ a connector's api_name would shadow."""

CONNECTOR_ORDERING = {"name": "name COLLATE NOCASE", "api_name": "api_name", "created": "created",
                      "status": "status"}
EXECUTION_ORDERING = {"created": "seq"}
"""The `ordering` keys of each list, and the column each sorts on (`-key` reverses)."""

EXECUTION_STATUS_ALIASES = {"failed": "error"}
"""Kizen's spellings of an execution status that the status filter also takes."""

ACTIVE_STATUSES = ("operational", "need_attention")
"""`active=true` of the connector list: the statuses whose live runs may start."""

_OBJECTS_NAMESPACE = uuid.UUID("0f5f0c1e-5c7b-4d0e-9a57-8a3c2f1b6d10")


@dataclass(frozen=True, slots=True)
class CustomObject:
    """An object a connector loads into, as `GET /api/custom-objects` lists it."""

    name: str
    """The api_name (`client_client`), as Kizen calls it in this list."""
    object_name: str
    """The display name."""
    custom: bool
    """False for built-ins, which the list leaves out unless `custom_only=false`."""

    @property
    def id(self) -> str:
        """Stable across restarts and executors: derived from the api_name."""
        return str(uuid.uuid5(_OBJECTS_NAMESPACE, self.name))


DEFAULT_OBJECTS = (CustomObject("client_client", "Contacts", custom=False),)
"""Kizen's built-in contacts object, the one every account has."""


def custom_object(spec: str) -> CustomObject:
    """`api_name` or `api_name=Display name`, as `--custom-object` takes it."""
    name, _, label = spec.partition("=")
    name = name.strip()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
        raise ValueError(f"{spec!r}: the api_name must be lowercase letters, digits and _")
    return CustomObject(name, label.strip() or name, custom=True)


def cadence_choices(seconds: tuple[int, ...]) -> list[list[str]]:
    """Kizen's shape of the choices: `[seconds as a string, label]` pairs."""
    return [[str(value), cadence.label(value)] for value in seconds]


def derived_api_name(name: str, taken: int = 0) -> str:
    """The api_name Kizen derives from a name: lowercase, `_` for separators.

    `taken` is how many earlier candidates were in use: the n-th retry gets the
    suffix `_<n+1>`, so the result stays unique and within 64 characters.
    """
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "connector"
    if not base[0].isalpha():
        base = f"c_{base}"
    n = max(taken, 1 if base in RESERVED_API_NAMES else 0)
    suffix = f"_{n + 1}" if n else ""
    base = base[:64 - len(suffix)].rstrip("_")
    return f"{base}{suffix}" if len(base + suffix) >= 2 else f"{base}_c{suffix}"


def order_by(key: str, columns: dict[str, str]) -> tuple[str, bool] | None:
    """The column and direction (descending?) of an `ordering` key, or None if unknown."""
    descending = key.startswith("-")
    column = columns.get(key.removeprefix("-"))
    return (column, descending) if column else None


def ordering_keys(columns: dict[str, str]) -> list[str]:
    return [form for key in columns for form in (key, f"-{key}")]
