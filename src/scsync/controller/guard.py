"""What every answer of the controller's endpoints carries, and who may have it.

Every response gets the browser's safety headers: a Content-Security-Policy that
lets a page run only scripts and styles scsync itself serves (no inline script,
no other origin, no framing), `nosniff` and no referrer.

With a UI token configured (SCSYNC_UI_TOKEN; required when listening beyond
loopback, see settings.require_ui_token) every request but the open endpoints
must carry `Authorization: Bearer TOKEN`, loopback clients included: a proxy on
the same machine would otherwise make the whole network a loopback client.
The open ones are what infrastructure probes and GitHub call, and the webhook
checks its own signature: /healthz, /readyz, /metrics, /hooks/git.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/hooks/git"})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
SAFETY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def bearer_ok(token: str, header: str | None) -> bool:
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


class GuardMiddleware:
    """Safety headers on every answer; the bearer token before any route when one is set."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SAFETY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        if (self.token and scope["path"] not in OPEN_PATHS
                and not bearer_ok(self.token, Headers(scope=scope).get("authorization"))):
            refusal = PlainTextResponse(
                "401: this controller asks for its UI token: send 'Authorization: Bearer "
                "TOKEN' (the value of SCSYNC_UI_TOKEN)\n", status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="scsync"',
                         "Cache-Control": "no-store"})
            await refusal(scope, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)
