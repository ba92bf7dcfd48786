"""Live connectors (executor API spelling) to and from manifest-spelling settings.

Plans compare `Connector.settings()` with what this module makes of a live
connector, through the one diff model.  The executor stores a missing
description as "" and a job without `working_dir` with `working_dir: null`;
both are mapped to the manifest's spelling here so they never show as drift.

The two crossings happen here and nowhere else: a live connector into the
manifest's terms before the diff (`LiveConnector.settings`, `comparable`,
`manifest_status`), and desired values into API bodies after it
(`create_body`, `patch_body`); a plan speaks the manifest's spelling only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scsync.client import ExecutorClient, wire_name
from scsync.manifest.model import API_EXECUTABLE, API_STATUS, MANIFEST_STATUS, Connector

#: settings keys in `Connector.settings()` order
FIELDS = tuple(Connector(api_name="", name="", status="").settings())
#: Kizen's fields a manifest may leave out; then they are not compared (nor sent).
OPTIONAL_KIZEN = ("connector_type", "custom_object", "cadence")


@dataclass(frozen=True, slots=True)
class LiveConnector:
    """One connector as the executor reports it."""

    id: str
    api_name: str
    name: str
    status: str  # API spelling
    used_count: int
    raw: Mapping[str, Any]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> LiveConnector:
        stats = data.get("stats") or {}
        return cls(
            id=str(data["id"]),
            api_name=str(data["api_name"]),
            name=str(data.get("name") or ""),
            status=str(data.get("status") or ""),
            used_count=int(stats.get("used_count") or 0),
            raw=data,
        )

    @property
    def manifest_status(self) -> str:
        """The live status in the manifest's spelling (`need_attention` is
        `Operational - Needs Attention`); an unknown one as the executor wrote it."""
        return MANIFEST_STATUS.get(self.status, self.status)

    @property
    def running(self) -> bool:
        """Whether the live status lets executions start (either executable status)."""
        return self.status in API_EXECUTABLE

    def comparable(self, desired: Mapping[str, Any],
                   object_names: Mapping[str, str] | None = None) -> dict[str, Any]:
        """`settings()`, with what this executor does not hold taken from `desired`.

        Kizen's own executor has no `job`: there is nothing to compare, so the
        desired job stands for the live one instead of showing as a change.  A
        Kizen field the manifest leaves out is not managed, so not compared.
        """
        have = self.settings(object_names)
        if "job" not in self.raw:
            have["job"] = desired.get("job")
        for key in OPTIONAL_KIZEN:
            if desired.get(key) is None:
                have[key] = None
        return have

    def settings(self, object_names: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Manifest spelling, comparable with `Connector.settings()`.

        `object_names` (id -> api_name, from the executor's custom objects) names
        the live `custom_object`, which Kizen holds as an id.
        """
        data = self.raw
        out: dict[str, Any] = {}
        for key in FIELDS:
            value = data.get(wire_name(key))
            if key == "custom_object":
                value = _object_name(value, object_names or {})
            elif key == "cadence" and value is not None:
                value = _seconds(value)
            elif key == "status":
                value = MANIFEST_STATUS.get(str(value), value)
            elif key == "description":
                value = value or None
            elif key == "job" and isinstance(value, Mapping):
                value = _job(value)
            elif key == "max_concurrent_executions" and value is None:
                value = 1
            elif key == "create_only":
                value = bool(value)
            out[key] = value
        return out


def _object_name(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):  # an expanded object
        value = value.get("name") if isinstance(value.get("name"), str) else value.get("id")
    return names.get(value, value) if isinstance(value, str) else value


def _seconds(value: Any) -> Any:
    try:
        return int(str(value))  # Kizen spells its cadence choices as strings
    except ValueError:
        return value


def _job(job: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "command": list(job.get("command") or []),
        "timeout_seconds": job.get("timeout_seconds"),
        "env": dict(job.get("env") or {}),
    }
    if job.get("working_dir") is not None:
        out["working_dir"] = job["working_dir"]
    return out


def create_body(connector: Connector,
                overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The POST body that creates `connector` with every setting at once.

    `overrides` (manifest spelling) replace settings: the status a Kizen
    connector is created in, the id its `custom_object` resolves to.
    """
    settings = {**connector.settings(), **(overrides or {})}
    body = {wire_name(key): api_value(key, settings[key]) for key in FIELDS}
    # Optional values the manifest leaves out are simply not sent.
    return {k: v for k, v in body.items() if v is not None}


def patch_body(desired: Mapping[str, Any], keys: Iterable[str],
               overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A PATCH body setting top-level `keys` to their desired values (null clears).

    `overrides` (manifest spelling, e.g. `{"status": "Operational"}` where an
    update cannot set the manifest's own status) are set too, after `keys`.
    """
    body = {wire_name(key): api_value(key, desired.get(key)) for key in keys}
    for key, value in (overrides or {}).items():
        body[wire_name(key)] = api_value(key, value)
    return body


def api_value(key: str, value: Any) -> Any:
    if key == "status" and isinstance(value, str):
        return API_STATUS.get(value, value)
    if key == "description" and value is None:
        return ""  # the API refuses null here; "" is its "no description"
    return value


def read_live(client: ExecutorClient, page_size: int = 1000) -> list[LiveConnector]:
    """Every live connector, in pages (a few requests for thousands of connectors)."""
    return [LiveConnector.from_api(c) for c in client.list_connectors(page_size=page_size)]


def usage_check(client: ExecutorClient) -> Callable[[LiveConnector], bool]:
    """In use: `stats.used_count > 0`, or any execution at all (asked only when needed)."""

    def in_use(connector: LiveConnector) -> bool:
        if connector.used_count > 0:
            return True
        return next(iter(client.list_executions(connector.id, page_size=1)), None) is not None

    return in_use
