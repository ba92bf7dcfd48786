"""`scsync executor serve` refuses a bad environment with one line and exit code 2."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import base_env


def _serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scsync", "executor", "serve", "--db",
         str(tmp_path / "x.db"), *args],
        env=base_env(**env), capture_output=True, text=True, timeout=30, cwd=tmp_path,
        check=False,
    )


def test_missing_repo(tmp_path: Path) -> None:
    done = _serve(tmp_path, "--repo", str(tmp_path / "nope"), "--port", "0")
    assert done.returncode == 2
    assert done.stderr.strip().endswith("is not a directory")
    assert "Traceback" not in done.stderr


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve(tmp_path, "--repo", str(tmp_path), "--port", str(port))
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("secret", ["plain-secret", "whsec_not*base64", "whsec_c2hvcnQ="])
def test_malformed_webhook_secret(tmp_path: Path, secret: str) -> None:
    done = _serve(tmp_path, "--repo", str(tmp_path), SCSYNC_WEBHOOK_SECRET=secret)
    assert done.returncode == 2
    assert "SCSYNC_WEBHOOK_SECRET must look like 'whsec_<base64>'" in done.stderr
    assert secret not in done.stderr


@pytest.mark.parametrize("option", ["--port=70000", "--smtp-port=-1"])
def test_bad_port_is_a_usage_error(tmp_path: Path, option: str) -> None:
    done = _serve(tmp_path, option)
    assert done.returncode == 2
    assert "is not a port number" in done.stderr


@pytest.mark.parametrize("schedule", ["soon", "1,,2", "-1", "inf", "nan"])
def test_malformed_delivery_schedule(tmp_path: Path, schedule: str) -> None:
    done = _serve(tmp_path, "--repo", str(tmp_path), SCSYNC_DELIVERY_SCHEDULE=schedule)
    assert done.returncode == 2
    assert "SCSYNC_DELIVERY_SCHEDULE must be comma-separated seconds" in done.stderr


@pytest.mark.parametrize(("option", "needle"), [
    ("--poll=0", "--poll 0: give seconds from 0.1 to 3600"),
    ("--poll=nan", "--poll nan: give seconds from 0.1 to 3600"),
    ("--poll=soon", "argument --poll: invalid float value: 'soon'"),
    ("--lease=0.5", "--lease 0.5: give seconds from 1 to 3600"),
    ("--max-jobs=0", "--max-jobs 0: give at least 1"),
])
def test_an_interval_or_cap_out_of_range_is_refused_with_its_range(
        tmp_path: Path, option: str, needle: str) -> None:
    done = _serve(tmp_path, "--repo", str(tmp_path), "--port", "0", option)
    assert done.returncode == 2
    assert needle in done.stderr
    assert "Traceback" not in done.stderr
