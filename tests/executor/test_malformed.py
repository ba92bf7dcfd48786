"""Malformed requests of every kind get a 4xx JSON answer naming the problem, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from .conftest import ExecutorProcess, unique_name

GOOD = {"api_name": "placeholder", "name": "Name"}


@pytest.fixture(scope="module")
def existing(shared_executor: ExecutorProcess) -> str:
    name = unique_name("malformed")
    with shared_executor.http() as http:
        answer = http.post(f"{shared_executor.url}/api/smart-connectors",
                           json={"api_name": name, "name": "n"}, timeout=5)
    assert answer.status_code == 201
    return name


@pytest.fixture
def http(shared_executor: ExecutorProcess) -> Iterator[requests.Session]:
    with shared_executor.http() as session:
        yield session


def _create(**fields: Any) -> dict[str, Any]:
    return {**GOOD, "api_name": unique_name("bad"), **fields}


CREATE_CASES: list[tuple[str, Any, str]] = [
    ("body is a list", [], "body"),
    # A missing api_name is derived from the name, as Kizen does (test_kizen_dialect.py).
    ("name missing", {"api_name": "no_name"}, "body.name"),
    ("api_name null", {"api_name": None, "name": "n"}, "body.api_name"),
    ("api_name reserved", _create(api_name="metadata"), "body.api_name"),
    ("api_name with capitals", _create(api_name="Bad_Name"), "body.api_name"),
    ("api_name too long", _create(api_name="a" * 65), "body.api_name"),
    ("name blank", _create(name="   "), "body.name"),
    ("name too long", _create(name="n" * 256), "body.name"),
    ("description too long", _create(description="d" * 2001), "body.description"),
    ("limit as a string", _create(max_concurrent_executions="3"), "body.max_concurrent_executions"),
    ("limit as a bool", _create(max_concurrent_executions=True), "body.max_concurrent_executions"),
    ("limit negative", _create(max_concurrent_executions=-1), "body.max_concurrent_executions"),
    ("limit over 100", _create(max_concurrent_executions=101), "body.max_concurrent_executions"),
    ("create_only as int", _create(create_only=1), "body.create_only"),
    ("status unknown", _create(status="running"), "body.status"),
    ("status capitalised", _create(status="Operational"), "body.status"),
    ("two emails", _create(additional_notification_email="a@x.com,b@x.com"),
     "body.additional_notification_email"),
    ("not an email", _create(additional_error_notification_email="nobody"),
     "body.additional_error_notification_email"),
    ("webhook over http", _create(execution_ended_webhook_url="http://example.com/h"),
     "body.execution_ended_webhook_url"),
    ("webhook ftp", _create(execution_ended_webhook_url="ftp://example.com/h"),
     "body.execution_ended_webhook_url"),
    ("webhook with credentials",
     _create(execution_ended_webhook_url="https://user:pw@example.com/h"),
     "body.execution_ended_webhook_url"),
    ("webhook port out of range",
     _create(execution_ended_webhook_url="https://example.com:99999/h"),
     "body.execution_ended_webhook_url: Value error, must be a URL with a port number"),
    ("webhook port not a number",
     _create(execution_ended_webhook_url="https://example.com:abc/h"),
     "body.execution_ended_webhook_url: Value error, must be a URL with a port number"),
    ("webhook host with a space", _create(execution_ended_webhook_url="https://exa mple.com/h"),
     "body.execution_ended_webhook_url: Value error, must be a URL with a valid host name"),
    ("webhook host empty label", _create(execution_ended_webhook_url="https://a..b/h"),
     "body.execution_ended_webhook_url: Value error, must be a URL with a valid host name"),
    # Found by schemathesis: the empty string was a valid URL by the old document.
    ("webhook empty", _create(execution_ended_webhook_url=""),
     "body.execution_ended_webhook_url: Value error, must be an absolute https URL"),
    ("webhook with a space in the path",
     _create(execution_ended_webhook_url="https://example.com/a b"),
     "body.execution_ended_webhook_url: Value error, must be a URL without white space"),
    ("webhook scheme in capitals", _create(execution_ended_webhook_url="HTTPS://example.com/"),
     "body.execution_ended_webhook_url: Value error, must be an absolute https URL"),
    ("email with a trailing newline", _create(additional_notification_email="a@x.com\n"),
     "body.additional_notification_email"),
    ("name of Unicode spaces", _create(name="\u3000\u2028\xa0"), "body.name"),
    ("unknown field", _create(max_concurrency=2), "body.max_concurrency"),
    ("job command empty", _create(job={"command": []}), "body.job.command"),
    ("job command a string", _create(job={"command": "ls -l"}), "body.job.command"),
    ("job command empty argument", _create(job={"command": [""]}), "body.job.command.0"),
    ("job timeout zero", _create(job={"command": ["true"], "timeout_seconds": 0}),
     "body.job.timeout_seconds"),
    ("job timeout over a day", _create(job={"command": ["true"], "timeout_seconds": 86401}),
     "body.job.timeout_seconds"),
    ("job env value not a string", _create(job={"command": ["true"], "env": {"A": 1}}),
     "body.job.env.A"),
    ("job env bad name", _create(job={"command": ["true"], "env": {"A-B": "1"}}),
     "body.job.env"),
    ("job env name with a digit first", _create(job={"command": ["true"], "env": {"1A": "1"}}),
     "body.job.env.1A.[key]"),
    ("job working_dir through ..", _create(job={"command": ["true"], "working_dir": "a/../b"}),
     "body.job.working_dir: Value error, must not leave the repository"),
    ("job absolute working_dir", _create(job={"command": ["true"], "working_dir": "/etc"}),
     "body.job.working_dir"),
    ("job working_dir escapes", _create(job={"command": ["true"], "working_dir": "a/../../x"}),
     "body.job.working_dir"),
    ("job unknown field", _create(job={"command": ["true"], "shell": True}), "body.job.shell"),
]


@pytest.mark.parametrize(("body", "field"), [(b, f) for _, b, f in CREATE_CASES],
                         ids=[case for case, _, _ in CREATE_CASES])
def test_create_rejects_invalid_fields(shared_executor: ExecutorProcess, http: requests.Session,
                                       body: Any, field: str) -> None:
    answer = http.post(f"{shared_executor.url}/api/smart-connectors", json=body, timeout=5)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert field in detail
    where = field.split(":")[0]
    assert any(p["field"].startswith(where) for p in answer.json()["errors"]), answer.json()


def test_malformed_json_is_400(shared_executor: ExecutorProcess, http: requests.Session) -> None:
    answer = http.post(f"{shared_executor.url}/api/smart-connectors", data=b'{"api_name": ',
                       headers={"Content-Type": "application/json"}, timeout=5)
    assert answer.status_code == 400
    assert answer.json() == {"detail": "Malformed JSON body."}


def test_non_json_content_type_is_4xx(shared_executor: ExecutorProcess,
                                      http: requests.Session) -> None:
    answer = http.post(f"{shared_executor.url}/api/smart-connectors", data=b"api_name=x",
                       headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5)
    assert 400 <= answer.status_code < 500
    assert "detail" in answer.json()


@pytest.mark.parametrize("size", [2 << 20, 5 << 20], ids=["2MiB", "5MiB"])
def test_huge_body_is_413(shared_executor: ExecutorProcess, http: requests.Session,
                          size: int) -> None:
    body = json.dumps(_create(description="x" * size)).encode()
    answer = http.post(f"{shared_executor.url}/api/smart-connectors", data=body,
                       headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 413
    assert "detail" in answer.json()


def test_huge_chunked_body_is_413(shared_executor: ExecutorProcess,
                                  http: requests.Session) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"api_name": "chunky", "name": "n", "description": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    answer = http.post(f"{shared_executor.url}/api/smart-connectors", data=chunks(),
                       headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 413


@pytest.mark.parametrize("path", [
    "/api/smart-connectors/{c}/executions/not-a-uuid",
    "/api/smart-connectors/{c}/executions/1234",
    "/api/files/not-a-uuid/download",
])
def test_bad_uuids_are_422(shared_executor: ExecutorProcess, http: requests.Session,
                           existing: str, path: str) -> None:
    answer = http.get(shared_executor.url + path.format(c=existing), timeout=5)
    assert answer.status_code == 422
    assert "detail" in answer.json()


@pytest.mark.parametrize("query", [
    "page=0", "page=-1", "page=abc", "page_size=0", "page_size=100000", "page_size=1.5",
    "status=running", "search=" + "s" * 300,
])
def test_bad_list_parameters_are_422(shared_executor: ExecutorProcess, http: requests.Session,
                                     query: str) -> None:
    answer = http.get(f"{shared_executor.url}/api/smart-connectors?{query}", timeout=5)
    assert answer.status_code == 422
    field = query.split("=")[0]
    assert f"query.{field}" in answer.json()["detail"]


def test_bad_execution_status_filter_is_422(shared_executor: ExecutorProcess,
                                            http: requests.Session, existing: str) -> None:
    answer = http.get(f"{shared_executor.url}/api/smart-connectors/{existing}/executions"
                      "?status=done", timeout=5)
    assert answer.status_code == 422


@pytest.mark.parametrize(("body", "status", "needle"), [
    # The route used to refuse these itself, with a 422 that had no "errors".
    ({"name": None}, 422, "body.name: Value error, may not be null"),
    ({"max_concurrent_executions": None}, 422, "body.max_concurrent_executions: Value error, "
                                               "may not be null"),
    ({"api_name": None}, 422, "body.api_name: Value error, may not be null"),
    ({"status": None}, 422, "body.status: Value error, may not be null"),
    ({"create_only": None}, 422, "body.create_only: Value error, may not be null"),
    ({"status": "setup"}, 400, "Status can only be set to 'Operational' or 'Inactive'"),
    ({"status": "need_attention"}, 400, "Status can only be set to 'Operational' or 'Inactive'"),
    ({"status": "bogus"}, 422, "body.status"),
    ({"force_api_name_change": "yes"}, 422, "body.force_api_name_change"),
    ({"colour": "red"}, 422, "body.colour"),
    ({"job": {"command": ["true"], "timeout_seconds": "60"}}, 422, "body.job.timeout_seconds"),
])
def test_patch_rejects_invalid_fields(shared_executor: ExecutorProcess, http: requests.Session,
                                      existing: str, body: dict[str, Any], status: int,
                                      needle: str) -> None:
    answer = http.patch(f"{shared_executor.url}/api/smart-connectors/{existing}", json=body,
                        timeout=5)
    assert answer.status_code == status, answer.text
    assert needle in answer.json()["detail"]
    if status == 422:
        assert needle.split(":")[0] in [p["field"] for p in answer.json()["errors"]]


@pytest.mark.parametrize("body", [
    {"is_dry_run": "false"}, {"is_dry_run": 0}, {"dry_run": True}, [],
])
def test_start_flow_rejects_invalid_bodies(shared_executor: ExecutorProcess,
                                           http: requests.Session, existing: str,
                                           body: Any) -> None:
    answer = http.post(f"{shared_executor.url}/api/smart-connectors/{existing}/"
                       "start-connector-flow", json=body, timeout=5)
    assert answer.status_code == 422


def test_unknown_connector_and_route_are_404(shared_executor: ExecutorProcess,
                                             http: requests.Session) -> None:
    for path in ("/api/smart-connectors/nope_nope", "/api/nothing-here",
                 "/api/smart-connectors/00000000-0000-4000-8000-000000000000/executions"):
        answer = http.get(shared_executor.url + path, timeout=5)
        assert answer.status_code == 404
        assert "detail" in answer.json()


def test_wrong_method_is_405(shared_executor: ExecutorProcess, http: requests.Session) -> None:
    answer = http.delete(f"{shared_executor.url}/api/smart-connectors", timeout=5)
    assert answer.status_code == 405
    assert "detail" in answer.json()
    assert answer.headers["Allow"] == "GET, POST"


def test_options_is_405_naming_both_methods_of_a_connector(shared_executor: ExecutorProcess,
                                                           http: requests.Session) -> None:
    # Found by schemathesis: `Allow: GET`, though PATCH works on the same path.
    answer = http.options(f"{shared_executor.url}/api/smart-connectors/0", timeout=5)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, PATCH"


@pytest.mark.parametrize("query", [
    "search=&search=x", "status=setup&status=inactive", "page=1&page=2&page_size=5",
])
def test_a_repeated_query_parameter_is_422(shared_executor: ExecutorProcess,
                                           http: requests.Session, query: str) -> None:
    # Found by schemathesis: the last of the values was used, and the others ignored.
    answer = http.get(f"{shared_executor.url}/api/smart-connectors?{query}", timeout=5)
    assert answer.status_code == 422, answer.text
    name = query.split("=")[0]
    assert answer.json()["errors"] == [{"field": f"query.{name}",
                                        "message": "may be given only once"}]


def test_update_over_the_body_cap_is_413(shared_executor: ExecutorProcess,
                                         http: requests.Session, existing: str) -> None:
    # Found by schemathesis: a 1001-argument command of 5 MB, answered 413 as documented.
    job = {"command": ["0" * 5000] * 1001}
    answer = http.patch(f"{shared_executor.url}/api/smart-connectors/{existing}",
                        json={"job": job}, timeout=10)
    assert answer.status_code == 413
    assert answer.json() == {"detail": "Request body larger than 1048576 bytes."}


@pytest.mark.parametrize("headers", [{}, {"X-API-KEY": "nope"}, {"X-API-KEY": ""}],
                         ids=["missing", "wrong", "empty"])
def test_no_valid_key_is_401_before_anything_else(shared_executor: ExecutorProcess,
                                                  headers: dict[str, str]) -> None:
    url = shared_executor.url
    attempts = [
        requests.get(f"{url}/api/smart-connectors", headers=headers, timeout=5),
        requests.post(f"{url}/api/smart-connectors", data=b"{not json", timeout=5,
                      headers={**headers, "Content-Type": "application/json"}),
        requests.get(f"{url}/api/no-such-route", headers=headers, timeout=5),
        requests.get(f"{url}/metrics", headers=headers, timeout=5),
        requests.post(f"{url}/api/smart-connectors", data=b"x" * (3 << 20), timeout=10,
                      headers={**headers, "Content-Type": "application/json"}),
    ]
    for answer in attempts:
        with answer:
            assert answer.status_code == 401, answer.text
            assert answer.json() == {"detail": "Missing or invalid X-API-KEY."}


def test_server_is_still_healthy(shared_executor: ExecutorProcess) -> None:
    with requests.get(f"{shared_executor.url}/healthz", timeout=5) as answer:
        assert answer.status_code == 200
    assert "Traceback" not in shared_executor.log()
