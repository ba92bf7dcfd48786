"""The web UI's reads of the executor: through the one client, a few at a time, briefly kept.

The executor's connector list says nothing of executions.  The embedded executor
answers for all the rows of a page in one request (`/api/scsync/activity`);
Kizen has no such route, so there each row costs three small requests (running,
queued, the newest), sent on a few clients at once (one `requests` session per
thread: a session is not made for sharing).  Either way only the rows on the
page are asked for, and an answer is kept for `ttl` seconds: a page polled
every 2 s by several browsers asks once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from scsync.client import ExecutorClient, ExecutorError, NotFound

T = TypeVar("T")
CACHE_CAP = 20_000
BATCH = 200
"""Connectors per activity request (as many as the executor takes)."""


@dataclass(frozen=True, slots=True)
class Activity:
    """A connector's executions at a glance."""

    running: int
    queued: int
    last: Mapping[str, Any] | None


class ExecutorReader:
    """Reads for the UI, remembering when the executor last answered and its last error."""

    def __init__(self, make_client: Callable[[], ExecutorClient], *, workers: int = 4,
                 ttl: float = 1.5, clock: Callable[[], float] = time.monotonic) -> None:
        self._clients = [make_client() for _ in range(workers)]
        self._idle: queue.SimpleQueue[ExecutorClient] = queue.SimpleQueue()
        for client in self._clients:
            self._idle.put(client)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="scsync-ui")
        self._ttl, self._clock = ttl, clock
        self._kept: dict[str, tuple[float, Activity]] = {}
        self._lock = threading.Lock()
        self.heard_at: float | None = None
        """When the executor last answered (seconds since the epoch)."""
        self.error: str | None = None
        """Why its last answer failed; None once it answers again."""
        self._bulk = True
        """Whether the executor answers for many connectors at once (until it says 404)."""

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for client in self._clients:
            client.close()

    @contextmanager
    def _client(self) -> Iterator[ExecutorClient]:
        client = self._idle.get()
        try:
            yield client
        finally:
            self._idle.put(client)

    def _call(self, read: Callable[[ExecutorClient], T]) -> T:
        with self._client() as client:
            try:
                value = read(client)
            except NotFound:
                self._heard(None)  # an answer all the same
                raise
            except ExecutorError as exc:
                self.error = str(exc)
                raise
        self._heard(None)
        return value

    def _heard(self, error: str | None) -> None:
        self.heard_at, self.error = time.time(), error

    def connector(self, ref: str) -> dict[str, Any] | None:
        try:
            return self._call(lambda c: c.get_connector(ref))
        except NotFound:
            return None

    def executions(self, ref: str, limit: int = 50) -> list[dict[str, Any]]:
        return self._call(lambda c: c.execution_page(ref, page_size=limit))[1]

    def download(self, file_id: str) -> tuple[bytes, str]:
        return self._call(lambda c: c.download_file(file_id))

    def activity(self, refs: Iterable[str]) -> dict[str, Activity | None]:
        """Each connector's activity (None: the executor did not say), kept `ttl` seconds."""
        now = self._clock()
        out: dict[str, Activity | None] = {}
        wanted = []
        with self._lock:
            for ref in dict.fromkeys(refs):
                kept = self._kept.get(ref)
                if kept is not None and now - kept[0] < self._ttl:
                    out[ref] = kept[1]
                else:
                    wanted.append(ref)
        out.update(self._read_many(wanted))
        for ref in wanted:
            out.setdefault(ref, None)
        with self._lock:
            if len(self._kept) > CACHE_CAP:
                self._kept = {k: v for k, v in self._kept.items() if now - v[0] < self._ttl}
            self._kept.update((ref, (now, a)) for ref in wanted if (a := out[ref]) is not None)
        return out

    def _read_many(self, refs: list[str]) -> dict[str, Activity | None]:
        if not refs:
            return {}
        if self._bulk:
            try:
                return self._read_bulk(refs)
            except _NoBulk:
                self._bulk = False
            except ExecutorError:
                return dict.fromkeys(refs)
        # The first alone: when the executor is down, one timeout, not one per row.
        first = self._read_activity(refs[0])
        rest = refs[1:] if first is not None else []
        return dict(zip(refs, [first, *self._pool.map(self._read_activity, rest)],
                        strict=False))

    def _read_bulk(self, refs: list[str]) -> dict[str, Activity | None]:
        out: dict[str, Activity | None] = {}
        for start in range(0, len(refs), BATCH):
            chunk = refs[start:start + BATCH]
            answer = self._call(partial(ExecutorClient.activity, connector_ids=chunk))
            if answer is None:
                raise _NoBulk
            for item in answer:
                if isinstance(item, dict) and item.get("connector_id") in chunk:
                    out[item["connector_id"]] = Activity(
                        int(item.get("running") or 0), int(item.get("queued") or 0),
                        item.get("last_execution") or None)
            for ref in chunk:  # not among the answers: gone since the last pass
                out.setdefault(ref, Activity(0, 0, None))
        return out

    def _read_activity(self, ref: str) -> Activity | None:
        def read(client: ExecutorClient) -> Activity:
            running = client.execution_page(ref, status="running")[0]
            queued = client.execution_page(ref, status="queued")[0]
            newest = client.execution_page(ref)[1]
            return Activity(running, queued, newest[0] if newest else None)

        try:
            return self._call(read)
        except NotFound:
            return Activity(0, 0, None)  # gone since the last pass: nothing runs
        except ExecutorError:
            return None


class _NoBulk(Exception):
    """The executor has no activity route: ask per connector from now on."""
