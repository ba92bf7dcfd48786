"""The controller's web UI over HTTP, as a browser without JavaScript sees it.

The real controller (a subprocess) reconciles a real git repository onto the
real embedded executor; pages are read with `requests` and parsed with the
standard library's HTML parser.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests
from tests.controller.conftest import (
    API_KEY,
    REPO_ROOT,
    Clone,
    ControllerFactory,
    CountingProxy,
    Executor,
    free_port,
    manifest,
    wait_for,
)
from tests.controller.kizen_fake import FakeKizen

from scsync.client import Credentials, ExecutorClient, RetryPolicy
from scsync.controller.guard import CSP
from scsync.controller.journal import ConnectorDetail, LiveView, PassLog, PassRecord
from scsync.controller.loop import Snapshot
from scsync.controller.settings import ControllerSettings
from scsync.controller.ui import overview
from scsync.controller.ui.routes import overview_link, templates
from scsync.controller.ui.source import Activity, ExecutorReader
from scsync.controller.ui.views import Context, overview_page

EXAMPLES = ("erp_orders_backfill", "hubspot_contacts", "legacy_billing_export",
            "web_leads_intake")
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
TOKEN = "ui-token-3f9a1c7e5b"


# -- reading a page ----------------------------------------------------------------


@dataclass
class Cell:
    text: str = ""
    attrs: dict[str, str | None] = field(default_factory=dict)
    href: str | None = None


class Page(HTMLParser):
    """A page's `data-field` values, its `data-table` rows (column -> cell) and links."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, str] = {}
        self.tables: dict[str, list[dict[str, Cell]]] = {}
        self.links: list[str] = []
        self.text: list[str] = []
        self._table: str | None = None
        self._row: dict[str, Cell] | None = None
        self._cell: Cell | None = None
        self._field: list[Any] | None = None  # [name, depth, text]
        self.feed(html)
        for name, rows in self.tables.items():
            self.tables[name] = [r for r in rows if r]  # the "nothing here" row has no columns

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
            if self._cell is not None:
                self._cell.href = a["href"]
        if tag == "table" and a.get("data-table"):
            self._table = str(a["data-table"])
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None and self._row is None:
            self._row = {}
        elif tag == "td" and self._row is not None and a.get("data-col"):
            self._cell = self._row[str(a["data-col"])] = Cell(attrs=a)
        if self._field is not None and tag == "span":
            self._field[1] += 1
        elif a.get("data-field"):
            self._field = [a["data-field"], 1, ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if "th" not in self._row:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        if self._field is not None and tag == "span":
            self._field[1] -= 1
            if self._field[1] == 0:
                self.fields[self._field[0]] = self._field[2]
                self._field = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.text += data
        if self._field is not None:
            self._field[2] += data

    def column(self, table: str, col: str) -> list[str]:
        return [row[col].text for row in self.tables[table]]

    def row(self, table: str, col: str, value: str) -> dict[str, Cell]:
        return next(r for r in self.tables[table] if r[col].text == value)


def get(url: str, **headers: str) -> requests.Response:
    response = requests.get(url, headers=headers, timeout=10, allow_redirects=False)
    response.close()
    return response


def page(url: str, **headers: str) -> Page:
    response = get(url, **headers)
    assert response.status_code == 200, (url, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    return Page(response.text)


def assert_safe_headers(response: requests.Response) -> None:
    assert response.headers["Content-Security-Policy"] == CSP
    assert "unsafe-inline" not in CSP and "script-src 'self'" in CSP
    assert "frame-ancestors 'none'" in CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


# -- the examples, reconciled ------------------------------------------------------------


@dataclass
class Running:
    controller: Any
    clone: Clone
    executor: Executor

    @property
    def url(self) -> str:
        return str(self.controller.url)


def up_with_examples(remote: tuple[Path, Clone], executor: Executor, start: ControllerFactory,
                     executor_url: str | None = None, *args: str,
                     extra: dict[str, str | None] | None = None, wait: bool = True,
                     **options: Any) -> Running:
    """The project's four example connectors, committed and applied by a controller."""
    bare, clone = remote
    shutil.copytree(REPO_ROOT / "connectors", clone.path / "connectors")
    shutil.copytree(REPO_ROOT / "jobs", clone.path / "jobs")
    shutil.copytree(REPO_ROOT / "jobs", Path(executor.cwd).parent / "work" / "jobs",
                    dirs_exist_ok=True)  # where the executor runs them (its --repo)
    sha = clone.commit("my SmartConnectors", extra)
    controller = start(bare, executor_url or executor.url, "--interval", "0.5", *args, **options)
    if wait:  # (through /status: not with a UI token)
        controller.wait_applied(sha)
    return Running(controller, clone, executor)


def test_the_pages_show_the_examples_synced_with_commits_passes_and_safe_headers(
        remote: tuple[Path, Clone], executor: Executor,
        start_controller: ControllerFactory) -> None:
    run = up_with_examples(remote, executor, start_controller)
    sha = run.clone.shas[-1]
    home = page(run.url + "/")
    assert home.column("connectors", "api_name") == list(EXAMPLES)  # sorted by api_name
    assert set(home.column("connectors", "sync")) == {"Synced"}
    assert home.fields["count-Synced"] == "4"
    assert all(home.fields[f"count-{s}"] == "0" for s in overview.STATES if s != "Synced")
    assert home.fields["applied-sha"] == sha[:12] == home.fields["seen-sha"]
    assert home.fields["applied-subject"] == "my SmartConnectors"
    assert home.fields["applied-author"] == "scsync tests"
    row = home.row("connectors", "api_name", "erp_orders_backfill")
    assert row["api_name"].href == "/connectors/erp_orders_backfill"
    assert (row["name"].text, row["manifest_status"].text, row["live_status"].text,
            row["max"].text, row["running"].text, row["queued"].text, row["last"].text) == (
        "ERP Orders Backfill", "Operational - Needs Attention",
        "Operational - Needs Attention", "0", "0", "0", "—")
    assert home.fields["executor-error"] == "" and home.fields["heard-executor"] != "—"

    detail = page(run.url + "/connectors/hubspot_contacts")
    assert "connectors/hubspot_contacts.yaml" in "".join(detail.text)
    assert detail.fields["sync"] == "Synced"
    settings = {r["setting"].text: (r["manifest"].text, r["live"].text)
                for r in detail.tables["settings"]}
    assert settings["name"] == ("HubSpot Contacts Sync", "HubSpot Contacts Sync")
    assert settings["max_concurrent_executions"] == ("1", "1")
    assert not any("data-mark" in r["setting"].attrs for r in detail.tables["settings"])
    assert detail.tables["findings"] == [] and detail.tables["executions"] == []

    wait_for(lambda: run.controller.status()["passes"] >= 2)
    passes = page(run.url + "/passes")
    first = passes.tables["passes"][-1]  # newest first: the first pass is the last row
    assert first["number"].text == "1" and first["commit"].text == sha[:12]
    assert first["outcome"].text == "ok"
    assert sorted(first["applied"].text.split(", ")) == sorted(EXAMPLES)
    assert passes.tables["passes"][0]["applied"].text == "—"  # later passes found nothing to do

    # What the script polls is the same page as data.
    live = get(run.url + "/live/overview").json()
    assert [r["api_name"]["text"] for r in live["tables"]["connectors"]] == list(EXAMPLES)
    assert live["fields"]["count-Synced"] == {"text": "4"}

    for path in ("/", "/?state=Synced&q=hub", "/connectors/hubspot_contacts", "/passes",
                 "/live/overview", "/live/passes", "/live/connectors/hubspot_contacts",
                 "/ui/ui.js", "/ui/ui.css", "/connectors/nope", "/reports/not-a-uuid",
                 "/status", "/no/such/page"):
        response = get(run.url + path)
        assert_safe_headers(response)
    script = get(run.url + "/ui/ui.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "textContent" in script.text and "innerHTML" not in script.text
    assert get(run.url + "/connectors/nope").status_code == 404
    # Nothing inline: every script is a file of this origin (CSP allows nothing else).
    assert '<script src="/ui/ui.js" defer></script>' in get(run.url + "/").text
    assert get(run.url + "/").text.count("<script") == 1


def test_the_passes_outlive_a_restart_and_number_on(
        remote: tuple[Path, Clone], executor: Executor,
        start_controller: ControllerFactory) -> None:
    run = up_with_examples(remote, executor, start_controller)
    wait_for(lambda: run.controller.status()["passes"] >= 3)
    assert run.controller.stop() == 0
    again = start_controller(remote[0], executor.url, "--interval", "0.5")
    wait_for(lambda: again.status()["passes"] >= 1)
    passes = page(again.url + "/passes").tables["passes"]
    numbers = [int(p["number"].text) for p in passes]
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == len(numbers)
    assert numbers[-1] == 1 and numbers[0] > 3  # the first run's passes, then this run's
    first = passes[-1]  # the first run's first pass, which created the examples
    assert sorted(first["applied"].text.split(", ")) == sorted(EXAMPLES)
    assert first["commit"].text == run.clone.shas[-1][:12]


def test_an_html_named_connector_shows_as_text_everywhere(
        remote: tuple[Path, Clone], executor: Executor,
        start_controller: ControllerFactory) -> None:
    hostile = manifest("html_named", name=SCRIPT, description=f"desc {SCRIPT}",
                       job={"command": ["true"], "timeout_seconds": 60,
                            "env": {"X": '"><img src=x onerror=alert(2)>'}})
    run = up_with_examples(remote, executor, start_controller,
                           extra={"connectors/html_named.yaml": hostile})
    for path in ("/", "/connectors/html_named", f"/?q={SCRIPT}", "/?q=%22%3E%3Cb%3E"):
        body = get(run.url + path).text
        assert SCRIPT not in body and "<img" not in body and '"><b>' not in body, path
    home = page(run.url + "/")
    assert home.row("connectors", "api_name", "html_named")["name"].text == SCRIPT
    assert ESCAPED in get(run.url + "/").text
    searched = page(run.url + f"/?q={SCRIPT}")
    assert searched.column("connectors", "api_name") == ["html_named"]  # found as text
    assert ESCAPED in get(run.url + f"/?q={SCRIPT}").text
    detail = get(run.url + "/connectors/html_named").text
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in detail
    live = get(run.url + "/live/overview").json()  # JSON: the script writes it as text
    names = {r["api_name"]["text"]: r["name"]["text"] for r in live["tables"]["connectors"]}
    assert names["html_named"] == SCRIPT


def test_filter_search_refusal_with_its_hint_and_the_report_through_the_controller(
        remote: tuple[Path, Clone], executor: Executor, proxy: CountingProxy,
        start_controller: ControllerFactory) -> None:
    run = up_with_examples(remote, executor, start_controller, proxy.url)
    with executor.client() as client:
        execution_id = client.start_flow("hubspot_contacts")
        ended = wait_for(lambda: (e := client.get_execution("hubspot_contacts", execution_id))
                         ["status"] in ("success", "error") and e, timeout=30)
        assert ended["status"] == "success", ended
        report = client.download_report(ended["report_file_id"])

    detail = page(run.url + "/connectors/hubspot_contacts")
    (shown,) = detail.tables["executions"]
    assert (shown["status"].text, shown["trigger"].text, shown["records"].text) == (
        "success", "manual", "created 3, updated 2, skipped 1, failed 0")
    assert shown["duration"].text != "—" and shown["started"].text.endswith("UTC")
    link = shown["report"].href
    assert link == f"/reports/{ended['report_file_id']}"
    proxy.reset()
    downloaded = get(run.url + link)
    assert downloaded.status_code == 200 and downloaded.content == report
    assert json.loads(report)["execution_id"] == execution_id
    assert downloaded.headers["content-disposition"].startswith("attachment;")
    assert_safe_headers(downloaded)
    assert ("GET", f"/api/files/{ended['report_file_id']}/download") in proxy.calls
    home = page(run.url + "/")
    row = home.row("connectors", "api_name", "hubspot_contacts")
    assert (row["last"].text, row["running"].text, row["queued"].text) == ("success", "0", "0")

    # Only a UUID is passed on; an unknown one is the executor's 404.
    proxy.reset()
    for bad in ("..%2F..%2Fapi%2Fsmart-connectors", "1234", "x" * 40):
        assert get(run.url + f"/reports/{bad}").status_code == 404
    assert not any(path.startswith("/api/files") for _, path in proxy.calls)
    assert get(run.url + f"/reports/{uuid.uuid4()}").status_code == 404

    # An api_name change of a connector that has run: Refused, SC100 and its hint.
    path = run.clone.path / "connectors" / "hubspot_contacts.yaml"
    text = path.read_text().replace("api_name: hubspot_contacts ", "api_name: hubspot_crm ")
    sha = run.clone.commit("rename the api_name", {"connectors/hubspot_contacts.yaml": text})
    wait_for(lambda: run.controller.status()["last_seen_commit"] == sha and any(
        c["sync"] == "Refused" for c in run.controller.status()["connectors"]), timeout=20)
    refused = page(run.url + "/?state=Refused")
    assert refused.column("connectors", "api_name") == ["hubspot_crm"]
    assert refused.fields["count-Refused"] == "1" and refused.fields["count-Synced"] == "3"
    assert "hubspot_contacts" in refused.row("connectors", "api_name", "hubspot_crm")[
        "reason"].text
    finding = page(run.url + "/connectors/hubspot_crm").row("findings", "rule", "SC100")
    assert finding["severity"].text == "error"
    assert "--allow-api-name-change hubspot_contacts:hubspot_crm" in finding["hint"].text
    assert page(run.url + "/connectors/hubspot_crm").fields["sync"] == "Refused"

    # Search by name or api_name, with or without a filter, as links and a GET form do.
    assert page(run.url + "/?q=LEADS").column("connectors", "api_name") == ["web_leads_intake"]
    assert page(run.url + "/?q=billing+export").column("connectors", "api_name") == [
        "legacy_billing_export"]
    assert page(run.url + "/?state=Synced&q=hubspot").tables["connectors"] == []
    assert page(run.url + "/?state=Refused&q=hubspot").column("connectors", "api_name") == [
        "hubspot_crm"]
    home = page(run.url + "/?q=hub")
    assert "/?state=Refused&q=hub" in home.links  # the filter links keep the search
    assert page(run.url + "/?state=NoSuchState").column("connectors", "api_name") == [
        "erp_orders_backfill", "hubspot_crm", "legacy_billing_export", "web_leads_intake"]

    # The executor gone: the pages still answer, and say it.
    executor.stop()
    down = wait_for(lambda: (p := page(run.url + "/")).row(  # once the kept answers expire
        "connectors", "api_name", "web_leads_intake")["running"].text == "?" and p)
    assert down.fields["executor-error"].startswith("GET /api/scsync/activity: ")
    assert "did not answer" in page(run.url + "/connectors/web_leads_intake").fields[
        "live-note"]


def test_beyond_loopback_the_ui_and_status_need_the_token_and_none_set_refuses_to_start(
        remote: tuple[Path, Clone], executor: Executor, proxy: CountingProxy,
        start_controller: ControllerFactory, scsync: Any, tmp_path: Path) -> None:
    bare, _ = remote
    code, out, err = scsync("controller", "--repo", bare, "--executor", proxy.url,
                            "--listen", "0.0.0.0:0", "--data-dir", tmp_path / "refused")
    assert code == 2 and out == ""
    assert "SCSYNC_UI_TOKEN" in err and "--listen 0.0.0.0" in err, err
    assert proxy.calls == []  # refused before reconciling anything
    empty = tmp_path / "empty-token"
    empty.write_text("\n")
    code, _, err = scsync("controller", "--repo", bare, "--executor", proxy.url,
                          "--listen", "0.0.0.0:0", "--data-dir", tmp_path / "refused",
                          env={"SCSYNC_UI_TOKEN_FILE": str(empty)})
    assert code == 2 and "SCSYNC_UI_TOKEN_FILE is empty" in err

    token_file = tmp_path / "ui-token"
    token_file.write_text(TOKEN + "\n")
    port = free_port()
    run = up_with_examples(remote, executor, start_controller, None, "--listen",
                           f"0.0.0.0:{port}", port=port, wait=False,
                           env={"SCSYNC_UI_TOKEN_FILE": str(token_file),
                                "SCSYNC_UI_TOKEN": ""})
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    wait_for(lambda: get(run.url + "/status", **bearer).json()["last_applied_commit"]
             == run.clone.shas[-1], timeout=20)
    for path in ("/", "/connectors/hubspot_contacts", "/passes", "/live/overview",
                 "/ui/ui.js", "/status", f"/reports/{uuid.uuid4()}"):
        refused = get(run.url + path)  # from 127.0.0.1: loopback clients included
        assert refused.status_code == 401, path
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert_safe_headers(refused)
        assert "SCSYNC_UI_TOKEN" in refused.text and TOKEN not in refused.text
        assert get(run.url + path, Authorization=f"Bearer {TOKEN}x").status_code == 401
        assert get(run.url + path, Authorization=f"Basic {TOKEN}").status_code == 401
    assert page(run.url + "/", **bearer).fields["count-Synced"] == "4"
    assert get(run.url + "/ui/ui.css", **bearer).status_code == 200
    for open_path in ("/healthz", "/readyz", "/metrics"):
        assert get(run.url + open_path).status_code == 200, open_path
    assert get(run.url + "/status", **bearer).json()["branch"] == "main"


def test_a_token_set_on_loopback_is_asked_too(
        remote: tuple[Path, Clone], executor: Executor,
        start_controller: ControllerFactory) -> None:
    run = up_with_examples(remote, executor, start_controller, wait=False,
                           env={"SCSYNC_UI_TOKEN": TOKEN})
    assert get(run.url + "/").status_code == 401
    assert get(run.url + "/", Authorization=f"bearer {TOKEN}").status_code == 200


# -- pages of a large set, without 450 connectors ---------------------------------------


class FakeReconciler:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.passes = PassLog(size=3)


class FakeReader:
    heard_at: float | None = 1.0
    error: str | None = None

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def activity(self, refs: Any) -> dict[str, Activity | None]:
        refs = list(refs)
        self.asked.append(refs)
        return {r: Activity(1, 2, {"status": "running", "started_at": "2026-01-02T03:04:05Z"})
                for r in refs}


def _large_snapshot(n: int) -> Snapshot:
    details, live = {}, {}
    for i in range(n):
        api_name = f"conn_{i:04d}"
        sync = "Refused" if i % 9 == 0 else "Synced"
        cid = f"id-{i}"
        details[api_name] = ConnectorDetail(
            f"connectors/{api_name}.yaml", api_name, f"Connector {i}", sync, "", "c" * 40, cid,
            {"status": "Operational", "max_concurrent_executions": 1})
        live[cid] = {"id": cid, "api_name": api_name, "status": "operational",
                     "max_concurrent_executions": 1 + (i == 7),
                     "next_run_at": "2026-01-02T04:00:00Z" if i == 3 else None}
    unmanaged = ({"api_name": "zz_stray", "connector_id": "stray", "status": "operational",
                  "pruned": False},)
    live["stray"] = {"id": "stray", "api_name": "zz_stray", "name": "Stray", "status":
                     "operational"}
    return Snapshot(details=dict(reversed(list(details.items()))), unmanaged=unmanaged,
                    live=LiveView(live, 1.0))


def test_the_overview_pages_past_200_rows_filters_and_asks_only_for_its_rows() -> None:
    reader = FakeReader()
    ctx = Context(FakeReconciler(_large_snapshot(450)),  # type: ignore[arg-type]
                  ControllerSettings(repo="."), reader)  # type: ignore[arg-type]
    env = templates()

    def render(**chosen: Any) -> tuple[dict[str, Any], Page]:
        model = overview_page(ctx, **{"state": None, "query": "", "page": 1, **chosen})
        html = env.get_template("overview.html").render(
            **model, title="t", nav="overview", live_src="/live/overview",
            settings=ctx.settings)
        return model, Page(html)

    _, first = render()
    names = first.column("connectors", "api_name")
    assert len(names) == 200 and names == sorted(names) and names[0] == "conn_0000"
    assert reader.asked[-1] == [f"id-{i}" for i in range(200)]  # the page's rows only
    assert first.fields["shown"] == "1-200 of 451"
    assert first.fields["count-Refused"] == "50" and first.fields["count-Unmanaged"] == "1"
    assert overview_link(None, "", 2) in first.links and "/?page=3" in first.links
    assert "/?page=4" not in first.links
    row = first.row("connectors", "api_name", "conn_0007")
    assert row["max"].attrs.get("data-mark") == "differs"  # live 2, manifest 1
    assert first.row("connectors", "api_name", "conn_0003")["next_run"].text == \
        "2026-01-02 04:00:00 UTC"
    assert (row["running"].text, row["queued"].text, row["last"].text) == ("1", "2", "running")

    _, last = render(page=3)
    assert last.column("connectors", "api_name")[-2:] == ["conn_0449", "zz_stray"]
    assert len(last.tables["connectors"]) == 51 and last.fields["shown"] == "401-451 of 451"
    assert last.row("connectors", "api_name", "zz_stray")["sync"].text == "Unmanaged"
    _, beyond = render(page=99)
    assert beyond.fields["shown"] == "401-451 of 451"  # past the end: the last page

    _, refused = render(state="Refused", query="conn_04")
    assert refused.column("connectors", "api_name") == [
        f"conn_{i:04d}" for i in range(400, 450) if i % 9 == 0]
    assert "/?state=Refused&q=conn_04" in refused.links  # filter links keep the search
    assert 'name="state" value="Refused"' in env.get_template("overview.html").render(
        **overview_page(ctx, state="Refused", query="x", page=1), title="t", nav="",
        live_src="", settings=ctx.settings)  # the search form keeps the filter


def test_the_pass_ring_keeps_the_latest_passes_newest_first() -> None:
    ring = PassLog(size=3)
    for n in range(1, 6):
        ring.add(PassRecord(n, float(n), 0.01, ok=n != 4, error="boom" if n == 4 else None))
    assert [p.number for p in ring.recent()] == [5, 4, 3]


def _reader_of(url: str) -> ExecutorReader:
    return ExecutorReader(lambda: ExecutorClient(url, Credentials(API_KEY),
                                                 retry=RetryPolicy(attempts=1)), workers=2)


def test_the_embedded_executor_answers_a_page_of_rows_in_one_request(
        executor: Executor, proxy: CountingProxy, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    job = {"command": [sys.executable, "-c", "import os, time\n"
                       f"while not os.path.exists({str(gate)!r}): time.sleep(0.02)"]}
    with executor.client() as client:
        ids = [client.create_connector({"api_name": f"c{i}", "name": f"C {i}", "status":
                                        "operational", "job": job})["id"] for i in range(3)]
        runs = [client.start_flow("c0") for _ in range(2)]
        wait_for(lambda: client.get_execution("c0", runs[0])["status"] == "running", 10)
    reader = _reader_of(proxy.url)
    try:
        found = reader.activity([*ids, str(uuid.uuid4())])
        assert proxy.calls == [("GET", "/api/scsync/activity")]  # one request for them all
        busy = found[ids[0]]
        assert busy is not None and (busy.running, busy.queued) == (1, 1)
        assert busy.last is not None and busy.last["id"] == runs[1]
        assert found[ids[1]] == Activity(0, 0, None)
        assert reader.activity(ids) == {i: found[i] for i in ids}  # kept: no request
        assert len(proxy.calls) == 1
    finally:
        gate.touch()
        reader.close()


def test_on_kizen_the_reader_asks_each_row_after_one_404() -> None:
    with FakeKizen() as kizen:
        busy, idle = kizen.add(api_name="busy", name="Busy"), kizen.add(api_name="idle",
                                                                         name="Idle")
        kizen.executions[busy["id"]] = [
            {"id": "e3", "status": "queued"}, {"id": "e2", "status": "running"},
            {"id": "e1", "status": "success"}]
        reader = _reader_of(kizen.url)
        try:
            found = reader.activity([busy["id"], idle["id"]])
            assert found[busy["id"]] == Activity(1, 1, {"id": "e3", "status": "queued"})
            assert found[idle["id"]] == Activity(0, 0, None)
            asked = [path for _, path in kizen.requests]
            assert asked.count("/api/scsync/activity") == 1
            assert asked.count(f"/api/smart-connectors/{busy['id']}/executions") == 3
            kizen.requests.clear()
            reader._kept.clear()  # past the ttl: ask again, per row straight away
            reader.activity([idle["id"]])
            assert [path for _, path in kizen.requests] == [
                f"/api/smart-connectors/{idle['id']}/executions"] * 3
        finally:
            reader.close()
