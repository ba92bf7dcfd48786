"""Plumbing shared by the suites that run real services: ports, waiting, subprocesses."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05,
             message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@dataclass
class Process:
    """A subprocess with its output in a log file; stopped (and reaped) by its fixture.

    With a `health_url`, `start` returns once that URL answers 200, and fails
    with the process's log if it exits first or takes longer than `timeout`.
    """

    command: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    health_url: str | None = None
    process: subprocess.Popen[bytes] | None = None
    _log: Any = None

    def start(self, timeout: float = 20) -> Process:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reap
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env,
                                        stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        if self.health_url is not None:
            deadline = time.monotonic() + timeout
            while not self._healthy():
                if self.process.poll() is not None:
                    self._reap()
                    raise AssertionError(f"{self.command[3:5]} exited at start:\n{self.log()}")
                if time.monotonic() > deadline:
                    self.kill()
                    raise AssertionError(f"not healthy after {timeout}s:\n{self.log()}")
                time.sleep(0.05)
        return self

    def _healthy(self) -> bool:
        assert self.health_url is not None
        try:
            with requests.get(self.health_url, timeout=1) as response:
                return response.status_code == 200
        except requests.ConnectionError:
            return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the crash a restart must survive."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
        self._reap()

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """A signal (SIGTERM: a clean shutdown) and wait; SIGKILL after 20 s."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        code = self.process.returncode
        self._reap()
        return code

    def _reap(self) -> None:
        if self.process is not None:
            self.process.wait()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
