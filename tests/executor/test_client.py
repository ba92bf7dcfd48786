"""scsync.client against a scripted HTTP server: retries, Retry-After, the error tree."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from scsync.client import (
    BadExecutorUrl,
    BadResponse,
    Conflict,
    Credentials,
    ExecutorClient,
    ExecutorError,
    RateLimited,
    RetryPolicy,
    ServerSideError,
)
from scsync.errors import ScsyncError


class Scripted:
    """Answers each request with the next (status, headers, body) of its script."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.seen: list[tuple[str, str, dict[str, str], float]] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                scripted.seen.append((self.command, self.path, dict(self.headers.items()),
                                      time.monotonic()))
                status, headers, body = (scripted.script.pop(0) if scripted.script
                                         else (200, {}, b"{}"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _json(status: int, data: Any, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(data).encode()


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server = Scripted()
    yield server
    server.close()


@pytest.fixture
def api(scripted: Scripted) -> Iterator[ExecutorClient]:
    credentials = Credentials("secret-key", "biz", "bob@example.com")
    with ExecutorClient(scripted.url, credentials,
                        retry=RetryPolicy(attempts=3, backoff=0.01)) as client:
        yield client


def test_headers_sent(api: ExecutorClient, scripted: Scripted) -> None:
    scripted.script = [_json(200, {"status": "ok"})]
    api.healthz()
    headers = scripted.seen[0][2]
    assert (headers["X-API-KEY"], headers["X-BUSINESS-ID"], headers["X-USER-ID"]) == (
        "secret-key", "biz", "bob@example.com")


def test_429_is_retried_after_the_delay_asked_for(api: ExecutorClient,
                                                  scripted: Scripted) -> None:
    scripted.script = [_json(429, {"detail": "slow down"}, **{"Retry-After": "1"}),
                       _json(201, {"execution_id": "e1"})]
    assert api.start_flow("c") == "e1"
    assert scripted.seen[1][3] - scripted.seen[0][3] >= 0.9


def test_get_is_retried_on_5xx_but_post_is_not(api: ExecutorClient, scripted: Scripted) -> None:
    scripted.script = [_json(500, {"detail": "oops"}), _json(200, {"id": "x"})]
    assert api.get_connector("c") == {"id": "x"}
    scripted.script = [_json(500, {"detail": "oops"}), _json(201, {"id": "y"})]
    with pytest.raises(ServerSideError) as caught:
        api.create_connector({"api_name": "c"})
    assert caught.value.retryable
    assert caught.value.status == 500
    assert [m for m, *_ in scripted.seen] == ["GET", "GET", "POST"]


def test_503_is_retried_even_for_post(api: ExecutorClient, scripted: Scripted) -> None:
    scripted.script = [_json(503, {"detail": "busy"}), _json(201, {"execution_id": "e2"})]
    assert api.start_flow("c") == "e2"


def test_retries_give_up_with_the_last_error(api: ExecutorClient, scripted: Scripted) -> None:
    scripted.script = [_json(429, {"detail": "no"})] * 3
    with pytest.raises(RateLimited, match="no"):
        api.get_connector("c")
    assert len(scripted.seen) == 3


def test_client_errors_are_permanent_and_carry_the_detail(api: ExecutorClient,
                                                          scripted: Scripted) -> None:
    scripted.script = [_json(409, {"detail": "api_name 'c' is already taken."})]
    with pytest.raises(Conflict) as caught:
        api.create_connector({"api_name": "c"})
    assert not caught.value.retryable
    assert caught.value.detail.endswith("api_name 'c' is already taken.")
    assert len(scripted.seen) == 1


@pytest.mark.parametrize("answer", [
    (200, {"Content-Type": "text/html"}, b"<html>proxy login</html>"),
    _json(200, ["not", "an", "object"]),
])
def test_non_json_answers_are_bad_responses(api: ExecutorClient, scripted: Scripted,
                                            answer: tuple[int, dict[str, str], bytes]) -> None:
    scripted.script = [answer]
    with pytest.raises(BadResponse):
        api.get_connector("c")


def test_pages_are_followed_by_number(api: ExecutorClient, scripted: Scripted) -> None:
    scripted.script = [
        _json(200, {"count": 3, "next": "http://evil.example/steal", "results": [{"n": 1},
                                                                                  {"n": 2}]}),
        _json(200, {"count": 3, "next": None, "results": [{"n": 3}]}),
    ]
    assert [c["n"] for c in api.list_connectors(page_size=2)] == [1, 2, 3]
    assert [path for _, path, *_ in scripted.seen] == [
        "/api/smart-connectors?page=1&page_size=2", "/api/smart-connectors?page=2&page_size=2"]


def test_path_segments_are_quoted(api: ExecutorClient, scripted: Scripted) -> None:
    api.get_connector("../files/x")
    assert scripted.seen[0][1] == "/api/smart-connectors/..%2Ffiles%2Fx"


def test_every_failure_is_a_scsync_error_and_the_key_never_shows(scripted: Scripted) -> None:
    with ExecutorClient("http://127.0.0.1:1", Credentials("secret-key"),
                        retry=RetryPolicy(attempts=1)) as c:
        assert "secret-key" not in repr(c)
        assert "secret-key" not in repr(Credentials("secret-key"))
        with pytest.raises(ExecutorError) as caught:
            c.healthz()
    assert isinstance(caught.value, ScsyncError)
    assert "secret-key" not in str(caught.value)
    # A malformed URL is refused when the client is made, before any request.
    with pytest.raises(BadExecutorUrl) as refused:
        ExecutorClient("http://[::1", Credentials("secret-key"), retry=RetryPolicy(attempts=1))
    assert isinstance(refused.value, ScsyncError)
    assert "secret-key" not in str(refused.value)
