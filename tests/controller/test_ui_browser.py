"""The web UI in a real browser: Debian's chromium, driven by Playwright for Python.

Playwright's own browser download cannot work here, so it drives the system's
`/usr/bin/chromium` (`.ci/run` installs it).  The services are the real ones:
`scsync up` in a clone as a new user starts it, or `scsync controller` behind the
counting proxy where a test needs a slow executor.  A failing test leaves a
screenshot of each of its pages under `<pytest's base temp>/artifacts/`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright import sync_api
from tests.controller.conftest import (
    REPO_ROOT,
    Clone,
    ControllerFactory,
    CountingProxy,
    Executor,
    Process,
    base_env,
    free_port,
    init_repo,
    manifest,
    wait_for,
)

CHROMIUM = Path("/usr/bin/chromium")
# Outside CI a machine without Debian's chromium skips these; in CI (which installs it)
# a missing browser fails the run, never skips it.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                 reason="no /usr/bin/chromium (Debian's chromium package; "
                                 ".ci/run installs it)")]
EXAMPLES = ("erp_orders_backfill", "hubspot_contacts", "legacy_billing_export",
            "web_leads_intake")
SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
TOKEN = "browser-ui-token-8d2e4a"
WAIT = 30_000  # ms: a pass every 0.5-2 s and a poll every 2 s, on a busy machine
sync_api.expect.set_options(timeout=WAIT)
AXE = Axe()  # axe-core, bundled by axe-playwright-python (its version in the lock)


@dataclass
class Watched:
    """A page, and what it did that a user would notice: dialogs, script errors."""

    page: Any
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def row(self, api_name: str) -> Any:
        return self.page.locator('table[data-table="connectors"] tbody tr').filter(
            has=self.page.locator('td[data-col="api_name"]',
                                  has_text=re.compile(f"^{api_name}$")))

    def cell(self, api_name: str, col: str) -> Any:
        return self.row(api_name).locator(f'td[data-col="{col}"]')

    def field(self, name: str) -> Any:
        return self.page.locator(f'[data-field="{name}"]').first

    def mark(self) -> None:
        """A value that only survives as long as this document: no reload in between."""
        self.page.evaluate("window.__scsyncKept = 'kept'")

    def kept(self) -> bool:
        return bool(self.page.evaluate("window.__scsyncKept === 'kept'"))

    def polled(self) -> None:
        """Wait until the script has fetched the page's data once more."""
        before = self.field("heard-controller").inner_text()
        sync_api.expect(self.field("heard-controller")).not_to_have_text(before, timeout=WAIT)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless=new",
                                                 "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium: Any, request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Watched]]:
    opened: list[tuple[Any, Watched]] = []

    def open_page(**context_options: Any) -> Watched:
        context = chromium.new_context(**context_options)
        watched = Watched(context.new_page())
        watched.page.set_default_timeout(WAIT)

        def dialog(d: Any) -> None:
            watched.dialogs.append(d.message)
            d.dismiss()

        watched.page.on("dialog", dialog)
        watched.page.on("pageerror", lambda e: watched.errors.append(str(e)))
        watched.page.on("console", lambda m: m.type == "error" and watched.errors.append(
            m.text))
        opened.append((context, watched))
        return watched

    yield open_page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        folder = tmp_path_factory.getbasetemp() / "artifacts"
        folder.mkdir(exist_ok=True)
        for n, (_, watched) in enumerate(opened):
            try:
                watched.page.screenshot(path=str(folder / f"{request.node.name}-{n}.png"),
                                        full_page=True)
            except sync_api.Error:
                continue  # a page that is gone has nothing to show
    for context, _ in opened:
        context.close()


def _project(tmp_path: Path) -> Clone:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(REPO_ROOT / "connectors", project / "connectors")
    shutil.copytree(REPO_ROOT / "jobs", project / "jobs")
    repo = init_repo(project)
    (project / ".gitignore").unlink()  # a user's repository knows nothing of .scsync/
    repo.commit("my SmartConnectors")
    return repo


