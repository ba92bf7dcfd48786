"""Wiring: state, client, reconcile loop and HTTP endpoints in one process (`scsync controller`)."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import uvicorn

from scsync.client import Credentials, ExecutorClient
from scsync.controller.http import build_app
from scsync.controller.loop import Loop, Reconciler
from scsync.controller.metrics import ControllerMetrics
from scsync.controller.settings import ControllerSettings
from scsync.controller.state import State

log = logging.getLogger("scsync.controller")


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                           "%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger("scsync")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def serve(settings: ControllerSettings,
          on_started: Callable[[ControllerSettings], None] | None = None) -> int:
    """Run until SIGINT or SIGTERM; 0 after a clean stop."""
    local = Path(settings.repo)
    credentials = Credentials.from_env(local if local.is_dir() else None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with State(settings.state_path) as state, \
            ExecutorClient(settings.executor_url, credentials,
                           timeout=settings.request_timeout) as client:
        reconciler = Reconciler(settings, state, client, ControllerMetrics())
        loop = Loop(reconciler, settings)
        config = uvicorn.Config(build_app(loop, reconciler), host=settings.listen_host,
                                port=settings.listen_port, log_level="warning",
                                access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        if not settings.webhook_secret:
            log.warning("POST /hooks/git answers 401 to everything: set "
                        "SCSYNC_GIT_WEBHOOK_SECRET to enable push webhooks")
        loop.start()
        # uvicorn handles SIGINT/SIGTERM itself, then re-raises the signal once it has
        # stopped; SIGTERM's default action would end the process before the cleanup
        # below (and leave `scsync up`'s executor behind), so it becomes an exception.
        previous = signal.signal(signal.SIGTERM, _terminated)
        try:
            if on_started is not None:
                on_started(settings)
            log.info("endpoints on http://%s:%d (/status /healthz /readyz /metrics "
                     "/hooks/git)", settings.listen_host, settings.listen_port)
            server.run()
        except (KeyboardInterrupt, Terminated):
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            loop.stop()
            reconciler.close()
    log.info("controller stopped")
    return 0


class Terminated(Exception):
    """SIGTERM arrived: stop cleanly."""


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated
