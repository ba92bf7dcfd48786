"""`scsync up`: the embedded executor and the controller together, on the repo in this folder.

The executor runs as a child process (`python -m scsync executor serve`) on
loopback with its state under `.scsync/`; the controller runs here and follows
the checked-out branch of this repository, so a commit to `connectors/` is
applied within the poll interval.  Ctrl-C (or SIGTERM) stops the controller,
then the executor, and waits for both.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from scsync.client import Credentials, ExecutorClient, ExecutorError, RetryPolicy
from scsync.controller.desired import DesiredReader
from scsync.controller.server import configure_logging, serve
from scsync.controller.settings import ControllerSettings, with_environment
from scsync.errors import ScsyncError, UsageError
from scsync.gitsource import current_branch, open_repo
from scsync.hosting import DATA_DIR, prepare_data_dir
from scsync.manifest.discover import DEFAULT_FOLDER


@dataclass(frozen=True, slots=True)
class UpOptions:
    root: Path
    port: int = 8765
    listen_port: int = 9090
    interval: float = 2.0
    folder: str = DEFAULT_FOLDER

    def settings(self, branch: str, environ: Mapping[str, str] | None = None
                 ) -> ControllerSettings:
        """The controller's settings for this folder, environment included."""
        root = self.root.resolve()
        return with_environment(ControllerSettings(
            repo=str(root), executor_url=self.executor_url, branch=branch,
            folder=self.folder, data_dir=root / DATA_DIR, interval=self.interval,
            listen_port=self.listen_port), environ)

    @property
    def executor_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def up(options: UpOptions, out: TextIO) -> int:
    root = options.root.resolve()
    branch, first = _repository(root, options.folder)
    data = root / DATA_DIR
    prepare_data_dir(data)
    for port, what in ((options.port, "--port"), (options.listen_port, "--listen-port")):
        if not _free(port):
            raise UsageError(f"port {port} on 127.0.0.1 is taken (another scsync up?); "
                             f"choose another with {what}")
    executor_url = options.executor_url
    log_path = data / "executor.log"
    with open(log_path, "ab") as log_file:
        child = subprocess.Popen(
            [sys.executable, "-m", "scsync", "executor", "serve", "--db",
             str(data / "executor.db"), "--host", "127.0.0.1", "--port", str(options.port),
             "--repo", str(root)],
            cwd=root, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_healthy(child, executor_url, log_path)
        settings = options.settings(branch)

        def banner(_settings: ControllerSettings) -> None:
            ui = f"http://127.0.0.1:{options.listen_port}/"
            status = f"{ui}status"
            example = first or "API_NAME"
            out.write(
                "scsync is up\n"
                f"  web UI      {ui}  (every connector's sync state and executions, live)\n"
                f"  executor    {executor_url}  (log .scsync/executor.log, "
                "key .scsync/api-key)\n"
                f"  controller  {status}  (reconciling {options.folder}/ of branch {branch} "
                f"every {options.interval:g}s)\n"
                f"  commit a change to {options.folder}/ and it is applied; see it in {ui}\n"
                f"  trigger a run:   scsync run {example} --wait\n"
                f"  list its runs:   scsync executions {example}\n"
                "  Ctrl-C stops both.\n")
            out.flush()

        configure_logging()
        return serve(settings, on_started=banner)
    finally:
        _stop(child)


def _repository(root: Path, folder: str) -> tuple[str, str | None]:
    """The checked-out branch, and one api_name to show in the banner."""
    with open_repo(str(root)) as repo:
        if Path(repo.root).resolve() != root:
            raise UsageError(f"run scsync up at the top of the repository ({repo.root})")
        branch = current_branch(repo)
        if branch is None:
            raise UsageError(
                "the repository has no commit on a branch yet: commit your manifests first "
                f"(git add {folder} jobs && git commit -m 'SmartConnectors')")
        commit = repo.resolve(branch)
        desired = DesiredReader(folder).at_commit(repo, commit)
    # Suggest a connector that will actually run: a paused or inactive one
    # would leave `scsync run --wait` waiting for ever.
    runnable = sorted(
        c.api_name for c in desired.connectors.values()
        if c.executable and c.max_concurrent_executions > 0 and c.job is not None
    )
    any_name = sorted(c.api_name for c in desired.connectors.values())
    return branch, next(iter(runnable or any_name), None)


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_healthy(child: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    # /healthz needs no key; the client has one only once `serve` has written it.
    deadline = time.monotonic() + 30
    with ExecutorClient(url, Credentials("-"), timeout=1.0,
                        retry=RetryPolicy(attempts=1)) as client:
        while time.monotonic() < deadline:
            if child.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise ScsyncError(f"the executor exited at start:\n{tail}")
            try:
                client.healthz()
                return
            except ExecutorError:
                time.sleep(0.1)
    raise ScsyncError(f"the executor did not answer on {url} within 30 s (see {log_path})")


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
    child.wait()