def test_scsync_up_then_a_run_and_a_refused_rename_all_show_without_a_reload(
        tmp_path: Path, browser: Callable[..., Watched]) -> None:
    repo = _project(tmp_path)
    env = {k: v for k, v in base_env().items() if k != "SCSYNC_API_KEY"}  # a new user has none
    port, listen = free_port(), free_port()
    up = Process([sys.executable, "-m", "scsync", "up", "--port", str(port), "--listen-port",
                  str(listen)], repo.path, env, tmp_path / "up.log",
                 f"http://127.0.0.1:{listen}/healthz").start(timeout=40)
    ui = f"http://127.0.0.1:{listen}"
    try:
        assert f"web UI      {ui}/" in wait_for(lambda: "scsync is up" in up.log() and up.log())
        home = browser()
        home.page.goto(ui + "/")
        for api_name in EXAMPLES:
            sync_api.expect(home.cell(api_name, "sync")).to_have_text("Synced", timeout=WAIT)
        assert home.page.locator('table[data-table="connectors"] tbody tr').count() == 4
        home.page.keyboard.press("Tab")  # the first stop is the way past the header
        assert home.page.evaluate("document.activeElement.textContent") == \
            "Skip to the content"

        detail = browser()
        detail.page.goto(ui + "/connectors/hubspot_contacts")
        sync_api.expect(detail.page.locator('table[data-table="executions"] tbody')).to_have_text(
            "No executions yet.")
        detail.mark()
        home.mark()
        run = subprocess.run([sys.executable, "-m", "scsync", "run", "hubspot_contacts",
                              "--wait", "--executor", f"http://127.0.0.1:{port}"],
                             cwd=repo.path, env=env, capture_output=True, text=True,
                             timeout=120, check=False)
        assert run.returncode == 0, run.stdout + run.stderr
        first = detail.page.locator('table[data-table="executions"] tbody tr').first
        sync_api.expect(first.locator('td[data-col="status"]')).to_have_text("success")
        sync_api.expect(first.locator('td[data-col="records"]')).to_have_text(
            "created 3, updated 2, skipped 1, failed 0")
        sync_api.expect(home.cell("hubspot_contacts", "last")).to_have_text("success")
        assert detail.kept() and home.kept()
        with detail.page.expect_download() as download:
            first.locator('td[data-col="report"] a').click()
        report = json.loads(Path(download.value.path()).read_text())
        assert report["api_name"] == "hubspot_contacts" and report["status"] == "success"
        assert download.value.suggested_filename == f"report-{download.value.url[-36:]}.json"

        # It has run, so renaming its api_name breaks its callers: refused, and said why.
        text = (repo.path / "connectors" / "hubspot_contacts.yaml").read_text()
        repo.commit("rename", {"connectors/hubspot_contacts.yaml": text.replace(
            "api_name: hubspot_contacts ", "api_name: hubspot_crm ")})
        sync_api.expect(home.cell("hubspot_crm", "sync")).to_have_text("Refused")
        assert home.kept()
        home.cell("hubspot_crm", "api_name").locator("a").focus()
        home.page.keyboard.press("Enter")
        finding = home.page.locator('table[data-table="findings"] tbody tr').filter(
            has_text="SC100")
        sync_api.expect(finding.locator('td[data-col="hint"]')).to_contain_text(
            "--allow-api-name-change hubspot_contacts:hubspot_crm")

        phone = browser(viewport={"width": 390, "height": 844})
        phone.page.goto(ui + "/")
        width = phone.page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], width  # only the table scrolls, inside its region
        region = phone.page.locator('.scroll[role="region"]').filter(
            has=phone.page.locator('table[data-table="connectors"]'))
        assert region.evaluate("e => e.scrollWidth > e.clientWidth")
        for watched in (home, detail, phone):
            assert watched.dialogs == [] and watched.errors == [], (watched.dialogs,
                                                                     watched.errors)
    finally:
        assert up.stop(signal.SIGINT) == 0, up.log()


def test_a_committed_change_shows_out_of_sync_then_synced_and_an_absent_controller(
        remote: tuple[Path, Clone], executor: Executor, proxy: CountingProxy,
        start_controller: ControllerFactory, browser: Callable[..., Watched]) -> None:
    bare, clone = remote
    shutil.copytree(REPO_ROOT / "connectors", clone.path / "connectors")
    first = clone.commit("my SmartConnectors")
    controller = start_controller(bare, proxy.url, "--interval", "0.5")
    controller.wait_applied(first)
    home = browser()
    home.page.goto(controller.url + "/")
    sync_api.expect(home.cell("web_leads_intake", "sync")).to_have_text("Synced")
    home.mark()
    home.cell("web_leads_intake", "api_name").locator("a").focus()  # a keyboard user's place

    proxy.update_delay = 5.0  # a slow executor: the update takes a while to land
    text = (clone.path / "connectors" / "web_leads_intake.yaml").read_text()
    clone.commit("relabel", {"connectors/web_leads_intake.yaml": text.replace(
        "name: Web Leads Intake", "name: Web Leads Intake (EU)")})
    sync_api.expect(home.cell("web_leads_intake", "sync")).to_have_text("OutOfSync")
    sync_api.expect(home.cell("web_leads_intake", "reason")).to_have_text("applying: name")
    sync_api.expect(home.field("count-OutOfSync")).to_have_text("1")
    sync_api.expect(home.cell("web_leads_intake", "sync")).to_have_text("Synced")
    sync_api.expect(home.cell("web_leads_intake", "name")).to_have_text(
        "Web Leads Intake (EU)")
    sync_api.expect(home.field("applied-subject")).to_have_text("relabel")
    assert home.kept()
    assert home.page.evaluate("document.activeElement.textContent") == "web_leads_intake"
    assert home.dialogs == [] and home.errors == [], (home.dialogs, home.errors)

    assert controller.stop() == 0  # the page says so, and keeps what it last heard
    sync_api.expect(home.field("poll-error")).to_contain_text("not answering since")
    sync_api.expect(home.page.locator("#heard")).to_have_attribute("data-stale", "true")
    sync_api.expect(home.cell("web_leads_intake", "sync")).to_have_text("Synced")


