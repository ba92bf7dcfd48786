"""Start and stop the executor on uvicorn.

Start-up: open and migrate the database (failing fast if another executor holds
it), bind, end the executions a crash interrupted, then admit and deliver.
Shutdown (SIGINT/SIGTERM): stop admitting, stop the running jobs (they end as
`error`, reason `interrupted`, with their notifications queued), close.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from scsync.errors import ConfigError
from scsync.executor.api import build_app
from scsync.executor.service import Executor
from scsync.executor.settings import ExecutorSettings
from scsync.hosting import HostingConfig, deadline_from_env

# The access log shows method, path and status only: never headers, which carry the key.
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "access": {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(asctime)s access %(client_addr)s "%(request_line)s" %(status_code)s',
            "use_colors": False,
        },
    },
    "handlers": {
        "plain": {"class": "logging.StreamHandler", "formatter": "plain",
                  "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "access",
                   "stream": "ext://sys.stderr"},
    },
    "loggers": {
        "uvicorn": {"handlers": ["plain"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        "scsync": {"handlers": ["plain"], "level": "INFO", "propagate": False},
    },
}


def create_app(executor: Executor) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.executor = executor
        await executor.start()
        try:
            yield
        finally:
            await executor.stop()

    return build_app(executor.settings, lifespan)


def serve(settings: ExecutorSettings, *, access_log: bool = True) -> int:
    """Run until interrupted; the exit code of `scsync executor serve`."""
    deadline = deadline_from_env()
    # Bind before anything else, so a taken port is a one-line error, not a half start.
    sock = _listen(settings.host, settings.port)
    try:
        executor = Executor(settings)
    except BaseException:
        sock.close()
        raise
    # Over the bounded protocol: a client gets `deadline` seconds to send a request.
    config = HostingConfig(
        create_app(executor), request_deadline=deadline, log_config=LOG_CONFIG,
        access_log=access_log, server_header=False, lifespan="on",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    logging.getLogger("scsync.executor").info(
        "serving %s on %s (repo %s)", settings.database, settings.base_url, settings.repo)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if not server.started:
            executor.store.close()
    return 0 if server.started else 2


def _listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(False)
    return sock
