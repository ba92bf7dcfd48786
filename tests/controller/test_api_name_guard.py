"""The API-name guard: SC100 on a connector in use, by path, by git rename, and without state."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from tests.controller.conftest import Clone, Executor, manifest, wait_for

from specs import check_output

Cli = Callable[..., tuple[int, str, str]]


def _apply(scsync: Cli, work: Clone, url: str, *args: str) -> tuple[int, dict, str]:
    code, out, err = scsync("apply", "--repo", work.path, "--executor", url, "--auto-approve",
                            "--format", "json", *args)
    assert out, err
    return code, check_output(out), err


def _entry(plan: dict, api_name: str) -> dict:
    return next(c for c in plan["plan"]["connectors"] if c["api_name"] == api_name)


def _use(executor: Executor, api_name: str) -> None:
    with executor.client() as client:
        execution = client.start_flow(api_name)
        wait_for(lambda: client.get_execution(api_name, execution)["status"] != "queued",
                 message="the execution to leave the queue")


def test_in_use_rename_is_refused_the_rest_applies_and_the_escape_works(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    work.write({"connectors/orders.yaml": manifest("orders", name="Orders"),
                "connectors/other.yaml": manifest("other")})
    assert _apply(scsync, work, executor.url)[0] == 0
    _use(executor, "orders")

    work.write({"connectors/orders.yaml": manifest("orders_v2", name="Orders",
                                                   max_concurrent_executions=2,
                                                   create_only=True),
                "connectors/other.yaml": manifest("other", name="Other Relabelled")})
    code, data, _ = _apply(scsync, work, executor.url)
    assert code == 1
    refused = _entry(data, "orders_v2")
    assert refused["action"] == "refused"
    assert refused["live_api_name"] == "orders"
    assert refused["matched_by"] == "state"
    assert "SC100" in [f["rule"] for f in refused["findings"]]
    assert "--allow-api-name-change orders:orders_v2" in refused["reason"]
    assert ", 1 refused: orders_v2 (SC100 api_name 'orders' -> 'orders_v2' refused" in \
        data["apply"]["summary"]
    with executor.client() as client:
        live = client.get_connector("orders")  # untouched, still reachable by its old name
        assert live["max_concurrent_executions"] == 1
        assert client.get_connector("other")["name"] == "Other Relabelled"  # the rest applied
        assert [c["api_name"] for c in client.list_connectors()].count("orders_v2") == 0

    code, out, _ = scsync("plan", "--repo", work.path, "--executor", executor.url)
    assert code == 1
    assert "! refused  orders_v2 (was orders)" in out

    for bad in ("a:b:c", "HUB SPOT:x", "orders", "orders:"):
        code, out, err = scsync("apply", "--repo", work.path, "--executor", executor.url,
                                "--auto-approve", "--allow-api-name-change", bad)
        assert (code, out) == (2, "") and "expected OLD:NEW, two api_names" in err, err
    code, out, err = scsync("plan", "--repo", work.path, "--executor", executor.url,
                            "--format", "json", "--allow-api-name-change", "orders:orders_v2")
    assert (code, _entry(check_output(out), "orders_v2")["action"]) == (0, "update"), err

    code, data, _ = _apply(scsync, work, executor.url, "--allow-api-name-change",
                           "orders:orders_v2")
    assert code == 0
    entry = _entry(data, "orders_v2")
    assert entry["action"] == "update"
    assert any(f["rule"] == "SC100" and f["severity"] == "notice" for f in entry["findings"])
    with executor.client() as client:
        live_v2 = client.get_connector("orders_v2")
    assert live_v2["id"] == live["id"] and live_v2["max_concurrent_executions"] == 2


def test_a_never_used_connector_is_renamed_with_a_warning(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    work.write({"connectors/fresh.yaml": manifest("fresh", name="Fresh")})
    assert _apply(scsync, work, executor.url)[0] == 0
    work.write({"connectors/fresh.yaml": manifest("fresh_new", name="Fresh")})
    code, data, _ = _apply(scsync, work, executor.url)
    assert code == 0
    entry = _entry(data, "fresh_new")
    assert entry["action"] == "update"
    assert [f["rule"] for f in entry["findings"]] == ["SC120"]
    with executor.client() as client:
        names = [c["api_name"] for c in client.list_connectors()]
    assert names == ["fresh_new"]  # renamed in place, not created beside the old one


def test_lost_state_still_refuses_the_rename_instead_of_creating(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    work.write({"connectors/leads.yaml": manifest("leads", name="Web Leads")})
    assert _apply(scsync, work, executor.url)[0] == 0
    _use(executor, "leads")
    shutil.rmtree(work.path / ".scsync")

    work.write({"connectors/leads.yaml": manifest("leads_intake", name="Web Leads")})
    code, data, _ = _apply(scsync, work, executor.url)
    assert code == 1
    entry = _entry(data, "leads_intake")
    assert entry["action"] == "refused"
    assert entry["matched_by"] == "name"
    assert {f["rule"] for f in entry["findings"]} == {"SC100", "SC130"}
    with executor.client() as client:
        assert [c["api_name"] for c in client.list_connectors()] == ["leads"]  # no create


def test_a_git_rename_with_a_new_api_name_and_label_is_still_the_same_connector(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    body = manifest("billing", name="Billing Export", description="y" * 40)
    first = work.commit("add", {"connectors/billing.yaml": body})
    code, _data, err = _apply(scsync, work, executor.url, "--ref", first)
    assert code == 0, err
    _use(executor, "billing")
    # Moved, api_name and name both changed: only git's rename detection pairs them.
    moved = body.replace('"billing"', '"billing_v2"').replace("Billing Export", "Invoices Out")
    second = work.commit("move", {"connectors/billing.yaml": None,
                                  "connectors/finance/billing_v2.yaml": moved})
    code, data, _ = _apply(scsync, work, executor.url, "--ref", second)
    assert code == 1
    entry = _entry(data, "billing_v2")
    assert (entry["action"], entry["matched_by"], entry["live_api_name"]) == (
        "refused", "rename", "billing")
    with executor.client() as client:
        assert [c["api_name"] for c in client.list_connectors()] == ["billing"]


def test_a_refused_git_rename_stays_refused_on_the_next_pass_and_creates_nothing(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    body = manifest("payroll", name="Payroll Export", description="p" * 40)
    first = work.commit("add", {"connectors/payroll.yaml": body,
                                "connectors/other.yaml": manifest("other")})
    assert _apply(scsync, work, executor.url, "--ref", first)[0] == 0
    _use(executor, "payroll")
    moved = body.replace('"payroll"', '"payroll_v2"').replace("Payroll Export", "Wages Out")
    # With another change in the commit, the apply goes ahead and records the commit.
    second = work.commit("move", {"connectors/payroll.yaml": None,
                                  "connectors/hr/payroll_v2.yaml": moved,
                                  "connectors/other.yaml": manifest("other", name="Other 2")})
    code, data, _ = _apply(scsync, work, executor.url, "--ref", second)
    assert (code, _entry(data, "payroll_v2")["action"]) == (1, "refused")
    # The same commit again (a controller's next pass, a re-run in CI): git sees no
    # rename any more, so only the state can still pair the new path with the connector.
    for ref in (second, "HEAD"):
        code, data, _ = _apply(scsync, work, executor.url, "--ref", ref)
        entry = _entry(data, "payroll_v2")
        assert (code, entry["action"], entry["live_api_name"]) == (1, "refused", "payroll")
    with executor.client() as client:
        assert sorted(c["api_name"] for c in client.list_connectors()) == ["other", "payroll"]


def test_a_git_mv_in_the_work_tree_is_a_rename_and_a_clean_apply_records_head(
        scsync: Cli, work: Clone, executor: Executor) -> None:
    body = manifest("ledger", name="Ledger Export", description="l" * 40)
    work.commit("add", {"connectors/ledger.yaml": body})
    assert _apply(scsync, work, executor.url)[0] == 0  # the work tree, clean: HEAD
    _use(executor, "ledger")
    (work.path / "connectors" / "fin").mkdir()
    work.git("mv", "connectors/ledger.yaml", "connectors/fin/ledger_v2.yaml")
    work.write({"connectors/fin/ledger_v2.yaml": body.replace('"ledger"', '"ledger_v2"')
                .replace("Ledger Export", "General Ledger")})

    code, out, err = scsync("plan", "--repo", work.path, "--executor", executor.url,
                            "--format", "json")
    entry = _entry(check_output(out), "ledger_v2")
    assert (code, entry["action"], entry["matched_by"]) == (1, "refused", "rename"), err
    # Committed, a plan of the ref finds git's rename from the commit the work-tree
    # apply recorded.
    work.commit("move")
    code, out, err = scsync("plan", "--repo", work.path, "--executor", executor.url,
                            "--format", "json", "--ref", "HEAD")
    entry = _entry(check_output(out), "ledger_v2")
    assert (code, entry["action"], entry["matched_by"]) == (1, "refused", "rename"), err

    for _ in range(2):
        code, data, _ = _apply(scsync, work, executor.url)
        assert (code, _entry(data, "ledger_v2")["action"]) == (1, "refused")
    with executor.client() as client:
        assert [c["api_name"] for c in client.list_connectors()] == ["ledger"]
