"""Which controller writes: with `--lock`, the one holding the lock; without it, this one.

Any number of controllers of one repository, branch and executor may run; the
lock (a PostgreSQL advisory lock, `controller/postgres.py`) elects one leader,
and the others stand by: they serve their endpoints, say who leads, and write
nothing.  A standby tries the lock every `RETRY` seconds, so it takes over
about a second after the leader's session ends.  The leader confirms the lock
before each connector it writes (and every `RETRY` seconds while it waits for
the next pass); the moment it cannot, it stops writing and stands by again,
leaving the lock to the others for `STEP_ASIDE` seconds.

What is left open: a leader that confirmed the lock and then loses it (its
network cut at that instant) can still send the one request it was about to
send.  Creates are idempotent by api_name (`apply.py`), so the worst is one
update written twice, the same by both.  Only `Leadership` talks to the lock;
the loop asks it, in its own thread.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import Gauge

from scsync.errors import ScsyncError

log = logging.getLogger("scsync.controller")

RETRY = 1.0
"""Seconds between a standby's tries of the lock, and between a waiting leader's checks."""
STEP_ASIDE = 2.5 * RETRY
"""Seconds a controller that lost the lock leaves it to the standbys (each tries within
a second) before it tries again: its own session, or its network, just failed."""


@dataclass(frozen=True, slots=True)
class Holder:
    """A controller as /status names it."""

    name: str
    """`host:pid`."""
    url: str
    """Its endpoints, e.g. http://10.0.0.5:9090."""
    since: float | None = None
    """When it took the lock (Unix time)."""


class Lock(Protocol):
    """The election's medium: PostgreSQL's advisory lock (`postgres.AdvisoryLock`)."""

    def try_acquire(self) -> Holder | None:
        """Take the lock if it is free: this controller as the holder, or None.

        Raises `ScsyncError` when the database cannot be reached."""

    def confirm(self) -> bool:
        """Whether this controller still holds the lock (False when its session is gone)."""

    def holder(self) -> Holder | None:
        """Who holds the lock now, if anyone (and it is known)."""

    def release(self) -> None:
        """Give the lock up (a clean stop: a standby takes over at once)."""


class NotLeader(ScsyncError):
    """This controller no longer holds the lock: it writes nothing more."""


class Leadership:
    """This controller's role.  Without a lock it always leads (and `view` is None)."""

    def __init__(self, lock: Lock | None, me: Holder, gauge: Gauge) -> None:
        self._lock = lock
        self.me = me
        self._gauge = gauge
        self.leading = lock is None
        self._since: float | None = time.time() if lock is None else None
        self._leader: Holder | None = None
        self._error: str | None = None
        self._aside_until = 0.0
        gauge.set(1 if self.leading else 0)

    @classmethod
    def alone(cls, gauge: Gauge) -> Leadership:
        """The one controller, without --lock."""
        return cls(None, Holder("", ""), gauge)

    @property
    def locked(self) -> bool:
        """Whether an election decides (`--lock`)."""
        return self._lock is not None

    def campaign(self) -> bool:
        """Try to lead, when standing by; True only when this call took the lock."""
        if self._lock is None or self.leading:
            return False
        try:
            won = None if time.monotonic() < self._aside_until else self._lock.try_acquire()
            self._leader = won or self._lock.holder()
        except ScsyncError as exc:
            if str(exc) != self._error:  # once an outage, not every second
                log.warning("standing by: %s", exc)
            self._error, self._leader = str(exc), None
            return False
        if self._error is not None:
            log.info("the lock's database answers again")
            self._error = None
        if won is None:
            return False
        self.leading, self._since = True, won.since
        self._gauge.set(1)
        log.info("took the lock: leading (%s)", self.me.name)
        return True

    def confirm(self) -> None:
        """Before a write: raise `NotLeader` unless the lock is still held."""
        if not self.still_held():
            raise NotLeader("this controller no longer holds the lock")

    def still_held(self) -> bool:
        if self._lock is None:
            return True
        if self.leading and not self._lock.confirm():
            self.leading, self._since = False, None
            self._aside_until = time.monotonic() + STEP_ASIDE
            self._gauge.set(0)
            log.warning("lost the lock: standing by, writing nothing more")
        return self.leading

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self.leading = False
            self._gauge.set(0)

    def view(self) -> dict[str, Any] | None:
        """/status's `leader`: who leads, and whether it is this controller."""
        if self._lock is None:
            return None
        leader = Holder(self.me.name, self.me.url, self._since) if self.leading \
            else self._leader
        return {"is_me": self.leading, "holder": leader.name if leader else None,
                "url": leader.url if leader else None,
                "since": leader.since if leader else None, "me": self.me.name,
                "error": self._error}
