"""`validate` and the executor agree on every manifest at the schema's boundaries.

Manifests are generated from the schema's own limits (scsync.contract): each
length, count and range at its minimum and maximum and one past them, and
free text built from the pieces that reach the corners of the patterns. Each
goes through the in-process validate pipeline and, as the create request
`apply` sends (controller/live.create_body), to a real `scsync executor serve`.
A manifest validate passes must be created (201); one it refuses must be
refused (422). The schema and the executor answering differently is the bug
of issue 10: a manifest that passes `validate` and `diff`, then fails at apply.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scsync import contract
from scsync.checks.pipeline import FileChecker
from scsync.checks.schema import load_schema
from scsync.controller.live import create_body
from scsync.findings import Severity
from scsync.manifest.model import API_STATUS, Connector

from .conftest import ExecutorProcess

_CHECKER = FileChecker(load_schema())
_SERIAL = itertools.count(1)
# Pieces that reach the corners of the patterns: separators, the newline `$` may pass,
# controls, non-ASCII white space, the local hosts, brackets, ports.
_PIECES = [*"ab.:/\\-_@[]%09AF?#\n\t\x00 \u2028\xa0\ufeff\x85é,;\"", "..", "::", "https://",
           "http://", "localhost", "127.0.0.1", "[::1]", "xn--", ":65535", ":65536", ":0"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=16).map("".join)


def _around(low: int | None, high: int | None) -> list[int]:
    """Each limit and the values just past it."""
    values = [v for limit in (low, high) if limit is not None for v in (limit - 1, limit)]
    values += [high + 1] if high is not None else []
    return sorted({v for v in values if v >= 0})


def _sized(fill: str, length: int, head: str = "", tail: str = "") -> str:
    return head + fill * max(length - len(head) - len(tail), 0) + tail


def _string_cases(path: str, head: str = "", tail: str = "") -> st.SearchStrategy[str]:
    rule = contract.field(path)
    lengths = _around(rule.min_length, rule.max_length)
    sized = st.sampled_from(lengths).map(lambda n: _sized("a", n, head, tail))
    # The patterned fields also get free text; for name, the fill itself is the pattern.
    return st.one_of(sized, _TEXT.map(lambda t: head + t + tail), _TEXT) if rule.pattern \
        else sized


def _integers(path: str) -> st.SearchStrategy[Any]:
    rule = contract.field(path)
    whole = st.sampled_from(_around(rule.minimum, rule.maximum))
    # JSON Schema's integer takes 3.0 and both sides must say so; 3.5 neither.
    return st.one_of(whole, whole.map(float), whole.map(lambda n: n + 0.5))


def _env() -> st.SearchStrategy[dict[str, str]]:
    rule = contract.field("job.env")
    names, values = rule.names, rule.values
    assert names is not None and values is not None and rule.max_properties is not None
    long_name = st.sampled_from([1, 127, 128, 129, 5000]).map(lambda n: "E" * n)
    name = st.one_of(long_name, _TEXT.filter(bool), st.just("GOOD_1"))
    value = st.sampled_from(_around(values.min_length, values.max_length)).map(lambda n: "v" * n)
    one = st.builds(lambda k, v: {k: v}, name, value)
    many = st.sampled_from(_around(None, rule.max_properties)).map(
        lambda n: {f"V{i}": "x" for i in range(n)})
    return st.one_of(one, many)


def _command() -> st.SearchStrategy[list[str]]:
    rule = contract.field("job.command")
    assert rule.items is not None
    counts = st.sampled_from(_around(rule.min_items, rule.max_items)).map(lambda n: ["a"] * n)
    lengths = st.sampled_from(_around(rule.items.min_length, rule.items.max_length)).map(
        lambda n: ["run", "a" * n])
    return st.one_of(counts, lengths)


_JOB = st.fixed_dictionaries({"command": _command()}, optional={
    "timeout_seconds": _integers("job.timeout_seconds"),
    "env": _env(),
    "working_dir": _string_cases("job.working_dir"),
})
_EMAIL = _string_cases("additional_notification_email", "ops", "@example.com")
_SETTINGS = st.fixed_dictionaries({}, optional={
    "name": _string_cases("name"),
    "description": _string_cases("description"),
    "max_concurrent_executions": _integers("max_concurrent_executions"),
    "additional_notification_email": _EMAIL,
    "additional_error_notification_email": _EMAIL,
    "execution_ended_webhook_url": _string_cases("execution_ended_webhook_url",
                                                 "https://hooks.example.com/"),
    "job": _JOB,
})


def _manifest(settings_: dict[str, Any], api_name: str) -> dict[str, Any]:
    return {"apiVersion": "scsync/v1", "kind": "SmartConnector", "api_name": api_name,
            "name": "Boundary", "description": "A manifest at the schema's boundaries.",
            "status": "Setup", "create_only": True, **settings_}


def _validate_passes(manifest: dict[str, Any]) -> bool:
    # JSON is YAML: the file validate reads, with no YAML spelling of its own in the way.
    result = _CHECKER.check_bytes(json.dumps(manifest).encode(), "connectors/m.yaml")
    return not [f for f in result.findings if f.severity is Severity.ERROR]


def _request(manifest: dict[str, Any], valid: bool) -> dict[str, Any]:
    """What apply sends for a valid manifest; for another, the same values as they are.

    (The connector model is built only from valid documents: it would read 3.5 as 3.)
    """
    if valid:
        return create_body(Connector.from_data(manifest))
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    return {**body, "status": API_STATUS[manifest["status"]]}


def _executor_creates(session: requests.Session, url: str, manifest: dict[str, Any],
                      valid: bool) -> bool:
    body = _request(manifest, valid)
    answer = session.post(f"{url}/api/smart-connectors", json=body, timeout=30)
    assert answer.status_code in (201, 422), (answer.status_code, answer.text[:500])
    return answer.status_code == 201


@pytest.fixture(scope="module")
def http(shared_executor: ExecutorProcess) -> Iterator[requests.Session]:
    with shared_executor.http() as session:
        yield session


def test_validate_and_the_executor_agree_at_every_boundary(
    shared_executor: ExecutorProcess, http: requests.Session,
) -> None:
    @settings(max_examples=400, suppress_health_check=list(HealthCheck), database=None,
              deadline=None)
    @given(_SETTINGS)
    def agree(settings_: dict[str, Any]) -> None:
        manifest = _manifest(settings_, f"boundary_{next(_SERIAL)}")
        valid = _validate_passes(manifest)
        assert _executor_creates(http, shared_executor.url, manifest, valid) is valid, \
            json.dumps(manifest)[:2000]

    agree()


@pytest.mark.parametrize(("length", "created"), [(1, False), (2, True), (64, True),
                                                  (65, False)])
def test_api_names_agree_at_their_length_limits(
    shared_executor: ExecutorProcess, http: requests.Session, length: int, created: bool,
) -> None:
    api_name = _sized("q", length, head=f"n{length}_")[:length] if length > 1 else "n"
    manifest = _manifest({}, api_name)
    assert _validate_passes(manifest) is created
    assert _executor_creates(http, shared_executor.url, manifest, created) is created


@pytest.mark.parametrize("job", [
    {"command": ["a"] * 1001},
    {"command": ["a"], "env": {"E" * 129: "x"}},
    {"command": ["a"], "env": {f"V{i}": "x" for i in range(501)}},
    {"command": ["a"], "working_dir": "w" * 1025},
    {"command": ["a"], "working_dir": "\\\\share\\jobs"},
    {"command": ["a" * 32769]},
], ids=["1001-arguments", "env-name-129", "501-env-entries", "working-dir-1025",
        "leading-backslash", "argument-32769"])
def test_what_the_executor_refuses_validate_refuses(
    shared_executor: ExecutorProcess, http: requests.Session, job: dict[str, Any],
) -> None:
    # The manifests of issue 10: each used to pass validate and fail at apply with 422.
    manifest = _manifest({"job": job}, f"refused_{next(_SERIAL)}")
    assert not _validate_passes(manifest)
    assert not _executor_creates(http, shared_executor.url, manifest, False)
