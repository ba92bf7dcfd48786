"""Fixtures for the controller: the real executor, real git repositories, the real CLI.

Nothing of ours is mocked.  The executor is `python -m scsync executor serve`
on a free loopback port with a temporary SQLite file; a small counting reverse
proxy in front of it tells how many writes a command made; repositories are a
bare "remote" and a clone with real commits; commands run as subprocesses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from scsync.client import Credentials, ExecutorClient, RetryPolicy
from support import Process, free_port, wait_for

API_KEY = "ctl-test-key-9f3b2c7d1e5a"
WEBHOOK_SECRET = "ctl-webhook-secret-4d8e6f"
REPO_ROOT = Path(__file__).resolve().parents[2]
SRC = REPO_ROOT / "src"
DESCRIPTION = "Nightly import of test records into Kizen, for the controller tests."


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SCSYNC_") and k not in ("GITHUB_ACTIONS",)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    env["PYTHONIOENCODING"] = "utf-8"
    env["SCSYNC_API_KEY"] = API_KEY
    env.update(extra)
    return env


#: A job that passes `validate` and that the executor side refuses (422), as Kizen may
#: refuse for a rule of its own.  Since the schema is the one contract (issue 10) the
#: embedded executor refuses no valid manifest for its shape, so the `CountingProxy`
#: in front of it answers for it: any create or update carrying this marker gets 422.
REFUSE_MARKER = "SCSYNC_TEST_REFUSE"
REFUSED_JOB = {"command": ["true"], "env": {REFUSE_MARKER: "1"}}


def manifest(api_name: str, **fields: Any) -> str:
    settings: dict[str, Any] = {
        "apiVersion": "scsync/v1", "kind": "SmartConnector", "api_name": api_name,
        "name": api_name.replace("_", " ").title(), "description": DESCRIPTION,
        "status": "Operational",
    }
    settings.update(fields)
    return "".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items() if v is not None)


# -- processes -----------------------------------------------------------------


@dataclass
class Executor(Process):
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> ExecutorClient:
        return ExecutorClient(self.url, Credentials(API_KEY),
                              retry=RetryPolicy(attempts=2, backoff=0.05))


def executor_process(workdir: Path, repo: Path, port: int | None = None) -> Executor:
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    command = [sys.executable, "-m", "scsync", "executor", "serve", "--db",
               str(workdir / "executor.db"), "--port", str(port), "--repo", str(repo),
               "--no-access-log"]
    return Executor(command, workdir, base_env(), workdir / "executor.log",
                    f"http://127.0.0.1:{port}/healthz", port=port)


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[Executor]:
    repo = tmp_path / "work"
    repo.mkdir(exist_ok=True)
    process = executor_process(tmp_path / "executor", repo).start()
    yield process
    process.stop()


# -- a counting reverse proxy ----------------------------------------------------


class CountingProxy:
    """Forwards every request to the executor and remembers (method, path).

    A create or update whose body carries `REFUSE_MARKER` is answered 422 in the
    executor's own error shape instead of being forwarded.  With `update_delay`, an
    update (PATCH) waits that many seconds before it is forwarded, with `create_delay`
    a create (POST): a slow executor.  It also serves as one process's HTTP proxy
    (`HTTP_PROXY=proxy.url`, the executor's own URL in the request line), so that
    processes sharing one executor URL are counted apart.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.calls: list[tuple[str, str]] = []
        self.update_delay = 0.0
        self.create_delay = 0.0
        self.lock = threading.Lock()
        session = requests.Session()
        self._session = session
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = self.path
                if "://" in path:  # asked as an HTTP proxy: the absolute form
                    parts = urlsplit(path)
                    path = parts.path + (f"?{parts.query}" if parts.query else "")
                with proxy.lock:
                    proxy.calls.append((self.command, path.split("?")[0]))
                if body and self.command in ("POST", "PATCH") and REFUSE_MARKER.encode() in body:
                    self._refuse()
                    return
                if self.command == "PATCH" and proxy.update_delay:
                    time.sleep(proxy.update_delay)
                if self.command == "POST" and proxy.create_delay:
                    time.sleep(proxy.create_delay)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                answer = session.request(self.command, target + path, data=body,
                                         headers=headers, timeout=30, allow_redirects=False)
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding",
                                            "connection", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def _refuse(self) -> None:
                problem = {"field": "job.env", "message": "refused by this executor"}
                content = json.dumps({"detail": f"job.env: {problem['message']}",
                                      "errors": [problem]}).encode()
                self.send_response(422)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PATCH = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def writes(self) -> list[tuple[str, str]]:
        with self.lock:
            return [c for c in self.calls if c[0] in ("POST", "PATCH", "PUT", "DELETE")]

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
        self._session.close()


@pytest.fixture
def proxy(executor: Executor) -> Iterator[CountingProxy]:
    counting = CountingProxy(executor.url)
    yield counting
    counting.close()


# -- git -----------------------------------------------------------------------

_GIT_ENV = {"GIT_AUTHOR_NAME": "scsync tests", "GIT_AUTHOR_EMAIL": "tests@example.com",
            "GIT_COMMITTER_NAME": "scsync tests", "GIT_COMMITTER_EMAIL": "tests@example.com",
            "GIT_CONFIG_NOSYSTEM": "1"}


@dataclass
class Clone:
    """A work tree; `commit()` commits everything and, with a remote, pushes."""

    path: Path
    pushes: bool = True
    shas: list[str] = field(default_factory=list)

    def git(self, *args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True,
                              check=True, env={**os.environ, **_GIT_ENV})
        return proc.stdout.strip()

    def write(self, files: Mapping[str, str | None]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                target.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, "utf-8")

    def commit(self, message: str = "change", files: Mapping[str, str | None] | None = None,
               ) -> str:
        self.write(files or {})
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        if self.pushes:
            self.git("push", "--quiet", "origin", "main")
        sha = self.git("rev-parse", "HEAD")
        self.shas.append(sha)
        return sha


def init_repo(path: Path) -> Clone:
    path.mkdir(parents=True, exist_ok=True)
    clone = Clone(path, pushes=False)
    clone.git("init", "--quiet", "--initial-branch=main")
    clone.git("config", "commit.gpgsign", "false")
    (path / ".gitignore").write_text(".scsync/\n", "utf-8")  # as the project's own
    return clone


@pytest.fixture
def work(tmp_path: Path) -> Clone:
    """A repository with no remote (plan and apply read its work tree or a ref)."""
    return init_repo(tmp_path / "work")


@pytest.fixture
def remote(tmp_path: Path) -> tuple[Path, Clone]:
    """A bare repository (the "GitHub" side) and a clone that pushes to it."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)],
                   check=True, capture_output=True)
    clone = init_repo(tmp_path / "clone")
    clone.git("remote", "add", "origin", str(bare))
    clone.pushes = True
    return bare, clone


# -- the CLI ---------------------------------------------------------------------

CliResult = tuple[int, str, str]


@pytest.fixture
def scsync(tmp_path: Path) -> Callable[..., CliResult]:
    """Run the real `scsync` in a subprocess; returns (exit code, stdout, stderr)."""

    def run(*args: str | os.PathLike[str], cwd: Path | None = None,
            env: Mapping[str, str] | None = None, timeout: float = 60) -> CliResult:
        proc = subprocess.run([sys.executable, "-m", "scsync", *map(str, args)],
                              cwd=cwd or tmp_path, env={**base_env(), **(env or {})},
                              capture_output=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    return run


# -- the controller --------------------------------------------------------------


@dataclass
class Controller(Process):
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def status(self) -> dict[str, Any]:
        with requests.get(f"{self.url}/status", timeout=5) as response:
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data

    def hook(self, body: bytes, signature: str | None,
             event: str = "push") -> requests.Response:
        headers = {"Content-Type": "application/json", "X-GitHub-Event": event}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        with requests.post(f"{self.url}/hooks/git", data=body, headers=headers,
                           timeout=5) as response:
            return response

    def wait_applied(self, sha: str, timeout: float = 20) -> dict[str, Any]:
        result: dict[str, Any] = wait_for(
            lambda: (s := self.status())["last_applied_commit"] == sha and s,
            timeout, message=f"commit {sha[:8]} applied\n{self.log()}")
        return result


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


ControllerFactory = Callable[..., Controller]


@pytest.fixture
def start_controller(tmp_path: Path) -> Iterator[ControllerFactory]:
    started: list[Controller] = []

    def start(repo: Path, executor_url: str, *args: str, data_dir: Path | None = None,
              env: Mapping[str, str] | None = None, port: int | None = None) -> Controller:
        port = port or free_port()
        data = data_dir or tmp_path / "controller-data"
        command = [sys.executable, "-m", "scsync", "controller", "--repo", str(repo),
                   "--branch", "main", "--executor", executor_url,
                   "--listen", f"127.0.0.1:{port}", "--data-dir", str(data), *args]
        process = Controller(command, tmp_path, {**base_env(), **(env or {})},
                             tmp_path / f"controller-{len(started)}.log",
                             f"http://127.0.0.1:{port}/healthz", port=port)
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Each phase's report on its test (`item.rep_call`), for fixtures that keep artifacts
    of a failure (the browser tests' screenshots)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
