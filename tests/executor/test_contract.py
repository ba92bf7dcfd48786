"""What /openapi.json says is what the executor does: nulls, field rules, 405s, security, 422s.

Each test reads the document from the running executor and checks the running
executor against it, so a change to either one alone fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import requests

from .conftest import API_KEY, ExecutorFactory, ExecutorProcess, base_env, unique_name

NULLABLE = ("description", "additional_notification_email",
            "additional_error_notification_email", "execution_ended_webhook_url", "job")
NOT_NULLABLE = ("api_name", "name", "status", "max_concurrent_executions", "create_only")


@pytest.fixture
def http(shared_executor: ExecutorProcess) -> Iterator[requests.Session]:
    with shared_executor.http() as session:
        yield session


@pytest.fixture(scope="module")
def document(shared_executor: ExecutorProcess) -> dict[str, Any]:
    with requests.get(f"{shared_executor.url}/openapi.json", timeout=5) as answer:
        spec: dict[str, Any] = answer.json()
    return spec


def _validator(document: dict[str, Any], schema: str) -> jsonschema_rs.Draft202012Validator:
    """A validator for a component of the document, reading patterns as schemathesis does."""
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": document["components"]},
        pattern_options=jsonschema_rs.FancyRegexOptions(size_limit=150_000_000))


def _create(http: requests.Session, url: str, **fields: Any) -> requests.Response:
    return http.post(f"{url}/api/smart-connectors",
                     json={"api_name": unique_name("contract"), "name": "n", **fields}, timeout=5)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


# -- null in an update --------------------------------------------------------


def test_null_clears_the_optional_settings_of_an_update(shared_executor: ExecutorProcess,
                                                         http: requests.Session) -> None:
    created = _create(http, shared_executor.url, description="nightly accounts",
                      additional_notification_email="ops@example.com",
                      additional_error_notification_email="oncall@example.com",
                      execution_ended_webhook_url="https://hooks.example.com/ended",
                      job={"command": ["/bin/true"]}).json()
    answer = http.patch(f"{shared_executor.url}/api/smart-connectors/{created['id']}",
                        json=dict.fromkeys(NULLABLE), timeout=5)
    assert answer.status_code == 200, answer.text
    stored = http.get(f"{shared_executor.url}/api/smart-connectors/{created['id']}",
                      timeout=5).json()
    for view in (answer.json(), stored):
        assert view["description"] == ""
        assert view["additional_notification_email"] is None
        assert view["additional_error_notification_email"] is None
        assert view["execution_ended_webhook_url"] is None
        assert view["job"] is None
        assert view["name"] == "n"


@pytest.mark.parametrize("field", NOT_NULLABLE)
def test_null_is_refused_for_the_settings_that_always_have_a_value(
    shared_executor: ExecutorProcess, http: requests.Session, field: str,
) -> None:
    created = _create(http, shared_executor.url, status="operational").json()
    answer = http.patch(f"{shared_executor.url}/api/smart-connectors/{created['id']}",
                        json={field: None}, timeout=5)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [{
        "field": f"body.{field}",
        "message": "Value error, may not be null (leave the field out to keep its value)"}]
    after = http.get(f"{shared_executor.url}/api/smart-connectors/{created['id']}",
                     timeout=5).json()
    assert after == created


def test_the_document_says_which_update_fields_take_null(document: dict[str, Any]) -> None:
    update = _validator(document, "ConnectorUpdate")
    for field in NULLABLE:
        assert update.is_valid({field: None}), field
    for field in NOT_NULLABLE:
        assert not update.is_valid({field: None}), field
    # An update may set these two statuses only; the others get Kizen's 400.
    assert update.is_valid({"status": "inactive"})
    assert not update.is_valid({"status": "setup"})


# -- the field rules are in the document --------------------------------------

RULES: list[tuple[str, Any, bool]] = [
    ("additional_notification_email", "ops@example.com", True),
    ("additional_notification_email", "a@x.com,b@x.com", False),
    ("additional_notification_email", "ops@example.com\n", False),
    ("additional_notification_email", "o\x00ps@example.com", False),
    ("additional_error_notification_email", "ä@bücher.de", True),
    ("additional_error_notification_email", "a@" + "b" * 250 + ".com", False),
    ("execution_ended_webhook_url", "https://hooks.example.com/h?x=1", True),
    ("execution_ended_webhook_url", "http://127.0.0.1:8080/h", True),
    ("execution_ended_webhook_url", "https://[2001:db8::1]:8443/h", True),
    ("execution_ended_webhook_url", "", False),  # schemathesis: allowed by the old document
    ("execution_ended_webhook_url", "http://example.com/h", False),
    ("execution_ended_webhook_url", "https://user@example.com/h", False),
    ("execution_ended_webhook_url", "https://example.com:65536/h", False),
    ("execution_ended_webhook_url", "https://exa mple.com/h", False),
    ("execution_ended_webhook_url", "https://example.com/a b", False),
    ("execution_ended_webhook_url", "https://bücher.example/h", False),
    ("execution_ended_webhook_url", "https://example.com/é", True),
    ("name", "Accounts", True),
    ("name", " \u3000\t\u2028", False),
    ("max_concurrent_executions", 63.0, True),  # schemathesis: JSON Schema's integer takes 63.0
    ("max_concurrent_executions", 6.5, False),
    ("max_concurrent_executions", "6", False),
    ("job", {"command": ["/bin/true"], "env": {"GOOD_NAME": "1"}}, True),
    ("job", {"command": ["/bin/true"], "env": {"bad-name": "1"}}, False),
    ("job", {"command": ["/bin/true"], "env": {"9LIVES": "1"}}, False),
    ("job", {"command": ["/bin/true"], "env": {"A" * 129: "1"}}, False),
    ("job", {"command": ["/bin/true"], "working_dir": "jobs/nightly"}, True),
    ("job", {"command": ["/bin/true"], "working_dir": "jobs/../.."}, False),
    ("job", {"command": ["/bin/true"], "working_dir": "C:/jobs"}, False),
    ("job", {"command": ["/bin/true"], "timeout_seconds": 60.0}, True),
]


@pytest.mark.parametrize(("field", "value", "valid"), RULES,
                         ids=[f"{f}={v!r}"[:60] for f, v, _ in RULES])
def test_the_document_states_the_rules_the_executor_enforces(
    shared_executor: ExecutorProcess, http: requests.Session, document: dict[str, Any],
    field: str, value: Any, valid: bool,
) -> None:
    body = {"api_name": unique_name("rule"), "name": "n", field: value}
    assert _validator(document, "ConnectorCreate").is_valid(body) is valid
    answer = http.post(f"{shared_executor.url}/api/smart-connectors", json=body, timeout=5)
    assert answer.status_code == (201 if valid else 422), answer.text
    if not valid:
        assert answer.json()["errors"][0]["field"].startswith(f"body.{field}")


def test_whole_numbers_written_as_floats_are_stored_as_integers(
    shared_executor: ExecutorProcess, http: requests.Session,
) -> None:
    created = _create(http, shared_executor.url, max_concurrent_executions=63.0,
                      job={"command": ["/bin/true"], "timeout_seconds": 1e2}).json()
    assert created["max_concurrent_executions"] == 63
    assert created["job"]["timeout_seconds"] == 100
    assert isinstance(created["max_concurrent_executions"], int)


# -- 405 and Allow ------------------------------------------------------------


def test_405_allow_names_every_method_the_document_lists(
    shared_executor: ExecutorProcess, http: requests.Session, document: dict[str, Any],
) -> None:
    connector = _create(http, shared_executor.url).json()
    values = {"c": connector["id"], "eid": "00000000-0000-4000-8000-000000000000",
              "file_id": "00000000-0000-4000-8000-000000000000"}
    for path, operations in document["paths"].items():
        documented = {method.upper() for method in operations}
        for method in sorted({"DELETE", "PUT", "OPTIONS", "PATCH", "POST"} - documented):
            answer = http.request(method, shared_executor.url + path.format(**values), timeout=5)
            assert answer.status_code == 405, (method, path)
            allowed = {m.strip() for m in answer.headers["Allow"].split(",")}
            assert allowed == documented, (method, path)


# -- security -----------------------------------------------------------------


def test_without_a_business_id_the_key_alone_is_required(
    shared_executor: ExecutorProcess, document: dict[str, Any],
) -> None:
    assert set(document["components"]["securitySchemes"]) == {"ApiKey"}
    for path, method, operation in _operations(document):
        if path not in ("/healthz", "/readyz"):  # the probes are open
            assert operation["security"] == [{"ApiKey": []}], (method, path)
        else:
            assert "security" not in operation, path
            assert requests.get(shared_executor.url + path, timeout=5).status_code == 200
    url = f"{shared_executor.url}/api/smart-connectors"
    assert requests.get(url, headers={"X-API-KEY": API_KEY}, timeout=5).status_code == 200
    assert requests.get(url, headers={"X-BUSINESS-ID": "any"}, timeout=5).status_code == 401


def test_with_a_business_id_the_key_and_the_business_id_are_both_required(
    start_executor: ExecutorFactory,
) -> None:
    server = start_executor(env=base_env(SCSYNC_BUSINESS_ID="biz-1"))
    document = requests.get(f"{server.url}/openapi.json", timeout=5).json()
    assert set(document["components"]["securitySchemes"]) == {"ApiKey", "BusinessId"}
    for path, method, operation in _operations(document):
        if path not in ("/healthz", "/readyz"):
            # One requirement naming both: an AND. Two requirements would mean either one.
            assert operation["security"] == [{"ApiKey": [], "BusinessId": []}], (method, path)
    url = f"{server.url}/api/smart-connectors"
    statuses = {
        "both": requests.get(url, headers={"X-API-KEY": API_KEY, "X-BUSINESS-ID": "biz-1"},
                             timeout=5).status_code,
        "key only": requests.get(url, headers={"X-API-KEY": API_KEY}, timeout=5).status_code,
        "business id only": requests.get(url, headers={"X-BUSINESS-ID": "biz-1"},
                                         timeout=5).status_code,
    }
    assert statuses == {"both": 200, "key only": 403, "business id only": 401}


def test_the_initiating_user_is_an_optional_header(
    shared_executor: ExecutorProcess, http: requests.Session, document: dict[str, Any],
) -> None:
    for path in ("/api/smart-connectors/{c}/start-connector-flow",
                 "/api/smart-connectors/{c}/executions/{eid}/cancel"):
        parameters = document["paths"][path]["post"]["parameters"]
        user = next(p for p in parameters if p["name"] == "X-USER-ID")
        assert (user["in"], user["required"]) == ("header", False)
    connector = _create(http, shared_executor.url).json()
    answer = http.post(f"{shared_executor.url}/api/smart-connectors/{connector['id']}"
                       "/start-connector-flow", timeout=5)
    assert answer.status_code == 201


# -- every 422 has its list ---------------------------------------------------


def test_every_422_lists_its_fields(shared_executor: ExecutorProcess, http: requests.Session,
                                    document: dict[str, Any]) -> None:
    connector = _create(http, shared_executor.url).json()
    base = f"{shared_executor.url}/api/smart-connectors"
    answers = {
        "null in an update": http.patch(f"{base}/{connector['id']}", json={"name": None},
                                        timeout=5),
        "bad body field": http.post(base, json={"api_name": "X"}, timeout=5),
        "bad query": http.get(f"{base}?page=0", timeout=5),
        "repeated query": http.get(f"{base}?search=a&search=b", timeout=5),
        "bad path": http.get(f"{base}/{connector['id']}/executions/nope", timeout=5),
    }
    body_schema = _validator(document, "ValidationErrorBody")
    for case, answer in answers.items():
        assert answer.status_code == 422, case
        body = answer.json()
        assert body_schema.is_valid(body), (case, body)
        assert body["errors"], case
        assert all(problem["field"] in body["detail"] for problem in body["errors"]), case


# -- answers match their schemas ----------------------------------------------


def test_answers_match_the_schemas_the_document_gives_them(
    shared_executor: ExecutorProcess, http: requests.Session, document: dict[str, Any],
) -> None:
    connector = _create(http, shared_executor.url, additional_notification_email="o@x.com",
                        status="operational", job={"command": ["/bin/true"]}).json()
    base = f"{shared_executor.url}/api/smart-connectors/{connector['id']}"
    started = http.post(f"{base}/start-connector-flow", json={}, timeout=5).json()
    execution = f"{base}/executions/{started['execution_id']}"
    answers = {
        "ConnectorView": connector,
        "ConnectorPage": http.get(f"{shared_executor.url}/api/smart-connectors", timeout=5).json(),
        "Started": started,
        "ExecutionPage": http.get(f"{base}/executions", timeout=5).json(),
        "ExecutionDetail": http.get(execution, timeout=5).json(),
        "Health": http.get(f"{shared_executor.url}/healthz", timeout=5).json(),
    }
    for schema, body in answers.items():
        errors = [e.message for e in _validator(document, schema).iter_errors(body)]
        assert errors == [], schema
    get = document["paths"]["/api/smart-connectors/{c}"]["get"]["responses"]["200"]
    assert get["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ConnectorView"}
