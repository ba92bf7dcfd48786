"""One executor process as a replica among others on one PostgreSQL database.

Each replica:
- holds a lease (store_replicas.py), renewed every third of `--lease`; a renewal
  that fails means another replica took it for lost and ended its running
  executions: it stops its jobs without recording anything for them, and goes
  on under a new id;
- looks for replicas whose lease ran out at each renewal and, when another's
  lease runs out before the next one, at that moment; it ends their running
  executions as `error`, "interrupted: executor replica lost", with
  their notifications, which frees their slots;
- LISTENs for the others' wake-ups (a trigger, a PATCH, an ending, a fired
  slot: `NOTIFY` from `Replica.tell`), so a change on one replica starts queued
  executions on any replica within milliseconds; the scheduler's periodic
  pass (`--poll`, every second) stays as the fallback;
- keeps its id in `<data folder>/replica-id` while it runs (locked): a replica
  restarted before its lease ran out takes its lease back and ends its own
  interrupted executions at once, as a restarted SQLite executor does.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scsync.executor.settings import ExecutorSettings
from scsync.executor.store import Store, now_iso
from scsync.executor.store_replicas import CHANNEL
from scsync.hosting import wait_for_wakeup

log = logging.getLogger("scsync.executor.replicas")

_EXPIRY_MARGIN = 0.01
"""Seconds after a lease runs out before looking: the database's clock must be past it."""

ADMIT, SCHEDULE = "admit", "schedule"
"""What a wake-up is about: queued executions may start; the schedules changed."""


class Replica:
    def __init__(self, store: Store, settings: ExecutorSettings) -> None:
        self._store = store
        self._settings = settings
        self._id_file = _IdFile(settings.db_path.parent / "replica-id")
        self.id = self._id_file.id
        self.holds_lease = False
        self._stop = asyncio.Event()
        self._listener: threading.Thread | None = None
        self._listen_db: Any = None
        self._told: set[str] = set()

    def register(self) -> None:
        """Take the lease (before anything runs); a lost id is replaced by a new one."""
        if not self._store.register_replica(self.id, socket.gethostname(), os.getpid(),
                                            now_iso(), self._settings.lease_seconds):
            log.warning("replica %s was taken for lost while it was away; "
                        "starting as a new replica", self.id)
            self._renew_id()
            self._store.register_replica(self.id, socket.gethostname(), os.getpid(),
                                         now_iso(), self._settings.lease_seconds)
        self._store.replica_id = self.id
        self.holds_lease = True

    def _renew_id(self) -> None:
        self.id = self._id_file.replace()
        self._store.replica_id = self.id

    def tell(self, what: str = ADMIT) -> None:
        """Wake the other replicas (their admission, or their slot timer and admission).

        On the event loop: every tell of one loop iteration (a burst of triggers) goes
        out as one NOTIFY, at the end of it, rather than a database round trip each."""
        first = not self._told
        self._told.add(what)
        if first:
            asyncio.get_running_loop().call_soon(self._send)

    def _send(self) -> None:
        what = SCHEDULE if SCHEDULE in self._told else ADMIT  # a schedule wake admits too
        self._told.clear()
        try:
            self._store.notify_replicas(f"{self.id}:{what}")
        except Exception:  # a missed wake-up costs at most one --poll
            log.warning("cannot wake the other replicas", exc_info=True)

    def listen(self, loop: asyncio.AbstractEventLoop,
               on_wake: Callable[[str], None]) -> None:
        """Start the LISTEN thread: each wake-up of another replica calls `on_wake(what)`
        on the event loop."""
        self._listen_db = self._store.listen_connection()
        self._listen_db.execute(f"LISTEN {CHANNEL}")

        def run() -> None:
            while not self._stop.is_set():
                try:
                    for note in self._listen_db.notifies(timeout=1.0):
                        sender, _, what = note.payload.partition(":")
                        if sender != self.id:
                            loop.call_soon_threadsafe(on_wake, what or ADMIT)
                except Exception:
                    if self._stop.is_set():
                        return
                    log.warning("LISTEN lost; polling until it is back", exc_info=True)
                    self._reconnect_listener()

        self._listener = threading.Thread(target=run, name="scsync-listen", daemon=True)
        self._listener.start()

    def _reconnect_listener(self) -> None:
        with contextlib.suppress(Exception):
            self._listen_db.close()
        try:
            self._listen_db = self._store.listen_connection()
            self._listen_db.execute(f"LISTEN {CHANNEL}")
        except Exception:
            log.warning("cannot LISTEN again yet", exc_info=True)
            time.sleep(1.0)  # on the listener's own thread

    async def keep(self, on_lost: Callable[[list[str]], object],
                   on_lease_lost: Callable[[], Any]) -> None:
        """Renew the lease every third of it; take over lost replicas at each renewal and
        at the moment another's lease runs out, so their executions end within the lease
        of their last renewal, not a renewal period later."""
        every = self._settings.lease_seconds / 3
        renew_at = look_at = time.monotonic() + every
        while not self._stop.is_set():
            await wait_for_wakeup(self._stop, max(0.0, min(renew_at, look_at) - time.monotonic()))
            if self._stop.is_set():
                return
            if time.monotonic() >= renew_at:
                renew_at = time.monotonic() + every
                if not await self._renew(on_lease_lost):
                    look_at = renew_at
                    continue
            look_at = self._look_for_lost(on_lost, renew_at)

    async def _renew(self, on_lease_lost: Callable[[], Any]) -> bool:
        """Renew the lease; False when it could not be (another try at the next renewal)
        or was lost (then this replica goes on under a new id)."""
        try:
            renewed = self._store.renew_lease(self.id)
        except Exception:
            log.warning("cannot renew the lease of replica %s", self.id, exc_info=True)
            return False
        if not renewed:
            self.holds_lease = False
            log.error("replica %s lost its lease (another replica took it for lost and "
                      "ended its running executions); stopping its jobs and starting "
                      "again as a new replica", self.id)
            await on_lease_lost()
            self._renew_id()
            self.register()
            return False
        self.holds_lease = True
        return True

    def _look_for_lost(self, on_lost: Callable[[list[str]], object], renew_at: float) -> float:
        """Take over the replicas whose lease ran out; when to look next (the monotonic
        clock): just after the next lease to run out, if that is before `renew_at`."""
        try:
            lost = self._store.take_lost()
            if lost:
                on_lost(lost)
            left = self._store.next_expiry(self.id)
        except Exception:
            log.warning("cannot look for lost replicas", exc_info=True)
            return renew_at
        if left is None:
            return renew_at
        return min(renew_at, time.monotonic() + max(left, 0.0) + _EXPIRY_MARGIN)

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        with contextlib.suppress(Exception):
            if self._listen_db is not None:
                self._listen_db.close()

    def retire(self) -> None:
        """After a clean stop (every job ended and recorded): give the lease up."""
        with contextlib.suppress(Exception):
            self._store.retire_replica(self.id)
        self._id_file.close()


class _IdFile:
    """This replica's id, kept in the data folder while the process runs (locked, so two
    processes on one folder never share an id; the second gets one of its own)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle: Any = None
        self.id = str(uuid.uuid4())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+", encoding="ascii")  # noqa: SIM115 - held until close()
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # another process holds it (or no folder): an id of this run only
        os.set_inheritable(handle.fileno(), False)
        self._handle = handle
        handle.seek(0)
        kept = handle.read().strip()
        if _is_uuid(kept):
            self.id = kept
        else:
            self._write()

    def replace(self) -> str:
        self.id = str(uuid.uuid4())
        self._write()
        return self.id

    def _write(self) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.write(self.id + "\n")
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
