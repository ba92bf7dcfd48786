"""What the plan must know about the executor besides its connectors: its kind, the
cadences it offers and its custom objects.

The kind decides what a manifest without a live connector means.  The embedded
executor (`scsync executor serve`) runs the manifest's `job`, so such a manifest
is created from its settings.  On Kizen a connector is its SQL script and flow,
authored in Kizen; settings alone make an empty shell.

Detection (`--executor-kind auto`), in this order:

1. the OpenAPI document's title is "scsync executor": embedded;
2. `GET /healthz` answers exactly the embedded executor's `{"status": "ok",
   "version": ...}`: embedded (an executor serving no OpenAPI document);
3. anything else is Kizen.  Kizen's `/metadata` carries no scsync marker, and an
   executor scsync does not recognise is treated with Kizen's care: nothing is
   created from settings alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from scsync.client import BadResponse, ClientSideError, ExecutorClient, NotFound

Kind = Literal["embedded", "kizen"]
KINDS = ("auto", "embedded", "kizen")
EMBEDDED_TITLE = "scsync executor"


@dataclass(frozen=True, slots=True)
class ExecutorFacts:
    kind: Kind = "embedded"
    cadence_choices: tuple[int, ...] = ()
    """Seconds the executor offers (its /metadata `cadence_choices`); empty: any."""
    objects: Mapping[str, str] | None = field(default=None)
    """Custom object api_name -> id (GET /api/custom-objects); None: not served."""

    @property
    def object_names(self) -> dict[str, str]:
        """id -> api_name, to read a live connector's `custom_object` in manifest terms."""
        return {v: k for k, v in (self.objects or {}).items()}

    def object_id(self, value: str) -> str | None:
        """Kizen's id for a manifest's `custom_object` (an api_name or already an id)."""
        if self.objects is None:
            return value  # nothing to resolve against: sent as written
        if value in self.objects:
            return self.objects[value]
        return value if value in self.objects.values() else None


def detect_kind(client: ExecutorClient) -> Kind:
    if client.service_title() == EMBEDDED_TITLE:
        return "embedded"
    try:
        health = client.healthz()
    except (ClientSideError, BadResponse):
        return "kizen"
    if set(health) == {"status", "version"} and health.get("status") == "ok":
        return "embedded"
    return "kizen"


def cadence_choices(metadata: Mapping[str, Any] | None) -> tuple[int, ...]:
    """Kizen's `[[seconds as string, label], ...]` (bare values accepted) as seconds."""
    raw = (metadata or {}).get("cadence_choices")
    out: list[int] = []
    for item in raw if isinstance(raw, list) else []:
        value = item[0] if isinstance(item, list | tuple) and item else item
        try:
            out.append(int(str(value)))
        except ValueError:
            continue  # a choice that is not whole seconds cannot match a manifest's
    return tuple(sorted(set(out)))


def read_facts(client: ExecutorClient, kind: str, *, need_objects: bool,
               page_size: int = 1000) -> ExecutorFacts:
    """`kind` is "auto" (detected), "embedded" or "kizen"; objects are read only if needed."""
    found: Kind = detect_kind(client) if kind == "auto" else \
        "kizen" if kind == "kizen" else "embedded"
    choices = cadence_choices(client.metadata())
    objects = read_objects(client, page_size) if need_objects else None
    return ExecutorFacts(found, choices, objects)


def read_objects(client: ExecutorClient, page_size: int = 1000) -> dict[str, str] | None:
    """Custom object api_name -> id, every page of GET /api/custom-objects; None if not served."""
    try:
        return {str(r["name"]): str(r["id"])
                for r in client.list_custom_objects(page_size=page_size)
                if isinstance(r, Mapping) and r.get("id") is not None and r.get("name")}
    except NotFound:
        return None
