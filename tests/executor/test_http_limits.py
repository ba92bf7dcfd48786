"""The executor bounds every request as the controller does (one piece of code, scsync.hosting).

One real executor serves the module with its request deadline set to 2 s through
SCSYNC_HTTP_DEADLINE: bodies over its 1 MiB cap are refused without being held,
and slow clients are cut off while everyone else is answered.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from hostile import MIB, Dribbled, chunks, declared_only, dribble, memory_mib
from support import free_port

from .conftest import API_KEY, ExecutorProcess, base_env, unique_name

CONNECTORS = "/api/smart-connectors"
TOO_LARGE = {"detail": f"Request body larger than {MIB} bytes."}


@pytest.fixture(scope="module")
def executor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExecutorProcess]:
    workdir = tmp_path_factory.mktemp("limits")
    repo = workdir / "repo"
    repo.mkdir()
    process = ExecutorProcess(workdir, repo, base_env(SCSYNC_HTTP_DEADLINE="2")).start()
    yield process
    process.stop()
    assert "Traceback" not in process.log(), process.log()


def _pid(executor: ExecutorProcess) -> int:
    assert executor.process is not None
    return executor.process.pid


def test_a_50mb_chunked_body_is_413_and_the_executor_does_not_hold_it(
        executor: ExecutorProcess) -> None:
    rss_before, _ = memory_mib(_pid(executor))
    answer = requests.post(executor.url + CONNECTORS, data=chunks(50 * MIB), timeout=60,
                           headers={"X-API-KEY": API_KEY, "Content-Type": "application/json"})
    _, peak_after = memory_mib(_pid(executor))
    assert answer.status_code == 413
    assert answer.json() == TOO_LARGE
    assert peak_after - rss_before < 40, (rss_before, peak_after)


def test_a_declared_oversize_body_is_413_before_it_is_sent(executor: ExecutorProcess) -> None:
    status, body = declared_only(executor.port, CONNECTORS, 50 * MIB, {"X-API-KEY": API_KEY})
    assert status == 413
    assert json.loads(body) == TOO_LARGE


def _while_answering_others(executor: ExecutorProcess, head: bytes, slow: bytes) -> Dribbled:
    answered = 0
    with ThreadPoolExecutor(1) as pool:
        slow_client = pool.submit(dribble, executor.port, head, slow)
        while not slow_client.done():
            with requests.get(executor.url + CONNECTORS, headers={"X-API-KEY": API_KEY},
                              timeout=5) as answer:
                assert answer.status_code == 200
            answered += 1
        result = slow_client.result()
    assert answered > 1
    return result


def test_headers_sent_a_byte_at_a_time_are_cut_off(executor: ExecutorProcess) -> None:
    request = (f"GET {CONNECTORS} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"X-API-KEY: {API_KEY}\r\n\r\n").encode()
    result = _while_answering_others(executor, b"", request)
    assert result.sent < len(request)
    assert result.answer == b""


def test_a_body_sent_a_byte_at_a_time_gets_408(executor: ExecutorProcess) -> None:
    body = json.dumps({"api_name": unique_name("slow"), "name": "Slow"}).encode()
    head = (f"POST {CONNECTORS} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-KEY: {API_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    result = _while_answering_others(executor, head, body)
    assert result.sent < len(body)
    assert result.answer.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in result.answer.lower()
    name = json.loads(body)["api_name"]
    with executor.client() as client:  # nothing half-received was acted on
        assert name not in {c["api_name"] for c in client.list_connectors()}


def test_a_body_under_the_cap_still_creates(executor: ExecutorProcess) -> None:
    name = unique_name("limits")
    answer = requests.post(executor.url + CONNECTORS, timeout=10,
                           headers={"X-API-KEY": API_KEY},
                           json={"api_name": name, "name": "N", "description": "d" * 2000})
    assert answer.status_code == 201, answer.text
    assert answer.json()["api_name"] == name


@pytest.mark.parametrize("value", ["soon", "0", "inf"])
def test_a_bad_deadline_stops_the_start_with_a_clear_message(
        tmp_path: Path, value: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scsync", "executor", "serve", "--db", str(tmp_path / "x.db"),
         "--port", str(free_port()), "--repo", str(tmp_path)],
        env=base_env(SCSYNC_HTTP_DEADLINE=value), capture_output=True, text=True,
        timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert f"SCSYNC_HTTP_DEADLINE={value!r}: expected a positive number of seconds" \
        in proc.stderr
    assert "Traceback" not in proc.stderr