def test_beyond_loopback_the_browser_needs_the_token_and_html_names_stay_text(
        remote: tuple[Path, Clone], executor: Executor, start_controller: ControllerFactory,
        browser: Callable[..., Watched]) -> None:
    bare, clone = remote
    hostile = manifest("html_named", name=SCRIPT, description=f"about {IMG}",
                       job={"command": ["true"], "timeout_seconds": 60})
    shutil.copytree(REPO_ROOT / "connectors", clone.path / "connectors")
    clone.commit("examples and one named in HTML", {"connectors/html_named.yaml": hostile})
    port = free_port()
    controller = start_controller(bare, executor.url, "--interval", "0.5", "--listen",
                                  f"0.0.0.0:{port}", port=port,
                                  env={"SCSYNC_UI_TOKEN": TOKEN})

    stranger = browser()
    assert stranger.page.goto(controller.url + "/").status == 401
    assert "SCSYNC_UI_TOKEN" in stranger.page.inner_text("body")

    home = browser(extra_http_headers={"Authorization": f"Bearer {TOKEN}"})
    assert home.page.goto(controller.url + "/").status == 200
    sync_api.expect(home.cell("html_named", "sync")).to_have_text("Synced", timeout=WAIT)
    assert home.cell("html_named", "name").inner_text() == SCRIPT
    home.polled()  # the script rewrote the table from JSON: still text
    assert home.cell("html_named", "name").inner_text() == SCRIPT
    assert home.field("poll-error").inner_text() == ""
    home.page.fill("#q", SCRIPT)
    home.page.keyboard.press("Enter")  # the search form, as a GET
    home.page.wait_for_url(re.compile(r"\?q="))
    assert [home.page.locator('td[data-col="api_name"]').all_inner_texts()] == [["html_named"]]
    assert home.page.input_value("#q") == SCRIPT

    detail = browser(extra_http_headers={"Authorization": f"Bearer {TOKEN}"})
    detail.page.goto(controller.url + "/connectors/html_named")
    settings = detail.page.locator('table[data-table="settings"] tbody tr')
    description = settings.filter(has=detail.page.locator('td[data-col="setting"]',
                                                          has_text=re.compile("^description$")))
    sync_api.expect(description.locator('td[data-col="manifest"]')).to_have_text(
        f"about {IMG}")
    detail.polled()
    assert detail.page.locator("img").count() == 0 and detail.page.locator(
        "main script").count() == 0
    for watched in (home, detail):
        assert watched.dialogs == [] and watched.errors == [], (watched.dialogs,
                                                                 watched.errors)


def _audit(watched: Watched, what: str) -> list[str]:
    """axe-core's violations of WCAG 2.x A and AA (and best practices) on the page now:
    'rule (impact): the first offending element' each."""
    results = AXE.run(watched.page, options={"resultTypes": ["violations"], "runOnly": {
        "type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                  "best-practice"]}})
    return [f"{what}: {v['id']} ({v['impact']}): {v['nodes'][0]['target']} {v['help']}"
            for v in results.response["violations"]]


def test_axe_core_finds_no_violation_on_any_page_wide_or_phone(
        remote: tuple[Path, Clone], executor: Executor, start_controller: ControllerFactory,
        browser: Callable[..., Watched]) -> None:
    bare, clone = remote
    shutil.copytree(REPO_ROOT / "connectors", clone.path / "connectors")
    shutil.copytree(REPO_ROOT / "jobs", clone.path / "jobs")
    shutil.copytree(REPO_ROOT / "jobs", Path(executor.cwd).parent / "work" / "jobs",
                    dirs_exist_ok=True)
    first = clone.commit("my SmartConnectors")
    controller = start_controller(bare, executor.url, "--interval", "0.5")
    controller.wait_applied(first)
    with executor.client() as client:  # an execution, so its table and report link show
        ran = client.start_flow("hubspot_contacts")
        wait_for(lambda: client.get_execution("hubspot_contacts", ran)["status"] == "success")
    text = (clone.path / "connectors" / "hubspot_contacts.yaml").read_text()
    clone.commit("rename", {"connectors/hubspot_contacts.yaml": text.replace(
        "api_name: hubspot_contacts ", "api_name: hubspot_crm ")})  # refused: findings show
    pages = {"overview": "/", "filtered": "/?state=Refused&q=hub", "refused": (
        "/connectors/hubspot_crm"), "executions": "/connectors/web_leads_intake",
        "passes": "/passes", "unknown connector": "/connectors/no_such_connector"}
    found: list[str] = []
    for viewport in ({"width": 1280, "height": 900}, {"width": 390, "height": 844}):
        watched = browser(viewport=viewport)
        watched.page.goto(controller.url + "/")
        sync_api.expect(watched.cell("hubspot_crm", "sync")).to_have_text("Refused")
        for what, path in pages.items():
            if what == "unknown connector":  # (its 404 is logged to the console)
                assert watched.errors == [], watched.errors
            watched.page.goto(controller.url + path)
            if what != "unknown connector":
                watched.polled()  # as the script has rewritten it, not only as served
            found += _audit(watched, f"{what} at {viewport['width']} px")
    assert found == [], "\n".join(found)
