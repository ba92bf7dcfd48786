"""`POST /hooks/git` faces anyone who reaches the port: bodies capped, slow clients cut off.

One real controller (with a real executor behind it) serves the module, with its
request deadline set to 2 s through SCSYNC_HTTP_DEADLINE; each test is a client
GitHub would never be, and the last checks that GitHub itself still gets through.
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
from tests.controller.conftest import (
    WEBHOOK_SECRET,
    Clone,
    Controller,
    base_env,
    executor_process,
    init_repo,
    manifest,
    sign,
)

from hostile import (
    MIB,
    Dribbled,
    chunks,
    declared_only,
    dribble,
    memory_mib,
)
from support import free_port

DEADLINE = 2.0
CAP = 25 * MIB


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Controller, Clone]]:
    root = tmp_path_factory.mktemp("limits")
    bare = root / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)],
                   check=True, capture_output=True)
    clone = init_repo(root / "clone")
    clone.git("remote", "add", "origin", str(bare))
    clone.pushes = True
    first = clone.commit("one", {"connectors/a.yaml": manifest("limits_a")})
    executor = executor_process(root / "executor", root / "clone").start()
    port = free_port()
    command = [sys.executable, "-m", "scsync", "controller", "--repo", str(bare),
               "--branch", "main", "--executor", executor.url, "--interval", "300",
               "--listen", f"127.0.0.1:{port}", "--data-dir", str(root / "data")]
    env = base_env(SCSYNC_GIT_WEBHOOK_SECRET=WEBHOOK_SECRET,
                   SCSYNC_HTTP_DEADLINE=str(DEADLINE))
    controller = Controller(command, root, env, root / "controller.log",
                            f"http://127.0.0.1:{port}/healthz", port=port)
    controller.start()
    controller.wait_applied(first)  # the first pass is over: memory figures are quiet
    yield controller, clone
    controller.stop()
    executor.stop()
    assert "Traceback" not in controller.log(), controller.log()


def _pid(controller: Controller) -> int:
    assert controller.process is not None
    return controller.process.pid


def test_a_50mb_chunked_body_is_413_and_the_controller_does_not_hold_it(
        served: tuple[Controller, Clone]) -> None:
    controller, _ = served
    rss_before, _ = memory_mib(_pid(controller))
    # No Content-Length (requests sends a generator chunked), and a signature to check:
    # the hook would have to read it all.
    answer = requests.post(f"{controller.url}/hooks/git", data=chunks(50 * MIB),
                           headers={"X-GitHub-Event": "push",
                                    "X-Hub-Signature-256": "sha256=" + "0" * 64},
                           timeout=60)
    _, peak_after = memory_mib(_pid(controller))
    assert answer.status_code == 413
    assert answer.json() == {"detail": f"Request body larger than {CAP} bytes."}
    # Before, the hook buffered all of it (and a copy): about 100 MB more.  Now at most
    # the cap is held before the answer.
    assert peak_after - rss_before < 40, (rss_before, peak_after)
    assert requests.get(f"{controller.url}/healthz", timeout=5).status_code == 200


def test_a_declared_oversize_body_is_413_before_it_is_sent(
        served: tuple[Controller, Clone]) -> None:
    controller, _ = served
    status, body = declared_only(controller.port, "/hooks/git", 50 * MIB,
                                 {"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert status == 413
    assert json.loads(body) == {"detail": f"Request body larger than {CAP} bytes."}


def test_after_a_413_a_body_still_trickling_in_is_cut_off(
        served: tuple[Controller, Clone]) -> None:
    controller, _ = served
    # After the 413 the server reads on and drops the rest of the body (so a client that
    # sends all before it reads sees the answer), but not past the deadline: uvicorn
    # alone would keep this connection as long as a byte came every few seconds.
    head = (b"POST /hooks/git HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 52428800\r\n\r\n")
    result = dribble(controller.port, head, b"x" * 60, past_answer=True)
    assert result.answer.startswith(b"HTTP/1.1 413 ")
    assert result.sent < 60


def _while_answering_others(controller: Controller, head: bytes, slow: bytes) -> Dribbled:
    """Dribble in a thread; meanwhile the controller must keep answering everyone else."""
    answered = 0
    with ThreadPoolExecutor(1) as pool:
        slow_client = pool.submit(dribble, controller.port, head, slow)
        while not slow_client.done():
            with requests.get(f"{controller.url}/status", timeout=5) as answer:
                assert answer.status_code == 200
            answered += 1
        result = slow_client.result()
    assert answered > 1
    return result


def test_headers_sent_a_byte_at_a_time_are_cut_off(served: tuple[Controller, Clone]) -> None:
    controller, _ = served
    request = (b"POST /hooks/git HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: push\r\n"
               b"Content-Length: 2\r\n\r\n{}")
    result = _while_answering_others(controller, b"", request)
    # Closed with the request unfinished: no request, so no answer.  Uncut, this client
    # would have sent its 80 bytes in 40 s and got a 401.
    assert result.sent < len(request)
    assert result.answer == b""


def test_a_body_sent_a_byte_at_a_time_gets_408(served: tuple[Controller, Clone]) -> None:
    controller, _ = served
    body = json.dumps({"ref": "refs/heads/main", "padding": "x" * 20}).encode()
    head = (b"POST /hooks/git HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: push\r\n"
            b"Content-Type: application/json\r\nX-Hub-Signature-256: " + sign(body).encode()
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    result = _while_answering_others(controller, head, body)
    assert result.sent < len(body)
    assert result.answer.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in result.answer.lower()
    assert b"Request not received in time" in result.answer


def test_a_signed_push_still_triggers_a_pass(served: tuple[Controller, Clone]) -> None:
    controller, clone = served
    sha = clone.commit("two", {"connectors/a.yaml": manifest("limits_a", name="Renamed")})
    body = json.dumps({"ref": "refs/heads/main", "after": sha}).encode()
    answer = controller.hook(body, sign(body))
    assert answer.status_code == 202 and answer.json() == {"detail": "pass triggered"}
    controller.wait_applied(sha)


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan"])
def test_a_bad_deadline_stops_the_start_with_a_clear_message(
        tmp_path: Path, value: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scsync", "controller", "--repo", str(tmp_path),
         "--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(tmp_path / "data")],
        env=base_env(SCSYNC_HTTP_DEADLINE=value), capture_output=True, text=True,
        timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert f"SCSYNC_HTTP_DEADLINE={value!r}: expected a positive number of seconds" \
        in proc.stderr
    assert "Traceback" not in proc.stderr
