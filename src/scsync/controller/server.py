"""Wiring: state, client, reconcile loop and HTTP endpoints in one process (`scsync controller`)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType, ModuleType

import uvicorn

from scsync.client import Credentials, ExecutorClient, RetryPolicy
from scsync.controller.http import build_app
from scsync.controller.leader import Holder, Leadership
from scsync.controller.loop import Loop, Reconciler
from scsync.controller.metrics import ControllerMetrics
from scsync.controller.settings import ControllerSettings, redact_url, require_ui_token
from scsync.controller.state import State
from scsync.controller.ui.routes import ui_routes
from scsync.controller.ui.source import ExecutorReader
from scsync.controller.ui.views import Context
from scsync.errors import ConfigError, UsageError
from scsync.hosting import HostingConfig, prepare_data_dir

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
    # The address first: a controller that cannot serve its endpoints must not
    # reconcile (write to the executor) before it finds out.  Nor one that would
    # show them to anyone who reaches a public address.
    require_ui_token(settings)
    # Likewise the lock's database: a URL that cannot work stops the start.
    state = _shared_state(settings) if settings.lock_url else None
    try:
        sock = listen_socket(settings.listen_host, settings.listen_port)
    except BaseException:
        if state is not None:
            state.close()
        raise
    try:
        return _serve(settings, sock, on_started, state)
    finally:
        sock.close()


def _postgres() -> ModuleType:
    """controller/postgres.py, imported only for --lock (it needs the optional driver)."""
    try:
        from scsync.controller import postgres
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "psycopg":
            raise
        raise ConfigError("--lock needs PostgreSQL's driver psycopg, which is not installed: "
                          "pip install 'scsync[postgres]'") from None
    return postgres


def _shared_state(settings: ControllerSettings) -> State:
    assert settings.lock_url is not None
    postgres = _postgres()
    scope = postgres.Scope.of(settings)
    state: State = postgres.PostgresState(settings.lock_url, scope)
    log.info("--lock: state and leadership in PostgreSQL %s (schema %s, lock key %d)",
             redact_url(settings.lock_url), scope.schema, scope.key)
    return state


def _leadership(settings: ControllerSettings, sock: socket.socket,
                metrics: ControllerMetrics) -> Leadership | None:
    if settings.lock_url is None:
        return None
    postgres = _postgres()
    me = Holder(f"{socket.gethostname()}:{os.getpid()}", _address(settings, sock))
    lock = postgres.AdvisoryLock(settings.lock_url, postgres.Scope.of(settings), me)
    return Leadership(lock, me, metrics.leader)


def _address(settings: ControllerSettings, sock: socket.socket) -> str:
    """The endpoints' URL as another host would use it (the bound port, not the asked)."""
    host = settings.listen_host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - compared, not bound
        host = socket.gethostname()
    return f"http://{_host(host)}:{sock.getsockname()[1]}"


def listen_socket(host: str, port: int) -> socket.socket:
    """The endpoints' socket, bound; a busy or bad address is a usage error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind((host, port))
        # Listening now, not when uvicorn gets to it: once the address is logged,
        # a client connecting is queued rather than refused.
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise UsageError(f"cannot listen on {where}: {exc.strerror or exc} (another "
                         "controller there? choose another address with --listen)") from None
    return sock


def _serve(settings: ControllerSettings, sock: socket.socket,
           on_started: Callable[[ControllerSettings], None] | None,
           shared: State | None = None) -> int:
    local = Path(settings.repo)
    credentials = Credentials.from_env(local if local.is_dir() else None)
    prepare_data_dir(settings.data_dir)
    metrics = ControllerMetrics()
    leadership = _leadership(settings, sock, metrics)
    with shared or State(settings.state_path) as state, \
            ExecutorClient(settings.executor_url, credentials,
                           timeout=settings.request_timeout) as client:
        reconciler = Reconciler(settings, state, client, metrics, leadership)
        loop = Loop(reconciler, settings)
        # The UI reads with clients of its own, once each (a page must not wait on
        # retries): the loop's client stays the loop's.
        reader = ExecutorReader(lambda: ExecutorClient(
            settings.executor_url, credentials, timeout=min(settings.request_timeout, 5.0),
            retry=RetryPolicy(attempts=1)))
        ui = ui_routes(Context(reconciler, settings, reader))
        config = HostingConfig(build_app(loop, reconciler, ui), host=settings.listen_host,
                               port=settings.listen_port, log_level="warning",
                               access_log=False, lifespan="off",
                               request_deadline=settings.request_deadline)
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
            # The bound port, not the asked one: --listen HOST:0 picks a free port.
            where = f"http://{_host(settings.listen_host)}:{sock.getsockname()[1]}"
            log.info("endpoints on %s (the web UI at /, /status /healthz /readyz /metrics "
                     "/hooks/git)%s", where, "" if not settings.ui_token else
                     "; the UI and /status ask for the UI token")
            server.run(sockets=[sock])
        except (KeyboardInterrupt, Terminated):
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            loop.stop()
            reconciler.leadership.release()  # a standby takes over now, not in a second
            reconciler.close()
            reader.close()
    log.info("controller stopped")
    return 0


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class Terminated(Exception):
    """SIGTERM arrived: stop cleanly."""


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated
