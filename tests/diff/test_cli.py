"""`scsync diff` on the command line: exit codes, options and every output format.

`run_cli` runs the real CLI in a subprocess (as CI does); `run_main` runs the
same entry point in this process, for the many cases that only need its output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import RunCli
from scsync.report.base import Report
from scsync.report.changes import IgnoredData, ReviewData
from scsync.report.markdown import MAX_CHARS, MarkdownReporter, code
from scsync.report.sarif import line_hash
from specs import check_junit, check_output, check_sarif

from .conftest import HUBSPOT, HUBSPOT_FIELDS, LEADS, Repo


@pytest.fixture
def breaking(repo: Repo) -> Repo:
    """HUBSPOT's api_name changed in place; LEADS deleted; a README beside them."""
    repo.manifest(HUBSPOT, "hubspot_people", name="Hubspot Contacts", **HUBSPOT_FIELDS)
    repo.delete(LEADS)
    repo.write("connectors/README.md", "# Connectors\n")
    repo.commit("rename the api")
    return repo


def test_cli_breaking_change_exits_1_and_says_why(breaking: Repo, run_cli: RunCli) -> None:
    code, out, err = run_cli("diff", "HEAD~1", "--format", "text", cwd=breaking.path)
    assert (code, err) == (1, "")
    assert f"{HUBSPOT}:3:11: error[SC100] BREAKING: api_name changes from 'hubspot_contacts' " \
        "to 'hubspot_people'" in out
    assert "~ hubspot_contacts → hubspot_people (changed, breaking): " \
        "connectors/hubspot_contacts.yaml" in out
    assert "    ~ api_name: hubspot_contacts → hubspot_people  [error SC045, SC100]" in out
    assert "- web_leads (deleted): connectors/web_leads.yaml" in out
    assert "not reviewed: connectors/README.md (not a manifest" in out
    assert out.endswith("2 files checked, failed: 1 error, 1 warning, 1 notice\n")


def test_cli_no_change_exits_0(repo: Repo, run_cli: RunCli) -> None:
    repo.commit("empty")
    code, out, _ = run_cli("diff", "HEAD~1", "HEAD", "--repo", repo.path, "--format", "text")
    assert code == 0
    assert ": 0 changed connectors\n" in out


def test_cli_usage_and_git_errors_exit_2_without_traceback(
    repo: Repo, run_cli: RunCli, run_main: RunCli
) -> None:
    code, out, err = run_cli("diff", "no-such-branch", cwd=repo.path)
    assert (code, out) == (2, "")
    assert err.startswith("scsync: error: base ref 'no-such-branch' is not in this repository")
    for argv in (["diff"], ["diff", "HEAD", "--format", "yaml"], ["diff", "a...b", "c"],
                 ["diff", "HEAD", "--allow-api-name-change", "just_one"],
                 ["diff", "HEAD", "--allow-api-name-change", "same:same"]):
        code, _, err = run_main(*argv, cwd=repo.path)
        assert code == 2, argv
        assert "Traceback" not in err


def test_allow_api_name_change_accepts_only_that_pair(breaking: Repo, run_main: RunCli) -> None:
    code, out, err = run_main("diff", "HEAD~1", "--format", "text", "--allow-api-name-change",
                              "hubspot_contacts:hubspot_people", cwd=breaking.path)
    assert (code, err) == (0, "")
    assert "~ hubspot_contacts → hubspot_people (changed, breaking)" in out
    assert "notice[SC100] BREAKING, accepted with --allow-api-name-change " \
        "hubspot_contacts:hubspot_people: api_name changes" in out
    assert "calls 'hubspot_contacts' breaks" in out

    code, out, err = run_main("diff", "HEAD~1", "--format", "text", "--allow-api-name-change",
                              "hubspot_contacts:hubspot_crm", cwd=breaking.path)
    assert code == 1
    assert "error[SC100] BREAKING: api_name changes" in out
    assert "--allow-api-name-change hubspot_contacts:hubspot_crm matches no api_name change" in err


@pytest.mark.parametrize(("written", "text", "markdown"), [
    (None, "(no api_name)", "`(no api_name)`"),
    (123, "123", "`123`"),
    (["hubspot_people"], '["hubspot_people"]', '`["hubspot_people"]`'),
])
def test_api_name_removed_or_not_a_string_shows_as_written_without_a_hint(
    repo: Repo, run_main: RunCli, written: object, text: str, markdown: str
) -> None:
    lines = (repo.path / HUBSPOT).read_text().splitlines(keepends=True)
    lines[2] = "" if written is None else f"api_name: {json.dumps(written)}\n"
    repo.commit("odd api_name", {HUBSPOT: "".join(lines)})
    code, out, _ = run_main("diff", "HEAD~1", "--format", "text", cwd=repo.path)
    assert code == 1
    assert f"~ hubspot_contacts → {text} (changed, breaking)" in out
    assert "None" not in out
    assert f"api_name changes from 'hubspot_contacts' to {text}" in out
    assert "--allow-api-name-change" not in out  # OLD:NEW could never match: not offered
    md = run_main("diff", "HEAD~1", "--format", "markdown", cwd=repo.path)[1]
    assert f"#### :x: `hubspot_contacts` → {markdown} (changed, breaking)" in md


def test_fail_on_warning(repo: Repo, run_main: RunCli) -> None:
    repo.hubspot(status="Inactive")
    repo.commit()
    assert run_main("diff", "HEAD~1", cwd=repo.path)[0] == 0
    assert run_main("diff", "HEAD~1", "--fail-on", "warning", cwd=repo.path)[0] == 1
    repo.hubspot(status="Inactive", name="Only A Label")
    repo.commit()
    assert run_main("diff", "HEAD~1", "--fail-on", "warning", cwd=repo.path)[0] == 0


def test_markdown_line_by_line(breaking: Repo, run_main: RunCli) -> None:
    code, out, _ = run_main("diff", "HEAD~1", "--format", "markdown", cwd=breaking.path)
    base = breaking.gitpython.commit("HEAD~1").hexsha[:12]
    head = breaking.gitpython.head.commit.hexsha[:12]
    assert code == 1
    assert out.splitlines() == [
        "<!-- scsync-diff -->",
        "### scsync diff",
        ":x: **failed**: 1 error, 1 warning, 1 notice; 2 changed connectors in `HEAD~1..HEAD` "
        f"(`{base}` → `{head}`)",
        "",
        "#### :x: `hubspot_contacts` → `hubspot_people` (changed, breaking)",
        "`connectors/hubspot_contacts.yaml`",
        "",
        "| | setting | before | after | severity |",
        "|---|---|---|---|---|",
        "| ~ | `api_name` | `hubspot_contacts` | `hubspot_people` | :x: error SC045, SC100 |",
        "",
        "- :information_source: **notice SC045** line 3: the file is named 'hubspot_contacts' "
        "but its api_name is 'hubspot_people'",
        "  <br>hint: rename the file to hubspot_people.yaml",
        "- :x: **error SC100** line 3: BREAKING: api_name changes from 'hubspot_contacts' to "
        "'hubspot_people': every integration, orchestration system and webhook URL that calls "
        "'hubspot_contacts' breaks until it is updated to 'hubspot_people'",
        "  <br>hint: keep api_name 'hubspot_contacts' and change `name` for a new label; if every "
        "caller is being updated, accept the break with --allow-api-name-change "
        "hubspot_contacts:hubspot_people",
        "",
        "#### :warning: `web_leads` (deleted)",
        "`connectors/web_leads.yaml`",
        "",
        "- :warning: **warning SC101** line 1: the manifest of 'web_leads' is deleted: scsync "
        "stops managing it, but the connector is not deleted from Kizen; it keeps its last applied "
        "settings and keeps running on its triggers",
        "  <br>hint: To stop the connector, first merge `status: Inactive` (or "
        "`max_concurrent_executions: 0`), then delete the manifest; delete the connector in "
        "Kizen by hand if that is the intent.",
        "",
        "",
        "<sub>Not reviewed: `connectors/README.md` (not a manifest: only *.yaml and *.yml files "
        "are reviewed)</sub>",
    ]
    again = run_main("diff", "HEAD~1", "--format", "markdown", cwd=breaking.path)[1]
    assert again == out  # a re-run edits the PR comment to the same text


