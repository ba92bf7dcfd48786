"""uvicorn's h11 protocol with a deadline on each request, and the Config that installs it.

uvicorn has no timeout on reading a request: a client that sends its headers
(or nothing at all) one byte at a time holds a connection, and a task, for as
long as it likes.  `BoundedH11Protocol` arms one timer per request, from the
connection opening or the request's first byte until the end of its body:

- headers still incomplete at the deadline: the connection is closed (there is
  no request yet to answer);
- headers complete: the deadline is stamped into the request's scope, and
  `BodyLimitMiddleware` answers 408 at that moment if the body is not complete;
  the protocol closes the connection `GRACE` seconds later if the application
  has not finished answering, or at once if it already has (a 413 whose
  rejected body uvicorn is still reading and discarding).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle
from uvicorn.server import ServerState

from scsync.hosting.deadline import DEFAULT_DEADLINE, stamp

log = logging.getLogger("scsync.hosting")

GRACE = 1.0
"""Seconds the application has, after the deadline, to send its 408 before the cut."""


class HostingConfig(uvicorn.Config):
    """uvicorn's Config, serving over `BoundedH11Protocol` with `request_deadline`."""

    def __init__(self, app: Any, *, request_deadline: float = DEFAULT_DEADLINE,
                 **options: Any) -> None:
        # No WebSockets: neither service has any, and an upgraded connection would
        # leave this protocol (and its timer) behind.
        super().__init__(app, http=BoundedH11Protocol, ws="none", **options)
        self.request_deadline = request_deadline


class BoundedH11Protocol(H11Protocol):
    def __init__(self, config: uvicorn.Config, server_state: ServerState,
                 app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._limit = (config.request_deadline if isinstance(config, HostingConfig)
                       else DEFAULT_DEADLINE)
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._seen: object = h11.IDLE  # their_state after the last batch
        self._idle = False  # kept alive, waiting for the first byte of the next request

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._progress(None)  # a connection that sends nothing is cut off too

    def data_received(self, data: bytes) -> None:
        if self._idle:
            # The first byte of the next request on a kept-alive connection: it gets the
            # whole budget (the wait before it was bounded too, by the same timer).
            self._idle = False
            self._begin()
        cycle = self.cycle
        super().data_received(data)
        self._progress(cycle)

    def on_response_complete(self) -> None:
        cycle = self.cycle
        super().on_response_complete()
        self._progress(cycle)

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()
        super().connection_lost(exc)

    def _progress(self, previous: RequestResponseCycle | None) -> None:
        """After each batch of events: start, stamp or end the current request's budget."""
        if self.cycle is not previous and self.cycle is not None:
            if self._deadline is None:
                self._begin()  # a pipelined request, read from the buffer
            # The application has not seen the scope yet: its task starts on the next turn.
            stamp(self.cycle.scope, self._deadline)  # type: ignore[arg-type]
        their = self.conn.their_state
        if their is h11.IDLE:
            if self._seen is not h11.IDLE:
                # An exchange just ended.  The wait for the next request is bounded too:
                # uvicorn's keep-alive timer is not re-armed after a refused body it drained.
                self._idle = True
                self._begin()
            elif self._deadline is None:
                self._begin()  # a new connection: the budget runs from its opening
        elif their is not h11.SEND_BODY:
            self._end()  # the request is complete, or the connection is ending
        self._seen = their

    def _begin(self) -> None:
        self._end()
        self._deadline = self.loop.time() + self._limit
        self._timer = self.loop.call_at(self._deadline, self._expired)

    def _end(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._deadline = None

    def _expired(self) -> None:
        if self.transport.is_closing():
            return
        answering = (self.conn.their_state is h11.SEND_BODY and self.cycle is not None
                     and not self.cycle.response_complete)
        if answering:
            self._timer = self.loop.call_later(GRACE, self._cut)
        else:
            self._cut()

    def _cut(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info("%s did not send its request within %gs: connection closed",
                 client, self._limit)
        self.transport.close()
