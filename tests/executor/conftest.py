"""Fixtures that run the real executor as a subprocess, and real receivers for its notifications.

Nothing of ours is mocked: the server is `python -m scsync executor serve` on a
free loopback port, on each of its stores: a temporary SQLite file, and a fresh
database of the real PostgreSQL server (`SCSYNC_DB_URL`, tests/pg.py).  Every
test that starts an executor runs once on each (`[sqlite]`, `[postgresql]`);
one marked `sqlite_only` (it reads the SQLite file itself) runs on SQLite only.
Emails go to an aiosmtpd server; webhooks go to an http.server in a thread.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller

from pg import fresh_database
from scsync.client import Credentials, ExecutorClient, RetryPolicy
from support import Process, free_port, wait_for

API_KEY = "test-key-0123456789"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"a-test-signing-secret-32-bytes!!").decode()
SRC = Path(__file__).resolve().parents[2] / "src"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie nobody reaps (PID 1 in some containers) is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class ExecutorProcess:
    """One `scsync executor serve` subprocess; restartable on the same database."""

    workdir: Path
    repo: Path
    env: dict[str, str]
    args: list[str] = field(default_factory=list)
    database: str | None = None
    """A PostgreSQL URL, given as SCSYNC_DB_URL (unless args name --db); None: SQLite."""
    port: int = field(default_factory=free_port)
    log_path: Path = field(init=False)
    _proc: Process | None = None

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "executor.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.workdir / "executor.db"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._proc.process if self._proc is not None else None

    def start(self) -> ExecutorProcess:
        env, db = self.env, ["--db", str(self.db)]
        if "--db" in self.args:
            db = []
        elif self.database is not None:
            env, db = {**env, "SCSYNC_DB_URL": self.database}, []
        command = [sys.executable, "-m", "scsync", "executor", "serve", *db,
                   "--port", str(self.port), "--repo", str(self.repo), *self.args]
        self._proc = Process(command, self.workdir, env, self.log_path,
                             f"{self.url}/healthz").start()
        return self

    def kill(self) -> None:
        """SIGKILL: the crash a restart must survive."""
        if self._proc is not None:
            self._proc.kill()

    def stop(self) -> int | None:
        """SIGTERM and wait: a clean shutdown."""
        return self._proc.stop() if self._proc is not None else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, **options: Any) -> ExecutorClient:
        credentials = Credentials(API_KEY, self.env.get("SCSYNC_BUSINESS_ID"),
                                  options.pop("user_id", None))
        options.setdefault("retry", RetryPolicy(attempts=2, backoff=0.05))
        return ExecutorClient(self.url, credentials, **options)

    def http(self) -> requests.Session:
        """A raw session with the right headers, for requests the client would never send."""
        session = requests.Session()
        session.headers.update({"X-API-KEY": API_KEY})
        if business := self.env.get("SCSYNC_BUSINESS_ID"):
            session.headers["X-BUSINESS-ID"] = business
        return session


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCSYNC_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    env["SCSYNC_API_KEY"] = API_KEY
    env.update(extra)
    return env


ExecutorFactory = Callable[..., ExecutorProcess]


STORES = ("sqlite", "postgresql")


@pytest.fixture(scope="module", params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    """Which store the executors of this test run on."""
    kind: str = request.param
    return kind


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A `sqlite_only` test (it reads the SQLite file) runs on SQLite only."""
    kept = [item for item in items
            if not (item.get_closest_marker("sqlite_only") and "[postgresql" in item.nodeid)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.fixture
def start_executor(tmp_path: Path, store: str) -> Iterator[ExecutorFactory]:
    """Start executors with chosen arguments and environment; all are stopped at teardown.

    Executors started with the same `name` share a database (a restart); on
    PostgreSQL each name gets a fresh database."""
    started: list[ExecutorProcess] = []
    databases: dict[str, str] = {}
    with ExitStack() as stack:

        def start(*args: str, env: dict[str, str] | None = None, repo: Path | None = None,
                  name: str = "executor") -> ExecutorProcess:
            workdir = tmp_path / name
            workdir.mkdir(exist_ok=True)
            repo = repo or (tmp_path / "repo")
            repo.mkdir(exist_ok=True)
            if store == "postgresql" and name not in databases:
                databases[name] = stack.enter_context(fresh_database())
            process = ExecutorProcess(workdir, repo, env if env is not None else base_env(),
                                      list(args), databases.get(name))
            started.append(process)
            return process.start()

        yield start
        for process in started:
            process.stop()


@pytest.fixture(scope="module")
def shared_executor(tmp_path_factory: pytest.TempPathFactory,
                    store: str) -> Iterator[ExecutorProcess]:
    """One executor for the tests of a module that only need a plain one (unique api_names)."""
    workdir = tmp_path_factory.mktemp("shared")
    repo = workdir / "repo"
    (repo / "jobs").mkdir(parents=True)
    with ExitStack() as stack:
        database = stack.enter_context(fresh_database()) if store == "postgresql" else None
        process = ExecutorProcess(workdir, repo, base_env(), database=database).start()
        yield process
        process.stop()


@pytest.fixture
def client(shared_executor: ExecutorProcess) -> Iterator[ExecutorClient]:
    with shared_executor.client() as c:
        yield c


_counter = iter(range(1, 1_000_000))


def unique_name(prefix: str = "conn") -> str:
    return f"{prefix}_{os.getpid()}_{next(_counter)}"


def py_job(code: str, **job: Any) -> dict[str, Any]:
    """A job running a Python snippet with the test's interpreter."""
    return {"command": [sys.executable, "-c", code], **job}


def sh_job(script: str, **job: Any) -> dict[str, Any]:
    return {"command": ["/bin/sh", "-c", script], **job}


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most (start, end) intervals open at once; at equal instants the end sorts
    first: a slot freed and taken at once is no overlap."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def wait_execution(client: ExecutorClient, ref: str, execution_id: str,
                   statuses: tuple[str, ...] = ("success", "partial_success", "error",
                                                "cancelled"),
                   timeout: float = 15.0) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        execution = client.get_execution(ref, execution_id)
        return execution if execution["status"] in statuses else None

    result: dict[str, Any] = wait_for(ended, timeout, message=f"{execution_id} in {statuses}")
    return result


# -- notification receivers ---------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.original_content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port(), Mailbox()).start()
    yield server
    server.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """Records every request; answers from a script of (status, headers), then 200."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()),
                                                      body, time.time()))
                    status, headers = receiver.script.pop(0) if receiver.script else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