def test_markdown_escapes_user_text(repo: Repo, run_main: RunCli) -> None:
    repo.hubspot(name="Ops | <b>@team</b>", additional_notification_email="a@example.com")
    repo.commit()
    out = run_main("diff", "HEAD~1", "--format", "markdown", cwd=repo.path)[1]
    assert "| ~ | `name` | `Hubspot Contacts` | `Ops \\| <b>@team</b>` |" in out
    assert "'Ops \\| &lt;b&gt;@<!-- -->team&lt;/b&gt;'" in out  # no HTML, no @-mention
    assert "@team" not in out.replace("`Ops \\| <b>@team</b>`", "")


HOSTILE = "x `` | [pwn](https://evil.example) @octocat <b>hi</b> *bold* y"


def test_markdown_code_spans_hold_any_backticks_and_bullets_hold_no_links(
    repo: Repo, run_main: RunCli
) -> None:
    repo.hubspot(name=HOSTILE)
    repo.commit()
    out = run_main("diff", "HEAD~1", "--format", "markdown", cwd=repo.path)[1]
    # a fence one backtick longer than the longest run inside; | escaped in the cell
    assert "| ~ | `name` | `Hubspot Contacts` | ```x `` \\| [pwn](https://evil.example) " \
        "@octocat <b>hi</b> *bold* y``` |" in out
    assert "to 'x `` \\| \\[pwn\\](https://evil.example) @<!-- -->octocat " \
        "&lt;b&gt;hi&lt;/b&gt; *bold* y'" in out
    assert out.count("[pwn]") == 1  # only inside the code span


@pytest.mark.parametrize(("text", "expected"), [
    ("plain", "`plain`"),
    ("a`b", "``a`b``"),
    ("`edge`", "`` `edge` ``"),
    ("a ``` b", "````a ``` b````"),
    (" padded ", "`  padded  `"),
    ("two\nlines", "`two lines`"),
])
def test_code_span_fences(text: str, expected: str) -> None:
    assert code(text, in_table=False) == expected


def test_markdown_renders_no_link_mention_or_html_from_a_value(
    repo: Repo, run_main: RunCli
) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    repo.hubspot(name=HOSTILE, description=f"`{HOSTILE}`")
    repo.commit()
    out = run_main("diff", "HEAD~1", "--format", "markdown", cwd=repo.path)[1]
    rendered = markdown_it.MarkdownIt("commonmark").enable("table").render(out)
    assert "<a " not in rendered and "<b>" not in rendered and "<em>" not in rendered.split(
        "</table>")[0]
    assert "<td><code>x `` | [pwn](https://evil.example) @octocat &lt;b&gt;hi&lt;/b&gt; " \
        "*bold* y</code></td>" in rendered


def test_markdown_stays_under_the_comment_limit_with_long_footer_lists(
    breaking: Repo, run_main: RunCli
) -> None:
    # a pull request that also touches 1,500 other files under connectors/
    for i in range(1500):
        breaking.write(f"connectors/docs/page_{i:04d}_of_the_connector_handbook.md", f"{i}\n")
    breaking.commit("docs")
    code, out, _ = run_main("diff", "HEAD~2", "--format", "markdown", cwd=breaking.path)
    assert code == 1
    assert len(out) < MAX_CHARS
    assert "**error SC100**" in out  # the findings come first; only the lists are cut
    [listing] = [line for line in out.splitlines() if line.startswith("<sub>Not reviewed: ")]
    assert re.search(r", … and \d+ more</sub>$", listing)
    shown = listing.count("page_")
    assert 100 < shown < 1500
    assert listing.endswith(f"… and {1500 - shown} more</sub>")  # README.md is shown too


