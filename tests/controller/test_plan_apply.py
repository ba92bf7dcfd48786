"""`scsync plan` and `scsync apply` against the real executor, through the real CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.controller.conftest import (
    API_KEY,
    REFUSED_JOB,
    Clone,
    CountingProxy,
    Executor,
    manifest,
)

from specs import check_output

Cli = Callable[..., tuple[int, str, str]]


def _plan(scsync: Cli, work: Clone, url: str, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = scsync("plan", "--repo", work.path, "--executor", url, "--format", "json",
                            "--detailed-exitcode", *args)
    assert out, err
    data = check_output(out)  # schemas/scsync-output.schema.json
    assert data["apply"] is None  # a plan applies nothing
    return code, data["plan"]


def _by_api(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["api_name"]: c for c in plan["connectors"]}


def test_create_then_in_sync_then_update_and_a_second_apply_writes_nothing(
        scsync: Cli, work: Clone, executor: Executor, proxy: CountingProxy) -> None:
    work.write({"connectors/alpha.yaml": manifest("alpha", max_concurrent_executions=3,
                                                  create_only=True),
                "connectors/beta.yaml": manifest("beta", status="Inactive")})
    code, plan = _plan(scsync, work, proxy.url)
    assert code == 2
    assert {c["action"] for c in plan["connectors"]} == {"create"}
    assert proxy.writes() == []  # plan never writes

    code, out, err = scsync("apply", "--repo", work.path, "--executor", proxy.url,
                            "--auto-approve")
    assert code == 0, out + err
    assert "Apply: 2 change(s) applied, 0 failed." in out
    assert [m for m, _ in proxy.writes()] == ["POST", "POST"]
    with executor.client() as client:
        beta = client.get_connector("beta")
    assert beta["status"] == "inactive"

    proxy.reset()
    code, out, err = scsync("apply", "--repo", work.path, "--executor", proxy.url,
                            "--auto-approve")
    assert code == 0, out + err
    assert proxy.writes() == []  # the second apply makes no write
    assert "Plan: 2 in sync." in out

    code, plan = _plan(scsync, work, proxy.url)
    assert code == 0

    work.write({"connectors/alpha.yaml": manifest("alpha", name="Alpha Renamed Label",
                                                  max_concurrent_executions=1,
                                                  create_only=True)})
    code, plan = _plan(scsync, work, proxy.url)
    assert code == 2
    alpha = _by_api(plan)["alpha"]
    assert alpha["action"] == "update"
    assert {(c["field"], c["live"], c["desired"]) for c in alpha["changes"]} == {
        ("name", "Alpha", "Alpha Renamed Label"), ("max_concurrent_executions", 3, 1)}
    notes = {f["rule"]: f["message"] for f in alpha["findings"]}
    assert "in-flight executions continue" in notes["SC122"]
    assert _by_api(plan)["beta"]["action"] == "in sync"

    proxy.reset()
    code, out, err = scsync("apply", "--repo", work.path, "--executor", proxy.url,
                            "--auto-approve")
    assert code == 0, out + err
    assert [m for m, _ in proxy.writes()] == ["PATCH"]  # exactly one write for one change
    assert "in-flight executions continue" in out


STATUS_ROWS = [
    # (desired in the manifest, live status before, action, live status after)
    ("Operational", "need_attention", "in sync", "need_attention"),
    ("Operational - Needs Attention", "operational", "in sync", "operational"),
    ("Inactive", "operational", "update", "inactive"),
    ("Inactive", "need_attention", "update", "inactive"),
    ("Operational", "inactive", "update", "operational"),
    ("Operational", "setup", "update", "operational"),
    ("Operational - Needs Attention", "inactive", "update", "operational"),
    ("Setup", "operational", "in sync", "operational"),
    ("Setup", "setup", "in sync", "setup"),
]


def test_status_mapping_rows(scsync: Cli, work: Clone, executor: Executor) -> None:
    files = {}
    with executor.client() as client:
        for i, (desired, live, _action, _after) in enumerate(STATUS_ROWS):
            api_name = f"status_row_{i}"
            client.create_connector({"api_name": api_name, "name": api_name.title(),
                                     "description": "x" * 30, "status": live})
            files[f"connectors/{api_name}.yaml"] = manifest(api_name, name=api_name.title(),
                                                            description="x" * 30,
                                                            status=desired)
    work.write(files)
    code, plan = _plan(scsync, work, executor.url)
    assert code == 2
    entries = _by_api(plan)
    for i, (desired, live, action, _after) in enumerate(STATUS_ROWS):
        entry = entries[f"status_row_{i}"]
        assert entry["action"] == action, (desired, live, entry)
    setup_row = entries["status_row_7"]
    assert setup_row["blocked"] == [{"field": "status", "operation": "change",
                                     "live": "Operational", "desired": "Setup"}]
    assert [f["rule"] for f in setup_row["findings"]] == ["SC121"]
    assert "cannot be set on an existing connector" in setup_row["findings"][0]["message"]
    assert "SC123" in [f["rule"] for f in entries["status_row_6"]["findings"]]

    code, out, err = scsync("apply", "--repo", work.path, "--executor", executor.url,
                            "--auto-approve")
    assert code == 0, out + err
    with executor.client() as client:
        for i, (desired, live, _action, after) in enumerate(STATUS_ROWS):
            assert client.get_connector(f"status_row_{i}")["status"] == after, (desired, live)


def test_detailed_exitcode_is_1_on_invalid_manifests_and_on_an_unreachable_executor(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    work.write({"connectors/bad.yaml": "api_name: [not, a, name]\n"})
    code, out, err = scsync("plan", "--repo", work.path, "--executor", executor.url,
                            "--detailed-exitcode")
    assert code == 1
    assert "nothing will be applied" in out
    code, out, err = scsync("apply", "--repo", work.path, "--executor", executor.url,
                            "--auto-approve")
    assert code == 1
    work.write({"connectors/bad.yaml": None, "connectors/ok.yaml": manifest("ok_one")})
    code, out, err = scsync("plan", "--repo", work.path, "--executor", "http://127.0.0.1:9",
                            "--detailed-exitcode")
    assert code == 1, out + err
    assert "cannot connect" in err
    code, out, err = scsync("plan", "--repo", work.path, "--executor", "http://127.0.0.1:9")
    assert code == 2  # without --detailed-exitcode: the usual environment error


def test_unmanaged_connectors_are_listed_and_prune_sets_them_inactive(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    with executor.client() as client:
        client.create_connector({"api_name": "by_hand", "name": "Made By Hand",
                                 "status": "operational"})
    work.write({"connectors/kept.yaml": manifest("kept")})
    code, plan = _plan(scsync, work, executor.url)
    assert [(u["api_name"], u["prune"]) for u in plan["unmanaged"]] == [("by_hand", False)]
    code, out, err = scsync("apply", "--repo", work.path, "--executor", executor.url,
                            "--auto-approve")
    assert code == 0, out + err
    assert "? unmanaged by_hand (operational): left as it is" in out
    with executor.client() as client:
        assert client.get_connector("by_hand")["status"] == "operational"

    code, plan = _plan(scsync, work, executor.url, "--prune")
    assert code == 2
    assert [(u["api_name"], u["prune"]) for u in plan["unmanaged"]] == [("by_hand", True)]
    code, out, err = scsync("apply", "--repo", work.path, "--executor", executor.url,
                            "--auto-approve", "--prune")
    assert code == 0, out + err
    with executor.client() as client:
        assert client.get_connector("by_hand")["status"] == "inactive"  # never deleted
    code, plan = _plan(scsync, work, executor.url, "--prune")
    assert code == 0


def test_apply_without_a_tty_refuses_and_writes_nothing(
        scsync: Cli, work: Clone, proxy: CountingProxy) -> None:
    work.write({"connectors/gamma.yaml": manifest("gamma")})
    code, out, err = scsync("apply", "--repo", work.path, "--executor", proxy.url)
    assert code == 2
    assert "--auto-approve" in err
    assert "+ create   gamma" in out  # the plan is still shown
    assert proxy.writes() == []
    code, out, err = scsync("apply", "--repo", work.path, "--executor", proxy.url,
                            "--format", "json")
    assert (code, out) == (2, "")  # standard output is for the JSON alone
    assert "+ create   gamma" in err and "--auto-approve" in err


def test_one_failing_connector_does_not_stop_the_others(
        scsync: Cli, work: Clone, proxy: CountingProxy) -> None:
    work.write({"connectors/a_bad.yaml": manifest("a_bad", job=REFUSED_JOB),
                "connectors/b_good.yaml": manifest("b_good")})
    code, out, err = scsync("apply", "--repo", work.path, "--executor", proxy.url,
                            "--auto-approve", "--format", "json")
    assert code == 1, out + err
    outcomes = {o["api_name"]: o for o in check_output(out)["apply"]["outcomes"]}
    assert outcomes["a_bad"]["ok"] is False
    assert "HTTP 422" in outcomes["a_bad"]["detail"]
    assert outcomes["b_good"]["ok"] is True


def test_plan_of_a_ref_reads_the_commit_not_the_work_tree(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    first = work.commit("one", {"connectors/delta.yaml": manifest("delta")})
    work.write({"connectors/epsilon.yaml": manifest("epsilon")})
    code, plan = _plan(scsync, work, executor.url, "--ref", first)
    assert plan["source"] == first
    assert [c["api_name"] for c in plan["connectors"]] == ["delta"]
    code, out, _err = scsync("plan", "--repo", work.path, "--executor", executor.url,
                            "--format", "markdown")
    assert code == 0
    assert out.startswith("### scsync plan: 2 to create")
    assert "#### + create: `delta`" in out


def test_run_waits_for_the_execution_and_secrets_never_show(
        scsync: Cli, work: Clone, executor: Executor, tmp_path: Path) -> None:
    job = {"command": ["python", "-c", "import json,os; json.dump({'created': 2, 'updated': 0,"
                       " 'skipped': 0, 'failed': 0}, open(os.environ['SCSYNC_RESULT_FILE'],"
                       " 'w'))"]}
    work.write({"connectors/runner.yaml": manifest("runner", job=job)})
    outputs = [scsync("apply", "--repo", work.path, "--executor", executor.url,
                      "--auto-approve")]
    outputs.append(scsync("run", "runner", "--wait", "--executor", executor.url))
    code, out, err = outputs[-1]
    assert code == 0, out + err
    assert "success (exit 0): records created 2" in out
    outputs.append(scsync("executions", "runner", "--executor", executor.url))
    header, row = outputs[-1][1].splitlines()[:2]
    assert header.split()[:3] == ["id", "status", "trigger"]
    assert row.split()[1:3] == ["success", "manual"]
    outputs.append(scsync("plan", "--repo", work.path, "--executor", executor.url,
                          "--format", "json"))
    for _code, out, err in outputs:
        assert API_KEY not in out and API_KEY not in err
    assert API_KEY not in executor.log()


def test_the_state_folder_keeps_itself_out_of_git(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    (work.path / ".gitignore").unlink()
    work.commit("one", {"connectors/kept.yaml": manifest("kept_out")})
    code, out, err = scsync("apply", "--repo", work.path, "--executor", executor.url,
                            "--auto-approve")
    assert code == 0, out + err
    assert (work.path / ".scsync" / "controller.db").exists()
    assert (work.path / ".scsync" / ".gitignore").read_text() == "*\n"
    assert (work.path / ".scsync").stat().st_mode & 0o777 == 0o700  # it holds the API key
    assert work.git("status", "--porcelain", "--untracked-files=all") == ""


def test_plan_never_creates_the_state_and_a_bad_state_folder_is_a_usage_error(
        scsync: Cli, work: Clone, executor: Executor, tmp_path: Path) -> None:
    work.write({"connectors/s.yaml": manifest("stateless")})
    assert _plan(scsync, work, executor.url)[0] == 2
    code, _out, _err = scsync("plan", "--repo", work.path, "--executor", "http://127.0.0.1:9")
    assert code == 2
    assert not (work.path / ".scsync").exists()  # plan only reads, even when it fails

    a_file = tmp_path / "passwd"
    a_file.write_text("root:x:0:0\n")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "controller.db").write_bytes(b"not a database, " * 64)
    for data_dir in (a_file, damaged):
        for command in ("plan", "apply"):
            code, out, err = scsync(command, "--repo", work.path, "--executor", executor.url,
                                    "--auto-approve" if command == "apply" else "--prune",
                                    "--data-dir", data_dir)
            assert code == 2, out + err
            assert err.startswith("scsync: error: cannot use the controller state"), err
            assert err.count("\n") == 1 and "internal error" not in err


def test_a_bad_executor_url_is_one_clear_usage_error(scsync: Cli, work: Clone) -> None:
    work.write({"connectors/u.yaml": manifest("url_check")})
    for url in ("notaurl", "ftp://x", "http://", "http://host:99999"):
        for command in (["plan"], ["apply", "--auto-approve"]):
            code, out, err = scsync(*command, "--repo", work.path, "--executor", url)
            assert code == 2, out + err
            assert err == (f"scsync: error: executor URL {url!r} is not valid: expected "
                           "http(s)://HOST[:PORT], e.g. http://127.0.0.1:8765\n")
    code, out, err = scsync("run", "url_check", "--executor", "ftp://x")
    assert code == 2 and "executor URL 'ftp://x' is not valid" in err


def test_run_checks_its_options_before_queueing_anything(
        scsync: Cli, proxy: CountingProxy) -> None:
    for value in ("-1", "0", "nan"):
        code, out, err = scsync("run", "anything", "--wait", "--timeout", value,
                                "--executor", proxy.url)
        assert (code, out) == (2, ""), err
        assert err == "scsync: error: --timeout must be a positive number of seconds\n"
    code, _out, err = scsync("executions", "anything", "--limit", "0", "--executor", proxy.url)
    assert code == 2 and "--limit 0" in err
    assert proxy.calls == []
