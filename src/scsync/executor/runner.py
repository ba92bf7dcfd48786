"""Job processes: spawn, capture capped output, enforce the timeout, read the result file.

Everything runs on the event loop without a thread per job: the merged
stdout/stderr pipe and a pidfd of the child are watched with `add_reader`, so
the end of a process is noticed the moment it exits and the slot frees at once.
Each job leads its own process group (`start_new_session`), so a timeout, a
cancelled executor or a job's leftover children are all stopped with one killpg.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import select
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scsync.executor.records import Connector, Ending, Execution, JobProcess, Report
from scsync.executor.settings import ExecutorSettings
from scsync.executor.store import new_id, now_iso

log = logging.getLogger("scsync.executor.runner")

COUNT_KEYS = ("created", "updated", "skipped", "failed")
ORPHAN_EXIT_WAIT_SECONDS = 2.0
RESULT_FILE_CAP = 64 << 10
"""Four counts need a few dozen bytes; more than this is not a result file."""
# The executor's own credentials are not the job's business.
_WITHHELD_ENV = ("SCSYNC_API_KEY", "SCSYNC_API_KEY_FILE", "SCSYNC_WEBHOOK_SECRET",
                 "SCSYNC_DB_URL", "PGPASSWORD")


@dataclass(frozen=True, slots=True)
class JobResult:
    """What a finished job tells the scheduler: which execution, and how it ended."""

    execution: Execution
    connector: Connector
    ending: Ending


@dataclass
class _Run:
    execution: Execution
    connector: Connector
    process: subprocess.Popen[bytes]
    pidfd: int
    out_fd: int
    result_file: Path
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    dropped: int = 0
    stop_reason: str | None = None
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


class JobRunner:
    def __init__(self, settings: ExecutorSettings, on_end: Callable[[JobResult], None]) -> None:
        self._settings = settings
        self._on_end = on_end
        self._runs: dict[str, _Run] = {}
        # Read once: copying os.environ per job was a fifth of a job start's cost.
        self._base_env = {k: v for k, v in os.environ.items() if k not in _WITHHELD_ENV}
        settings.runs_dir.mkdir(parents=True, exist_ok=True)

    @property
    def active(self) -> int:
        return len(self._runs)

    def start(self, execution: Execution, connector: Connector) -> JobProcess | None:
        """Spawn the job; a job that cannot start ends at once as `error`."""
        job = connector.job
        if not job or not job.get("command"):
            self.end_unstarted(execution, connector, "no job defined")
            return None
        try:
            cwd = self._working_dir(job.get("working_dir"))
        except ValueError as exc:
            self.end_unstarted(execution, connector, f"job cannot start: {exc}")
            return None
        result_file = self._settings.runs_dir / f"{execution.id}.json"
        _discard(result_file)
        env = self._base_env | (job.get("env") or {})
        env |= {
            "SCSYNC_EXECUTION_ID": execution.id,
            "SCSYNC_API_NAME": connector.api_name,
            "SCSYNC_DIFF_CHECK": "true" if execution.diff_check else "false",
            "SCSYNC_DRY_RUN": "true" if execution.is_dry_run else "false",
            "SCSYNC_RESULT_FILE": str(result_file),
        }
        try:
            process = subprocess.Popen(
                job["command"], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            )
        except (OSError, ValueError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.end_unstarted(execution, connector,
                                f"job cannot start: {job['command'][0]}: {detail}")
            return None
        assert process.stdout is not None
        out_fd = process.stdout.fileno()
        os.set_blocking(out_fd, False)
        try:
            pidfd = os.pidfd_open(process.pid)
        except OSError as exc:  # out of file descriptors: the job must not run unwatched
            _killpg(process.pid, signal.SIGKILL)
            process.wait()
            process.stdout.close()
            self.end_unstarted(execution, connector, f"job cannot start: {exc.strerror}")
            return None
        run = _Run(execution, connector, process, pidfd, out_fd, result_file)
        self._runs[execution.id] = run
        loop = asyncio.get_running_loop()
        loop.add_reader(out_fd, self._read, run)
        loop.add_reader(run.pidfd, self._exited, run)
        timeout = float(job.get("timeout_seconds") or 3600)
        run.timers.append(loop.call_later(timeout, self._stop, run,
                                          f"timed out after {timeout:g}s"))
        # The job leads its own session (start_new_session), so its group id is its pid;
        # the child is unreaped until _exited, so its /proc entry is there to read.
        return JobProcess(process.pid, process_start_time(process.pid), process.pid)

    async def stop_all(self, reason: str) -> None:
        """Stop every job (executor shutdown) and wait until each has ended."""
        for run in list(self._runs.values()):
            self._stop(run, reason)
        deadline = time.monotonic() + self._settings.kill_grace_seconds + 2
        while self._runs and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    def _working_dir(self, working_dir: str | None) -> Path:
        repo = self._settings.repo
        cwd = (repo / working_dir).resolve() if working_dir else repo
        if not cwd.is_relative_to(repo):
            raise ValueError(f"working_dir {working_dir!r} leaves the repository")
        if not cwd.is_dir():
            raise ValueError(f"working_dir {working_dir!r} is not a directory")
        return cwd

    def _stop(self, run: _Run, reason: str) -> None:
        if run.stop_reason is not None or run.execution.id not in self._runs:
            return
        run.stop_reason = reason
        _killpg(run.process.pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        run.timers.append(loop.call_later(self._settings.kill_grace_seconds, _killpg,
                                          run.process.pid, signal.SIGKILL))

    def _read(self, run: _Run) -> None:
        try:
            data = os.read(run.out_fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(run.out_fd)
            return
        self._keep(run, data)

    def _keep(self, run: _Run, data: bytes) -> None:
        """Keep the first and the last half-cap of the output; a failure shows at the end."""
        half = self._settings.output_cap_bytes // 2
        room = half - len(run.head)
        if room > 0:
            run.head += data[:room]
            data = data[room:]
        if data:
            run.tail += data
            if len(run.tail) > half:
                run.dropped += len(run.tail) - half
                del run.tail[: len(run.tail) - half]

    def _exited(self, run: _Run) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(run.pidfd)
        # The leader is a zombie until polled, so its pid (the group id) cannot
        # have been reused: killing the group now only reaches the job's own leftovers.
        _killpg(run.process.pid, signal.SIGKILL)
        returncode = run.process.wait()
        os.close(run.pidfd)
        for timer in run.timers:
            timer.cancel()
        with contextlib.suppress(OSError):
            while data := os.read(run.out_fd, 65536):
                self._keep(run, data)
        loop.remove_reader(run.out_fd)
        assert run.process.stdout is not None
        run.process.stdout.close()
        del self._runs[run.execution.id]
        try:
            result = self._result(run, returncode)
        except Exception as exc:
            # Whatever the job left behind, its ending must be recorded: an execution
            # left `running` would hold its slot until a restart.
            log.exception("cannot assess the ending of execution %s", run.execution.id)
            result = _result(run.execution, run.connector, "error",
                             f"internal error: {type(exc).__name__}: {exc}", returncode, None,
                             _output(run).decode("utf-8", "replace"), run.dropped)
        self._on_end(result)

    def _result(self, run: _Run, returncode: int) -> JobResult:
        counts, problem = _read_counts(run.result_file)
        _discard(run.result_file)
        if run.stop_reason is not None:
            status, reason = "error", run.stop_reason
        elif returncode < 0:
            status, reason = "error", f"killed by {signal_name(-returncode)}"
        elif returncode > 0:
            status, reason = "error", f"exit code {returncode}"
        elif problem is not None:
            status, reason = "error", problem
        elif counts is not None and counts["failed"] > 0:
            status, reason = "partial_success", f"{counts['failed']} records failed"
        else:
            status, reason = "success", None
        return _result(run.execution, run.connector, status, reason, returncode, counts,
                       _output(run).decode("utf-8", "replace"), run.dropped)

    def end_unstarted(self, execution: Execution, connector: Connector, reason: str) -> None:
        asyncio.get_running_loop().call_soon(
            self._on_end, _result(execution, connector, "error", reason, None, None, "", 0))


def _output(run: _Run) -> bytes:
    output = bytes(run.head)
    if run.dropped:
        output += f"\n[... {run.dropped} bytes of output dropped ...]\n".encode()
    return output + bytes(run.tail)


def signal_name(number: int) -> str:
    """`SIGKILL` for the named signals; real-time ones (35 to 63) have no name in Python."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _discard(path: Path) -> None:
    """Remove the result path, whatever the job made of it, without raising."""
    try:
        path.unlink(missing_ok=True)
    except IsADirectoryError:
        # A job may make a whole tree there; removing it must not hold up the loop.
        asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, path, True)
    except OSError as exc:
        log.warning("cannot remove the result path %s: %s", path, exc.strerror)


