"""Schemathesis against a running executor: every answer conforms to its own /openapi.json.

The executor is started for real with a business id (so both security schemes
apply) and a job that exits at once, and seeded with connectors, executions
and report files, whose ids schemathesis draws most of the time (otherwise
every path with an id would only ever meet 404). Then schemathesis runs every
check it has (`--checks all`: documented statuses, bodies and headers, no
5xx, valid data accepted, invalid data refused, 405 with `Allow`, missing and
ignored auth, stateful sequences) with a fixed budget of examples per
operation and a fixed seed, and must find nothing.

The default budget makes about 4,000 requests. By hand, about 19,000:
    SCSYNC_CONTRACT_EXAMPLES=1000 python -m pytest tests/executor/test_openapi_contract.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import API_KEY, ExecutorFactory, ExecutorProcess, base_env, wait_execution

BUSINESS_ID = "biz-contract"
EXAMPLES = int(os.environ.get("SCSYNC_CONTRACT_EXAMPLES", "200"))
SEED = 20261201

# Schemathesis' own list, plus 413: a body over the cap is refused as the document says.
REFUSALS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]
# Schemathesis' own list for valid data, plus 400: a refusal by the connector's state.
ACCEPTED = ["2xx", "3xx", 400, 401, 403, 404, 409, 429, "5xx"]


def _seed(server: ExecutorProcess) -> dict[str, list[str]]:
    """Two connectors (one runs, one waits), their executions and the reports of those that ran."""
    job = {"command": [shutil.which("true") or "/bin/true"]}
    ids: dict[str, list[str]] = {"connectors": [], "executions": [], "files": []}
    with server.client() as client:
        for number, status in enumerate(("operational", "inactive")):
            connector = client.create_connector({
                "api_name": f"contract_{number}", "name": f"Contract {number}", "status": status,
                "job": job, "additional_notification_email": "ops@example.com"})
            ids["connectors"] += [connector["id"], connector["api_name"]]
            for _ in range(2):
                started = client.start_flow(connector["id"])
                ids["executions"].append(started)
                if status == "operational":
                    ended = wait_execution(client, connector["id"], started)
                    ids["files"].append(ended["report_file_id"])
    return ids


def _config(ids: dict[str, list[str]]) -> str:
    # Credentials come from the environment, never the command line.
    lines = [
        "[auth.openapi.ApiKey]", 'api_key = "${SCSYNC_API_KEY}"',
        "[auth.openapi.BusinessId]", 'api_key = "${SCSYNC_BUSINESS_ID}"',
        "[generation]", 'database = "none"',
        "[checks.negative_data_rejection]", f"expected-statuses = {json.dumps(REFUSALS)}",
        # Schema-valid data may still meet a rule of the connector's state, which no
        # schema can say (connector_type or custom_object once set, a status only the
        # executor sets): a 400 with its reason. A 422 stays a failure.
        "[checks.positive_data_acceptance]",
        f"expected-statuses = {json.dumps(ACCEPTED)}",
    ]
    for kind, values in ids.items():
        lines += [f"[dictionaries.{kind}]", f"values = {json.dumps(values)}"]
    lines.append("[parameters]")
    for parameter, kind in (("c", "connectors"), ("eid", "executions"), ("file_id", "files")):
        lines.append(f'"path.{parameter}" = {{ dictionary = "{kind}", probability = 0.8 }}')
    return "\n".join(lines) + "\n"


def _failures(output: str) -> str:
    # A failing case may print a megabyte body on one line; the rest says what failed.
    return "\n".join(line[:400] for line in output.splitlines() if line.strip())[-20000:]


@pytest.mark.slow
def test_schemathesis_finds_nothing(start_executor: ExecutorFactory, tmp_path: Path) -> None:
    # Jobs find no program by name: whatever command the fuzzer writes into a
    # connector cannot start anything but the absolute path the seed gave.
    empty = tmp_path / "no-programs"
    empty.mkdir()
    server = start_executor(env=base_env(SCSYNC_BUSINESS_ID=BUSINESS_ID, PATH=str(empty)))
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(_seed(server)))
    env: dict[str, Any] = {**base_env(), "SCSYNC_API_KEY": API_KEY,
                           "SCSYNC_BUSINESS_ID": BUSINESS_ID}
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
         f"{server.url}/openapi.json", "--checks", "all", "--max-examples", str(EXAMPLES),
         "--seed", str(SEED), "--workers", "1", "--no-color"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, _failures(run.stdout + run.stderr)
    # The budget was spent on requests, not skipped: one request per test case.
    cases = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert cases is not None, _failures(run.stdout)
    assert int(cases[1]) == int(cases[2]) >= 10 * EXAMPLES, cases[0]
    assert "Traceback" not in server.log()
