"""Authentication as the outermost layer: a missing or wrong key gets 401 and nothing else.

This is ASGI middleware rather than a FastAPI dependency because FastAPI parses
the body before it runs dependencies: an unauthenticated caller would learn from
a 400 or 422 what the API accepts.  Here the check runs before routing and
before a single body byte is read.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from scsync.executor.settings import ExecutorSettings

# Liveness probes and API discovery need no key and reveal nothing about the data.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json"})


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, settings: ExecutorSettings) -> None:
        self._app = app
        self._key = settings.api_key.value.encode()
        self._business_id = settings.business_id.encode() if settings.business_id else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self._app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if not _same(headers.get(b"x-api-key"), self._key):
            await _reject(send, 401, "Missing or invalid X-API-KEY.")
            return
        if self._business_id is not None and not _same(headers.get(b"x-business-id"),
                                                         self._business_id):
            await _reject(send, 403, "X-BUSINESS-ID does not match this executor.")
            return
        await self._app(scope, receive, send)


def _same(given: bytes | None, expected: bytes) -> bool:
    # compare_digest takes time independent of where the first difference is.
    return given is not None and hmac.compare_digest(given, expected)


async def _reject(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})
