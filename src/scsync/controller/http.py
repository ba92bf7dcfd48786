"""The controller's HTTP endpoints: the git webhook, health, readiness, metrics and status
(and the web UI's routes, which `server` passes in from `controller/ui`).

The webhook is GitHub's push event, signed with HMAC-SHA256 of the raw body
(`X-Hub-Signature-256: sha256=<hex>`) under SCSYNC_GIT_WEBHOOK_SECRET.  Without
a valid signature nothing happens (401); with one, a push to the watched branch
wakes the reconcile loop at once.  The payload is not trusted for anything
else: the pass fetches the branch itself.

Anyone who reaches the port can send a body before any signature is checked, so
`scsync.hosting` bounds it: over 25 MB is 413 (declared or chunked), and a
request not sent in full within the deadline is cut off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from scsync import __version__
from scsync.controller.guard import GuardMiddleware
from scsync.controller.loop import Loop, Reconciler
from scsync.controller.metrics import CONTENT_TYPE
from scsync.hosting import BodyLimitMiddleware

log = logging.getLogger("scsync.controller.http")

MAX_HOOK_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB


def signature_ok(secret: str | None, body: bytes, header: str | None) -> bool:
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def build_app(loop: Loop, reconciler: Reconciler,
              ui: Sequence[BaseRoute] = ()) -> Starlette:
    settings = loop.settings
    branch_ref = f"refs/heads/{settings.branch}"

    async def hook(request: Request) -> Response:
        body = await request.body()  # whole and under the cap: see BodyLimitMiddleware
        if not signature_ok(settings.webhook_secret, body,
                            request.headers.get("x-hub-signature-256")):
            reason = ("webhooks are disabled: SCSYNC_GIT_WEBHOOK_SECRET is not set"
                      if not settings.webhook_secret else "missing or bad signature")
            log.warning("webhook refused: %s", reason)
            return JSONResponse({"detail": reason}, status_code=401)
        event = request.headers.get("x-github-event", "push")
        if event == "ping":
            return JSONResponse({"detail": "pong"})
        payload = _payload(body, request.headers.get("content-type", ""))
        ref = payload.get("ref") if isinstance(payload, dict) else None
        if event != "push" or (ref is not None and ref != branch_ref):
            return JSONResponse({"detail": f"ignored: {event} {ref or ''}".strip()},
                                status_code=202)
        loop.trigger()
        if reconciler.snapshot.standby:  # behind a load balancer, /readyz keeps hooks away
            return JSONResponse({"detail": "standby: the leader reconciles the push on its "
                                 "next pass"}, status_code=202)
        return JSONResponse({"detail": "pass triggered"}, status_code=202)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> Response:
        snap = reconciler.snapshot
        if snap.standby:
            assert snap.leader is not None
            return JSONResponse({"status": "standby", "reason": "standby: "
                                 + (f"{snap.leader['holder']} leads" if snap.leader["holder"]
                                    else snap.leader["error"] or "no controller leads yet")},
                                status_code=503)
        if snap.ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready",
                             "reason": snap.last_error or "no pass has succeeded yet"},
                            status_code=503)

    async def metrics(request: Request) -> Response:
        return Response(reconciler.metrics.render(), media_type=CONTENT_TYPE)

    async def status(request: Request) -> Response:
        snap = reconciler.snapshot
        leader = {} if snap.leader is None else {"leader": dict(snap.leader)}
        return JSONResponse({
            "branch": settings.branch,
            **leader,
            "last_seen_commit": snap.last_seen_commit,
            "last_applied_commit": snap.last_applied_commit,
            "invalid_commit": snap.invalid_commit,
            "last_error": snap.last_error,
            "last_pass_at": snap.last_pass_at,
            "last_success_at": snap.last_success_at,
            "passes": snap.passes,
            "drift": settings.drift,
            "connectors": list(snap.connectors),
            "unmanaged": list(snap.unmanaged),
        })

    routes: list[BaseRoute] = [
        Route("/hooks/git", hook, methods=["POST"]),
        Route("/healthz", healthz), Route("/readyz", readyz),
        Route("/metrics", metrics), Route("/status", status),
        *ui,
    ]
    # The hook is open to anyone before its signature is checked: its body is capped
    # and read within the request's deadline before any of this code runs.  The guard
    # comes first: without the UI token (when one is set) nothing else is read.
    return Starlette(routes=routes, middleware=[
        Middleware(GuardMiddleware, token=settings.ui_token),
        Middleware(BodyLimitMiddleware, max_bytes=MAX_HOOK_BYTES,
                   deadline=settings.request_deadline),
    ])


def _payload(body: bytes, content_type: str) -> Any:
    """GitHub sends JSON, or a form with the JSON in `payload`, as the hook is configured."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            return json.loads(parse_qs(body.decode())["payload"][0])
        return json.loads(body)
    except (ValueError, KeyError, IndexError):
        return None
