"""The one status spelling map: manifest (`Operational - Needs Attention`) against API
(`need_attention`), and the places that cross it (controller/live.py), in-process."""

from __future__ import annotations

from typing import Any

import pytest

from scsync.controller.live import LiveConnector, create_body, patch_body
from scsync.manifest.model import (
    API_EXECUTABLE,
    API_STATUS,
    INACTIVE,
    MANIFEST_STATUS,
    NEEDS_ATTENTION,
    OPERATIONAL,
    SETUP,
    STATUSES,
    Connector,
    is_executable,
)

CASES = [  # manifest spelling, API spelling, executions may start
    (OPERATIONAL, "operational", True),
    (NEEDS_ATTENTION, "need_attention", True),
    (INACTIVE, "inactive", False),
    (SETUP, "setup", False),
]


def _live(status: str, **extra: Any) -> LiveConnector:
    return LiveConnector.from_api({"id": "c1", "api_name": "orders", "name": "Orders",
                                   "status": status, **extra})


def test_every_manifest_status_has_one_api_spelling_and_back() -> None:
    assert sorted(API_STATUS) == sorted(STATUSES)
    assert len(set(API_STATUS.values())) == len(STATUSES)  # no two share a spelling
    assert all(MANIFEST_STATUS[API_STATUS[s]] == s for s in STATUSES)


@pytest.mark.parametrize(("manifest", "api", "runs"), CASES)
def test_a_status_means_the_same_in_both_spellings(manifest: str, api: str, runs: bool) -> None:
    assert API_STATUS[manifest] == api
    assert is_executable(manifest) is runs
    assert is_executable(api) is runs
    assert (api in API_EXECUTABLE) is runs
    assert Connector("orders", "Orders", manifest).executable is runs
    live = _live(api)
    assert live.manifest_status == manifest
    assert live.running is runs
    assert live.settings()["status"] == manifest


@pytest.mark.parametrize(("manifest", "api", "runs"), CASES)
def test_bodies_carry_the_api_spelling(manifest: str, api: str, runs: bool) -> None:
    connector = Connector("orders", "Orders", manifest)
    assert create_body(connector)["status"] == api
    assert patch_body(connector.settings(), ["status"]) == {"status": api}
    # What plan sets where an update cannot set the manifest's own status.
    assert patch_body(connector.settings(), ["name"], {"status": manifest}) == {
        "name": "Orders", "status": api}


def test_an_unknown_live_status_is_shown_as_the_executor_wrote_it() -> None:
    live = _live("archived")
    assert live.manifest_status == "archived"
    assert live.running is False


def test_an_executor_without_jobs_compares_as_the_manifest_wants() -> None:
    want = Connector.from_data({"api_name": "orders", "name": "Orders", "status": OPERATIONAL,
                                "job": {"command": ["true"]}}).settings()
    assert _live("operational").comparable(want)["job"] == want["job"]
    with_job = _live("operational", job={"command": ["false"], "env": {}})
    assert with_job.comparable(want)["job"]["command"] == ["false"]