def interrupted(execution: Execution, connector: Connector,
                reason: str = "interrupted") -> JobResult:
    """The ending of an execution whose executor died while it ran."""
    return _result(execution, connector, "error", reason, None, None, "", 0)


def _result(execution: Execution, connector: Connector, status: str, reason: str | None,
            exit_code: int | None, counts: dict[str, int] | None, output: str,
            dropped: int) -> JobResult:
    ended_at = now_iso()
    report: dict[str, Any] = {
        "execution_id": execution.id, "api_name": connector.api_name, "status": status,
        "reason": reason, "exit_code": exit_code, "record_counts": counts,
        "started_at": execution.started_at, "ended_at": ended_at,
        "output": output, "output_dropped_bytes": dropped,
    }
    ending = Ending(status, reason, ended_at, exit_code, counts,
                    Report(new_id(), json.dumps(report, indent=2).encode()))
    return JobResult(execution, connector, ending)


def _read_counts(path: Path) -> tuple[dict[str, int] | None, str | None]:
    """The job's record counts, or a reason the result file is unusable.

    This runs on the event-loop thread, and the job decides what lies at the path:
    a FIFO would block the open or the read (freezing every request and admission),
    a symlink to /dev/zero would never end.  So the open never blocks or follows a
    link, only a regular file is read, and never more than the cap.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "result file is a symbolic link"
        return None, f"result file unreadable: {exc.strerror}"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "result file is not a regular file"
        if info.st_size > RESULT_FILE_CAP:
            return None, f"result file is larger than {RESULT_FILE_CAP >> 10} KiB"
        raw = b""
        # One byte past the cap tells a file that grew after the fstat from one that fits.
        while len(raw) <= RESULT_FILE_CAP and (
                chunk := os.read(fd, RESULT_FILE_CAP + 1 - len(raw))):
            raw += chunk
    except OSError as exc:
        return None, f"result file unreadable: {exc.strerror}"
    finally:
        os.close(fd)
    if len(raw) > RESULT_FILE_CAP:
        return None, f"result file is larger than {RESULT_FILE_CAP >> 10} KiB"
    try:
        data = json.loads(raw)
    except ValueError:
        return None, "result file is not JSON"
    if not isinstance(data, dict):
        return None, "result file is not a JSON object"
    counts: dict[str, int] = {}
    for key in COUNT_KEYS:
        value = data.get(key, 0)
        if type(value) is not int or value < 0:
            return None, f"result file: {key!r} must be a non-negative integer"
        counts[key] = value
    return counts, None


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def process_start_time(pid: int) -> int | None:
    """When the process started, in clock ticks after boot; None when it is gone."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (the command name) may hold spaces and parentheses: split after its last ')'.
    # What follows is field 3 onwards, so field 22 is at index 19.
    fields = stat_line.rpartition(")")[2].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def kill_orphan(execution: Execution) -> bool:
    """After a crash: kill the job group left behind, and wait until its leader is gone.

    Only when the recorded pid still belongs to the job: the same start time
    proves it, whatever the job did to its environment.  A pidfd taken before
    the check pins the process, so the pid cannot be reused between the check
    and the kill.
    """
    pid, start_time = execution.pid, execution.pid_start_time
    pgid = execution.pgid or pid
    if not pid or start_time is None or not pgid:
        return False
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        if process_start_time(pid) != start_time:
            return False
        _killpg(pgid, signal.SIGKILL)
        # Wait for the exit, so the successor of a limit-1 connector never starts
        # beside it; SIGKILL cannot be caught, so this is quick.
        select.select([pidfd], [], [], ORPHAN_EXIT_WAIT_SECONDS)
        return True
    finally:
        os.close(pidfd)
