"""The connector API through scsync.client against the real server: fields, rules, errors."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from scsync.client import (
    BadRequest,
    Conflict,
    Credentials,
    ExecutorClient,
    ExecutorUnreachable,
    NotFound,
    RetryPolicy,
    ServerSideError,
    Unauthorized,
)
from scsync.executor.models import STATUS_UPDATE_ERROR

from .conftest import (
    API_KEY,
    ExecutorFactory,
    ExecutorProcess,
    base_env,
    sh_job,
    unique_name,
    wait_execution,
)


def test_create_returns_every_field_with_defaults(client: ExecutorClient) -> None:
    name = unique_name()
    created = client.create_connector({"api_name": name, "name": "Accounts"})
    assert created["api_name"] == name
    assert created["status"] == "setup"
    assert created["max_concurrent_executions"] == 1
    assert created["create_only"] is False
    assert created["stats"] == {"used_count": 0}
    assert created["last_used_at"] is None
    assert created["job"] is None
    for key in ("id", "description", "additional_notification_email",
                "additional_error_notification_email", "execution_ended_webhook_url",
                "created"):
        assert key in created


def test_get_by_id_or_api_name(client: ExecutorClient) -> None:
    name = unique_name()
    created = client.create_connector({"api_name": name, "name": "X"})
    assert client.get_connector(created["id"]) == created
    assert client.get_connector(name) == created
    with pytest.raises(NotFound) as caught:
        client.get_connector("no_such_connector")
    assert caught.value.status == 404
    assert not caught.value.retryable


def test_api_name_clash_is_409(client: ExecutorClient) -> None:
    name = unique_name()
    client.create_connector({"api_name": name, "name": "one"})
    with pytest.raises(Conflict, match="already taken"):
        client.create_connector({"api_name": name, "name": "two"})
    other = client.create_connector({"api_name": unique_name(), "name": "three"})
    with pytest.raises(Conflict, match="already taken"):
        client.patch_connector(other["id"], {"api_name": name})


def test_create_may_set_any_status_but_update_only_operational_or_inactive(
    client: ExecutorClient,
) -> None:
    connector = client.create_connector(
        {"api_name": unique_name(), "name": "n", "status": "need_attention"})
    assert connector["status"] == "need_attention"
    for status in ("setup", "need_attention"):
        with pytest.raises(BadRequest) as caught:
            client.patch_connector(connector["id"], {"status": status})
        assert caught.value.status == 400
        assert caught.value.detail.endswith(STATUS_UPDATE_ERROR)
    assert client.patch_connector(connector["id"], {"status": "inactive"})["status"] == "inactive"
    assert client.patch_connector(connector["id"],
                                  {"status": "operational"})["status"] == "operational"


def test_patch_changes_only_the_given_fields_and_null_clears(client: ExecutorClient) -> None:
    connector = client.create_connector({
        "api_name": unique_name(), "name": "before", "description": "d",
        "additional_notification_email": "ops@example.com",
    })
    updated = client.patch_connector(connector["id"], {"name": "after",
                                                       "additional_notification_email": None})
    assert updated["name"] == "after"
    assert updated["description"] == "d"
    assert updated["additional_notification_email"] is None
    with pytest.raises(BadRequest, match="name"):
        client.patch_connector(connector["id"], {"name": None})


def test_api_name_change_after_use_needs_force(client: ExecutorClient) -> None:
    name = unique_name()
    connector = client.create_connector({"api_name": name, "name": "n", "status": "inactive"})
    renamed = client.patch_connector(name, {"api_name": name + "_a"})  # unused: allowed
    client.start_flow(renamed["id"])
    assert client.get_connector(renamed["id"])["stats"]["used_count"] == 1
    with pytest.raises(Conflict, match="force_api_name_change"):
        client.patch_connector(renamed["id"], {"api_name": name + "_b"})
    forced = client.patch_connector(renamed["id"], {"api_name": name + "_b"},
                                    force_api_name_change=True)
    assert forced["api_name"] == name + "_b"
    assert forced["id"] == connector["id"]


def test_used_count_and_last_used_at(client: ExecutorClient) -> None:
    name = unique_name()
    client.create_connector({"api_name": name, "name": "n", "status": "operational",
                             "job": sh_job("true")})
    first = client.start_flow(name)
    wait_execution(client, name, first)
    second = client.start_flow(name)
    ended = wait_execution(client, name, second)
    connector = client.get_connector(name)
    assert connector["stats"]["used_count"] == 2
    assert connector["last_used_at"] == ended["started_at"]


def test_list_filters_and_pages(client: ExecutorClient) -> None:
    tag = unique_name("lst")
    for i in range(7):
        client.create_connector({"api_name": f"{tag}_{i}", "name": f"List {tag} {i}",
                                 "status": "inactive" if i % 2 else "operational"})
    found = list(client.list_connectors(search=tag, page_size=3))
    assert [c["api_name"] for c in found] == [f"{tag}_{i}" for i in range(7)]
    inactive = list(client.list_connectors(search=tag, status="inactive", page_size=2))
    assert [c["api_name"] for c in inactive] == [f"{tag}_{i}" for i in (1, 3, 5)]
    # LIKE wildcards in the search are literal characters
    assert list(client.list_connectors(search=tag.replace("_", "%"))) == []


def test_executions_list_filter_and_cancel(client: ExecutorClient) -> None:
    name = unique_name()
    client.create_connector({"api_name": name, "name": "n", "status": "inactive",
                             "job": sh_job("true")})
    ids = [client.start_flow(name) for _ in range(3)]
    listed = list(client.list_executions(name, page_size=2))
    assert [e["id"] for e in listed] == list(reversed(ids))  # newest first
    cancelled = client.cancel_execution(name, ids[0])
    assert cancelled["status"] == "cancelled"
    assert [e["id"] for e in client.list_executions(name, status="queued")] == ids[:0:-1]
    with pytest.raises(Conflict, match="already ended"):
        client.cancel_execution(name, ids[0])
    with pytest.raises(NotFound):
        client.get_execution(name, "00000000-0000-4000-8000-000000000000")


def test_report_download(client: ExecutorClient) -> None:
    name = unique_name()
    client.create_connector({"api_name": name, "name": "n", "status": "operational",
                             "job": sh_job("echo hello report")})
    ended = wait_execution(client, name, client.start_flow(name))
    assert ended["report_url"].endswith(f"/api/files/{ended['report_file_id']}/download")
    report = client.download_report(ended["report_file_id"])
    assert b"hello report" in report


def test_openapi_healthz_and_metrics(shared_executor: ExecutorProcess,
                                     client: ExecutorClient) -> None:
    http = shared_executor.http()
    with http:
        spec = http.get(f"{shared_executor.url}/openapi.json", timeout=5).json()
        assert "/api/smart-connectors/{c}/start-connector-flow" in spec["paths"]
        metrics = http.get(f"{shared_executor.url}/metrics", timeout=5)
    assert metrics.status_code == 200
    for family in ("scsync_executions_queued", "scsync_executions_running",
                   "scsync_executions_finished_total", "scsync_admission_latency_seconds"):
        assert family in metrics.text
    assert client.healthz()["status"] == "ok"


def _schema(spec: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    ref = response["content"]["application/json"]["schema"]["$ref"]
    schema: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def test_openapi_documents_the_auth_headers_and_the_real_error_bodies(
    shared_executor: ExecutorProcess,
) -> None:
    response = requests.get(f"{shared_executor.url}/openapi.json", timeout=5)
    spec = response.json()
    schemes = spec["components"]["securitySchemes"]
    # X-BUSINESS-ID is a scheme only where it is checked (test_contract.py has that case).
    assert {(s["type"], s["in"], s["name"]) for s in schemes.values()} == {
        ("apiKey", "header", "X-API-KEY")}
    expected = {  # (path, method): the error statuses it documents beyond 401, 403, 500
        ("/api/smart-connectors", "get"): {400, 422},
        ("/api/smart-connectors/metadata", "get"): set(),
        ("/api/custom-objects", "get"): {422},
        ("/api/smart-connectors", "post"): {400, 408, 409, 413, 422},
        ("/api/smart-connectors/{c}", "get"): {404, 422},
        ("/api/smart-connectors/{c}", "patch"): {400, 404, 408, 409, 413, 422},
        ("/api/smart-connectors/{c}/start-connector-flow", "post"): {400, 404, 408, 413, 422},
        ("/api/smart-connectors/{c}/executions", "get"): {400, 404, 422},
        ("/api/smart-connectors/{c}/executions/{eid}", "get"): {404, 422},
        ("/api/smart-connectors/{c}/executions/{eid}/cancel", "post"): {404, 409, 422},
        ("/api/files/{file_id}/download", "get"): {404, 422},
        ("/metrics", "get"): set(),
    }
    for (path, method), extra in expected.items():
        operation = spec["paths"][path][method]
        assert {name for requirement in operation["security"] for name in requirement} == set(
            schemes), path
        errors = {int(code) for code in operation["responses"] if code[0] in "45"}
        assert errors == {401, 403, 500} | extra, (path, method)
        for code in errors:
            body = _schema(spec, operation["responses"][str(code)])
            assert body["properties"]["detail"]["type"] == "string"
            assert set(body["properties"]) == ({"detail", "errors"} if code == 422
                                               else {"detail"})
    assert "security" not in spec["paths"]["/healthz"]["get"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_wrong_key_is_401_and_not_retried(shared_executor: ExecutorProcess) -> None:
    with ExecutorClient(shared_executor.url, Credentials("wrong")) as bad, \
            pytest.raises(Unauthorized) as caught:
        list(bad.list_connectors())
    assert caught.value.status == 401
    assert "wrong" not in str(caught.value)


def test_client_repr_and_errors_never_show_the_key(shared_executor: ExecutorProcess) -> None:
    with shared_executor.client() as c:
        assert API_KEY not in repr(c)
        with pytest.raises(NotFound) as caught:
            c.get_connector("missing_one")
        assert API_KEY not in str(caught.value)
    assert API_KEY not in shared_executor.log()


def test_business_id_must_match_when_configured(start_executor: ExecutorFactory) -> None:
    server = start_executor(env=base_env(SCSYNC_BUSINESS_ID="biz-1"))
    with server.client() as good:
        assert list(good.list_connectors()) == []
    with server.http() as http:
        http.headers["X-BUSINESS-ID"] = "biz-2"
        answer = http.get(f"{server.url}/api/smart-connectors", timeout=5)
    assert answer.status_code == 403
    assert answer.json() == {"detail": "X-BUSINESS-ID does not match this executor."}


def test_generated_key_is_private_and_found_by_the_client(
    start_executor: ExecutorFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SCSYNC_API_KEY", raising=False)
    env = base_env()
    del env["SCSYNC_API_KEY"]
    server = start_executor(env=env)
    key_file = server.repo / ".scsync" / "api-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 32
    with ExecutorClient.from_env(server.url, repo=server.repo) as local:
        assert list(local.list_connectors()) == []
    assert key not in server.log()


def test_restart_keeps_connectors(start_executor: ExecutorFactory) -> None:
    server = start_executor()
    with server.client() as c:
        created = c.create_connector({"api_name": "kept_one", "name": "Kept"})
    server.stop()
    server.start()
    with server.client() as c:
        assert c.get_connector("kept_one") == created


@pytest.mark.sqlite_only  # one executor per SQLite file; PostgreSQL takes replicas
def test_second_executor_on_the_same_database_refuses_to_start(
    start_executor: ExecutorFactory,
) -> None:
    first = start_executor()
    second = ExecutorProcess(first.workdir, first.repo, first.env)
    second.log_path = first.workdir / "second.log"
    with pytest.raises(AssertionError, match="another executor is already serving"):
        second.start()


def test_unreachable_executor_is_retryable_server_side_error() -> None:
    with ExecutorClient("http://127.0.0.1:9", Credentials("k"),
                        retry=RetryPolicy(attempts=2, backoff=0.01)) as c, \
            pytest.raises(ExecutorUnreachable) as caught:
        c.healthz()
    assert isinstance(caught.value, ServerSideError)
    assert caught.value.retryable
    assert caught.value.status is None


@pytest.mark.sqlite_only  # the SQLite file's and its -wal's modes
def test_state_in_the_repo_is_private_and_never_committed(
    start_executor: ExecutorFactory, tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    env = base_env()
    del env["SCSYNC_API_KEY"]
    # serve's defaults: the key and the database both under <repo>/.scsync
    server = start_executor("--db", str(repo / ".scsync" / "executor.db"), env=env, repo=repo)
    with ExecutorClient.from_env(server.url, repo=repo) as local:
        local.create_connector({"api_name": "private_state", "name": "n"})
    state = repo / ".scsync"
    assert (state / ".gitignore").read_text().splitlines()[-1] == "*"
    for name in ("executor.db", "executor.db-wal", "api-key"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    staged = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], check=True,
                            capture_output=True, text=True).stdout
    assert staged == ""