def test_markdown_footer_lists_share_the_budget() -> None:
    review = ReviewData(
        range="main...topic", base={"rev": "main", "commit": "a" * 40},
        head={"rev": "topic", "commit": "b" * 40}, merge_base=True,
        unchanged=[f"connectors/c_{i:04d}.yaml" for i in range(2000)],
        ignored=[IgnoredData(path=f"connectors/n_{i:04d}.md", reason="not a manifest")
                 for i in range(2000)],
        unused_allowances=[], changes=[],
    )
    out = MarkdownReporter().render(Report(command="diff", files=[], findings=[], review=review))
    assert len(out) < MAX_CHARS
    unchanged, ignored = (line for line in out.splitlines() if line.startswith("<sub>"))
    assert unchanged.startswith("<sub>No setting changes") and "… and " in unchanged
    assert ignored.startswith("<sub>Not reviewed") and "… and " in ignored
    assert len(out) > MAX_CHARS - 1000  # the room the sections leave is used


def test_json_is_the_same_data_for_machines(breaking: Repo, run_cli: RunCli) -> None:
    code, out, _ = run_cli("diff", "HEAD~1", "--format", "json", cwd=breaking.path)
    data = check_output(out)  # run_cli checks it too: schemas/scsync-output.schema.json
    assert code == 1 and data["command"] == "diff" and data["passed"] is False
    assert data["format_version"] == 1
    # the review's data under its own key, never beside the fields every command has
    assert set(data) == {"format_version", "tool", "version", "command", "passed",
                         "files_checked", "summary", "findings", "review"}
    assert data["summary"] == {"errors": 1, "warnings": 1, "notices": 1}
    assert data["review"]["head"]["commit"] == breaking.gitpython.head.commit.hexsha
    assert data["review"]["range"] == "HEAD~1..HEAD" and data["review"]["merge_base"] is False
    hubspot, leads = data["review"]["changes"]
    assert hubspot["breaking"] is True and hubspot["severity"] == "error"
    assert hubspot["rows"] == [{
        "field": "api_name", "pointer": "/api_name", "operation": "change",
        "before": "hubspot_contacts", "after": "hubspot_people", "severity": "error",
        "rules": ["SC045", "SC100"],
    }]
    assert (leads["change"], leads["head"], leads["findings"][0]["rule"]) == (
        "deleted", None, "SC101")
    assert [f["rule"] for f in data["findings"]] == ["SC045", "SC100", "SC101"]


def _results(out: str) -> list[dict[str, Any]]:
    return list(check_sarif(out)["runs"][0]["results"])


def test_sarif_of_a_review_is_valid_and_located_in_the_repository(
    breaking: Repo, run_main: RunCli, tmp_path: Path
) -> None:
    code, out, _ = run_main("diff", "HEAD~1", "--format", "sarif", cwd=breaking.path)
    assert code == 1
    log = check_sarif(out)  # OASIS's sarif-schema-2.1.0.json
    run = log["runs"][0]
    assert run["columnKind"] == "utf16CodeUnits"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == \
        breaking.path.resolve().as_uri() + "/"
    located = [(r["ruleId"], r["locations"][0]["physicalLocation"]) for r in run["results"]]
    assert [(rule, p["artifactLocation"], p["region"]["startLine"], p["region"]["startColumn"])
            for rule, p in located] == [
        ("SC045", {"uri": HUBSPOT, "uriBaseId": "%SRCROOT%"}, 3, 11),
        ("SC100", {"uri": HUBSPOT, "uriBaseId": "%SRCROOT%"}, 3, 11),
        ("SC101", {"uri": LEADS, "uriBaseId": "%SRCROOT%"}, 1, 1),  # deleted: its base path
    ]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= {"SC045", "SC100", "SC101"}
    # the deleted file's line 1 comes from the base blob: it is in no work tree
    assert not (breaking.path / LEADS).exists()
    deleted = run["results"][2]["partialFingerprints"]["primaryLocationLineHash"]
    assert deleted == line_hash("SC101", LEADS, 'apiVersion: "scsync/v1"') + ":1"
    assert deleted != line_hash("SC101", LEADS, None) + ":1"
    # from elsewhere, with --repo: the same repository-relative URIs
    elsewhere = run_main("diff", "HEAD~1", "--repo", breaking.path, "-f", "sarif", cwd=tmp_path)
    assert _results(elsewhere[1]) == run["results"]


