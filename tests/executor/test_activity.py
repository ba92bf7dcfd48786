"""/api/scsync/activity: many connectors' running and queued counts and newest execution."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import requests

from scsync.client import ExecutorClient

from .conftest import ExecutorProcess, py_job, unique_name, wait_execution


def _gated_job(gate: Path) -> dict[str, Any]:
    """A job that runs until `gate` exists."""
    return py_job(f"import os, time\nwhile not os.path.exists({str(gate)!r}): time.sleep(0.02)")


def _by_id(answer: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["connector_id"]: item for item in answer}


def test_counts_and_newest_match_the_per_connector_answers(client: ExecutorClient,
                                                           tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    busy, done, idle = unique_name("busy"), unique_name("done"), unique_name("idle")
    ids = {name: client.create_connector({"api_name": name, "name": name, "status":
                                          "operational", "job": _gated_job(gate)})["id"]
           for name in (busy, done, idle)}
    client.patch_connector(done, {"job": py_job("pass")})
    finished = client.start_flow(done)
    wait_execution(client, done, finished)
    runs = [client.start_flow(busy) for _ in range(3)]  # limit 1: one runs, two wait
    wait_execution(client, busy, runs[0], ("running",))

    try:
        answer = client.activity([*ids.values(), str(uuid.uuid4())])
        assert answer is not None
        found = _by_id(answer)
        assert set(found) == set(ids.values())  # the unknown id is left out
        assert (found[ids[busy]]["running"], found[ids[busy]]["queued"]) == (1, 2)
        newest = found[ids[busy]]["last_execution"]
        assert newest["id"] == runs[2] and newest["status"] == "queued"
        assert newest["reason"] == "waiting: 1 of 1 slots busy (position 2 in the queue)"
        assert newest == client.execution_page(busy)[1][0]  # the same view as its list
        assert (found[ids[done]]["running"], found[ids[done]]["queued"]) == (0, 0)
        assert found[ids[done]]["last_execution"]["id"] == finished
        assert found[ids[done]]["last_execution"]["status"] == "success"
        assert found[ids[idle]] == {"connector_id": ids[idle], "running": 0, "queued": 0,
                                    "last_execution": None}
    finally:
        gate.touch()
    for run in runs:
        wait_execution(client, busy, run)
    after = client.activity([ids[busy]])
    assert after is not None and (after[0]["running"], after[0]["queued"]) == (0, 0)
    assert after[0]["last_execution"]["id"] == runs[2]


def test_no_ids_is_an_empty_answer(client: ExecutorClient) -> None:
    assert client.activity([]) == []


def test_bad_ids_and_too_many_are_422(shared_executor: ExecutorProcess) -> None:
    http = shared_executor.http()
    url = f"{shared_executor.url}/api/scsync/activity"
    def ask(ids: list[str]) -> requests.Response:
        return http.get(url, params={"connector_ids": ",".join(ids)}, timeout=5)

    for wrong in ([str(uuid.uuid4()), "not-a-uuid"], [uuid.uuid4().hex],
                  [str(uuid.uuid4()) for _ in range(201)], [f"{uuid.uuid4()},"]):
        bad = ask(wrong)
        assert bad.status_code == 422, wrong
        assert [e["field"] for e in bad.json()["errors"]] == ["query.connector_ids"]
    assert ask([str(uuid.uuid4()) for _ in range(200)]).status_code == 200
    repeated = http.get(f"{url}?connector_ids={uuid.uuid4()}&connector_ids={uuid.uuid4()}",
                        timeout=5)
    assert repeated.status_code == 422


def test_needs_the_key(shared_executor: ExecutorProcess) -> None:
    answer = requests.get(f"{shared_executor.url}/api/scsync/activity", timeout=5)
    assert answer.status_code == 401

