"""A bounded request body for both local services (the executor and the controller).

The middleware reads the whole body before the application runs, up to a cap
and within the request's deadline, then hands it over in one piece.  It answers
by itself, so it does not depend on how an application renders errors:

- 413 when `Content-Length` declares more than the cap (before a byte of the
  body is read: a client waiting for `100 Continue` never sends it), or when a
  body without one (chunked) grows past the cap: what was read is dropped at
  once, so memory never holds more than the cap;
- 408 when the body is not complete at the deadline, with `Connection: close`.

After a 413 uvicorn reads on and discards the rest of the body (so the client,
which sends all of it before reading, sees the answer); `protocol.py` closes
the connection if that goes on past the deadline.
"""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scsync.hosting.deadline import DEFAULT_DEADLINE, request_deadline


class _Disconnected(Exception):
    """The client went away before its body was complete: nobody to answer."""


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes`, declared or streamed; 408 past the deadline.

    `deadline` (seconds from the end of the headers) applies only when the
    server did not stamp one on the request, as `BoundedH11Protocol` does.
    """

    def __init__(self, app: ASGIApp, max_bytes: int,
                 deadline: float = DEFAULT_DEADLINE) -> None:
        self._app = app
        self._max = max_bytes
        self._deadline = deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await _answer(scope, receive, send, 400, "Content-Length is not a number.")
            return
        if declared is not None and int(declared) > self._max:
            await _answer(scope, receive, send, 413, self._too_large())
            return
        # The answers are sent after the except blocks: a live exception keeps `_read`'s
        # frame, and with it everything read so far.
        body: bytes | None = None
        timed_out = False
        try:
            async with asyncio.timeout_at(request_deadline(scope, self._deadline)):
                body = await self._read(receive)
        except TimeoutError:
            timed_out = True
        except _Disconnected:
            return
        if timed_out:
            await _answer(scope, receive, send, 408,
                          "Request not received in time: send the headers and the whole "
                          "body sooner.", close=True)
        elif body is None:
            await _answer(scope, receive, send, 413, self._too_large())
        else:
            await self._app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it grows past the cap."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._max:
                return None
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                # One chunk is returned as it is, not copied (bytes.join's shortcut).
                return b"".join(chunks)

    def _too_large(self) -> str:
        return f"Request body larger than {self._max} bytes."


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, in one message; then the server's own events (a disconnect)."""
    pending: list[bytes] = [body]

    async def replayed() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replayed


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, detail: str,
                  *, close: bool = False) -> None:
    headers = {"connection": "close"} if close else None
    await JSONResponse({"detail": detail}, status_code=status, headers=headers)(
        scope, receive, send)