def test_sarif_of_a_review_reads_the_head_blob_not_the_work_tree(
    repo: Repo, run_main: RunCli
) -> None:
    text = (repo.path / HUBSPOT).read_text()
    repo.commit("a job", {HUBSPOT: text + 'job: {command: ["😀😀"], timeout_seconds: 5}\n'})
    repo.write(HUBSPOT, "# an uncommitted edit\n" + text)  # the work tree differs from HEAD
    code, out, _ = run_main("diff", "HEAD~1", "--format", "text", cwd=repo.path)
    assert code == 0
    assert f"{HUBSPOT}:12:41: notice[SC112] job.timeout_seconds is set to 5" in out
    timeout = next(r for r in _results(run_main("diff", "HEAD~1", "-f", "sarif",
                                                cwd=repo.path)[1])
                   if r["properties"]["jsonPointer"] == "/job/timeout_seconds")
    region = timeout["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (12, 43)  # two emoji: +2 units


def test_junit_of_a_review_meets_the_xsd(breaking: Repo, run_main: RunCli) -> None:
    code, out, _ = run_main("diff", "HEAD~1", "--format", "junit", cwd=breaking.path)
    assert code == 1
    root = check_junit(out)  # Jenkins' junit-10.xsd, but for GitLab's `file`
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert sorted(cases) == [HUBSPOT, LEADS]
    failure = cases[HUBSPOT].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith(
        f"{HUBSPOT}:3:11 SC100 BREAKING: api_name changes from 'hubspot_contacts'")
    assert cases[LEADS].find("failure") is None  # a warning: it does not fail the review


def test_github_annotations_on_the_head_lines(breaking: Repo, run_main: RunCli) -> None:
    code, out, _ = run_main("diff", "HEAD~1", "--format", "github", cwd=breaking.path)
    pattern = re.compile(r"::(error|warning|notice) (file=[^,:]+,line=\d+,col=\d+),"
                         r"title=(SC\d+) [a-z-]+::(.*)")
    annotations = [m.groups()[:3] for m in map(pattern.fullmatch, out.splitlines()) if m]
    assert annotations == [
        ("notice", f"file={HUBSPOT},line=3,col=11", "SC045"),
        ("error", f"file={HUBSPOT},line=3,col=11", "SC100"),
        ("warning", f"file={LEADS},line=1,col=1", "SC101"),  # deleted: the base path at 1:1
    ]
    assert code == 1


def test_format_auto_is_github_under_actions(breaking: Repo, run_main: RunCli) -> None:
    out = run_main("diff", "HEAD~1", cwd=breaking.path, env={"GITHUB_ACTIONS": "true"})[1]
    assert out.startswith("::notice file=connectors/hubspot_contacts.yaml,line=3")


def test_output_file(breaking: Repo, run_main: RunCli) -> None:
    target = breaking.path.parent / "comment.md"
    code, out, err = run_main("diff", "HEAD~1", "--format", "markdown", "--output", target,
                              cwd=breaking.path)
    assert code == 1 and out == ""
    assert target.read_text().startswith("<!-- scsync-diff -->\n")
    assert "failed: 1 error, 1 warning, 1 notice" in err


def test_without_git_on_path_exits_2_with_a_message(
    repo: Repo, run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    code, out, err = run_cli("diff", "HEAD", cwd=repo.path, env={"PATH": str(tmp_path / "empty")})
    assert (code, out) == (2, "")
    assert err == "scsync: error: git is not installed or not on PATH\n"
