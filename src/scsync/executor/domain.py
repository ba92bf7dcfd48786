"""The executor's rules: which statuses run, what an update may set, when api_name may change.

Pure functions of the records, with no store, HTTP or clock, so each rule is
written once, used by the service (service.py) and tested in-process.  A rule
that refuses raises a `Refusal`; api.py alone knows which HTTP status each one is.
"""

from __future__ import annotations

from scsync import cadence
from scsync.errors import ScsyncError
from scsync.executor.dialect import CustomObject
from scsync.executor.models import STATUS_UPDATE_ERROR, UPDATABLE_STATUSES
from scsync.executor.records import Connector, ConnectorSettings
from scsync.findings import Severity
from scsync.identity import api_name_change
from scsync.manifest import model

EXECUTABLE: frozenset[str] = model.API_EXECUTABLE
"""The API spellings of the statuses whose executions may start (the manifest's one map)."""

_STATUS_WORDS = {"setup": "in setup", "inactive": "inactive"}


class Refusal(ScsyncError):
    """A request the executor's rules refuse; the message says why, for the caller."""


class NotFound(Refusal):
    """No such connector, execution or file."""


class Conflict(Refusal):
    """The request contradicts the current state: a name taken or in use, an ended execution."""


class InvalidChange(Refusal):
    """An update sets what no update may set (a status other than operational or inactive)."""


class BadRequest(Refusal):
    """A value the executor does not offer: an ordering key, a cadence, an object."""


_FIXED_AT_CREATE = ("connector_type", "custom_object")
"""What Kizen cannot change in place: a connector loads into one object, one way."""


def is_executable(status: str) -> bool:
    return status in EXECUTABLE


def check_update(connector: Connector, changes: ConnectorSettings, *,
                 force_api_name_change: bool) -> None:
    """Refuse an update its body alone cannot tell is wrong: the status, then the name."""
    if "status" in changes and changes["status"] not in UPDATABLE_STATUSES:
        raise InvalidChange(STATUS_UPDATE_ERROR)
    for key in _FIXED_AT_CREATE:
        current, new = getattr(connector, key), changes.get(key)
        if new is not None and current is not None and new != current:
            raise InvalidChange(f"{key} cannot change once set (it is {current!r}); "
                                "make a new connector instead.")
    if (refusal := api_name_change_refusal(connector, changes.get("api_name"),
                                           force=force_api_name_change)) is not None:
        raise Conflict(refusal)


def api_name_change_refusal(connector: Connector, new_name: str | None, *,
                            force: bool) -> str | None:
    """The api_name guard: why `connector` may not be renamed to `new_name`, or None.

    Callers (jobs, other connectors) refer to a used connector by its name, so a
    rename of one that has run needs `force`.  Whether it may is scsync.identity's
    decision, the one review and plan make; the words are the API's own.
    """
    if new_name is None:
        return None
    decision = api_name_change(connector.id, connector.api_name, new_name,
                               uses=connector.used_count, allowed=force)
    if decision is None or decision.severity is not Severity.ERROR:
        return None
    return (f"api_name cannot change: the connector has been used "
            f"{connector.used_count} time(s) and callers refer to it by name; "
            'send "force_api_name_change": true to change it anyway.')


def check_kizen_fields(changes: ConnectorSettings, *, cadences: tuple[int, ...],
                       objects: tuple[CustomObject, ...]) -> None:
    """Refuse a cadence this executor does not offer, or an object it does not have."""
    wanted = changes.get("cadence")
    if cadences and wanted is not None and wanted not in cadences:
        offered = ", ".join(f"{c} ({cadence.label(c)})" for c in cadences)
        raise BadRequest(f"cadence {wanted} is not offered by this executor; "
                         f"allowed: {offered}.")
    target = changes.get("custom_object")
    if target is not None and target.lower() not in {o.id for o in objects}:
        raise BadRequest(f"custom_object {target!r} is not an object of this executor; "
                         "GET /api/custom-objects?custom_only=false lists their ids.")


def next_run(connector: Connector, now: float) -> int | None:
    """When the connector's next scheduled slot starts (epoch seconds), None without one.

    The slot after the cursor; if that one has passed (the timer is about to fire
    it, or no executor ran), the latest slot, the one that fires.
    """
    every = cadence.schedule_of(connector.connector_type, connector.cadence)
    if every is None:
        return None
    if connector.schedule.cursor is None:
        return cadence.next_slot(now, every)
    return max(connector.schedule.cursor + every, cadence.slot_at(now, every))


def cancel_refusal(status: str) -> str:
    """Why an execution in `status` cannot be cancelled: only a queued one can."""
    if status == "running":
        return "The execution is running; only queued executions can be cancelled."
    return f"The execution already ended ({status})."


def cancel_reason(user: str | None) -> str:
    return f"cancelled by {user}" if user else "cancelled"


def waiting_reason(connector: Connector, position: int, running: int, *,
                   dry_run: bool = False) -> str:
    """Why a queued execution has not started, in words a user can act on.

    A dry run waits for a slot only: like Kizen, it runs whatever the status.
    """
    status = connector.status
    if not dry_run and not is_executable(status):
        return f"waiting: connector is {_STATUS_WORDS.get(status, status)}"
    limit = connector.max_concurrent_executions
    if limit == 0:
        return "waiting: max_concurrent_executions is 0"
    if running >= limit:
        return (f"waiting: {running} of {limit} slots busy "
                f"(position {position} in the queue)")
    return f"waiting: starting (position {position} in the queue)"
