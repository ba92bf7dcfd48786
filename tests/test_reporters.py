"""scsync.report: every --format parsed back and checked against the same findings.

One set of manifests gives an error with a hint, an error whose message holds
'%', a warning, a notice, a whole-file error (no line) and a clean file, some
under a folder whose name holds ',' and ':' (escaped in GitHub properties).
The JSON report is the reference the other formats are compared with.
"""

from __future__ import annotations

import json
import os
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from conftest import make_git_repo
from scsync import __version__
from scsync.findings import Finding, Severity
from scsync.report.base import Report
from scsync.report.sarif import SarifReporter
from scsync.report.sources import Sources
from scsync.rules import RULES
from specs import ROOT, check_junit, check_output, check_sarif, is_json_report, spec

RunCli = Callable[..., tuple[int, str, str]]

ODD = "we,ird:dir"


def _manifest(api: str, extra: str = "", status: str = "Operational") -> str:
    return (
        "apiVersion: scsync/v1\nkind: SmartConnector\n"
        f"api_name: {api}\nname: {api.title()}\n"
        "description: A connector for the reporter tests, described at length.\n"
        f"status: {status}\n{extra}"
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """tmp_path/c with one finding of each kind; returns tmp_path (the cwd of the runs)."""
    c = tmp_path / "c"
    (c / ODD).mkdir(parents=True)
    (c / ODD / "percent.yaml").write_text(_manifest("percent", status="'100%'"))
    (c / ODD / "hinted.yaml").write_text(_manifest("hinted", status="operational"))
    (c / "warned.yaml").write_text(_manifest("warned", "max_concurrent_executions: 2\n"))
    (c / "paused.yaml").write_text(_manifest("paused", "max_concurrent_executions: 0\n"))
    (c / "clean.yaml").write_text(_manifest("clean"))
    os.mkfifo(c / "pipe.yaml")
    return tmp_path


FILES = sorted([f"c/{ODD}/percent.yaml", f"c/{ODD}/hinted.yaml", "c/warned.yaml",
                "c/paused.yaml", "c/clean.yaml", "c/pipe.yaml"])


def reference(run_main: RunCli, project: Path, *options: str) -> dict[str, Any]:
    code, out, _ = run_main("validate", "c", "--format", "json", *options, cwd=project)
    assert code == 1
    data: dict[str, Any] = json.loads(out)
    return data


def _key(f: dict[str, Any]) -> tuple[Any, ...]:
    return (f["path"], f["line"], f["column"], f["severity"], f["rule"], f["message"])


# -- json ------------------------------------------------------------------------


def test_json(run_main: RunCli, project: Path) -> None:
    data = reference(run_main, project)  # run_main checks it against the output schema
    assert (data["format_version"], data["tool"]) == (1, "scsync")
    assert data["command"] == "validate"
    assert data["passed"] is False
    assert data["files_checked"] == 6
    assert data["summary"] == {"errors": 3, "warnings": 1, "notices": 1}
    found = {(f["path"], f["rule"]): f for f in data["findings"]}
    assert set(found) == {
        (f"c/{ODD}/hinted.yaml", "SC023"), (f"c/{ODD}/percent.yaml", "SC023"),
        ("c/paused.yaml", "SC042"), ("c/pipe.yaml", "SC010"), ("c/warned.yaml", "SC041"),
    }
    hinted = found[(f"c/{ODD}/hinted.yaml", "SC023")]
    end = hinted.pop("end_line"), hinted.pop("end_column")
    assert hinted == {
        "rule": "SC023", "name": "invalid-value", "severity": "error",
        "path": f"c/{ODD}/hinted.yaml", "line": 6, "column": 9, "pointer": "/status",
        "message": hinted["message"],
        "hint": "did you mean 'Operational'? (the spelling must match exactly)",
    }
    # the node's end (`operational` ends before column 20), or null while it is not known
    assert end in ((None, None), (6, 20))
    assert hinted["message"].startswith("status is 'operational'; it must be one of")
    pipe = found[("c/pipe.yaml", "SC010")]
    assert (pipe["line"], pipe["column"]) == (1, 1)
    assert found[("c/warned.yaml", "SC041")]["severity"] == "warning"
    assert found[("c/paused.yaml", "SC042")]["severity"] == "notice"


def test_json_passes_when_only_warnings(run_main: RunCli, project: Path) -> None:
    code, out, _ = run_main("validate", "c/warned.yaml", "c/paused.yaml", "-f", "json",
                            cwd=project)
    assert code == 0
    assert json.loads(out)["passed"] is True
    code, out, _ = run_main("validate", "c/warned.yaml", "--strict", "-f", "json", cwd=project)
    assert code == 1
    assert json.loads(out)["passed"] is False


# -- text ------------------------------------------------------------------------

TEXT_LINE = re.compile(
    r"^(?P<path>.+?)(?::(?P<line>\d+):(?P<column>\d+))?: "
    r"(?P<severity>error|warning|notice)\[(?P<rule>SC\d{3})\] (?P<message>.+)$"
)


def test_text(run_main: RunCli, project: Path) -> None:
    ref = reference(run_main, project)
    code, out, _ = run_main("validate", "c", cwd=project)
    assert code == 1
    lines = out.splitlines()
    assert lines[-1] == "6 files checked, failed: 3 errors, 1 warning, 1 notice"
    parsed, hints = [], {}
    for line in lines[:-1]:
        if line.startswith("    hint: "):
            hints[_key(parsed[-1])] = line.removeprefix("    hint: ")
            continue
        match = TEXT_LINE.match(line)
        assert match, line
        f: dict[str, Any] = match.groupdict()
        f["line"], f["column"] = int(f["line"] or 0), int(f["column"] or 0)
        parsed.append(f)
    assert [_key(f) for f in parsed] == [_key(f) for f in ref["findings"]]
    assert hints == {_key(f): f["hint"] for f in ref["findings"] if f["hint"]}
    assert "c/pipe.yaml:1:1: error[SC010] not a regular file" in lines  # a whole file is 1:1


# -- github ----------------------------------------------------------------------

ANNOTATION = re.compile(r"^::(?P<level>error|warning|notice) (?P<props>[^:]*)::(?P<data>.*)$")


def _unescape(text: str) -> str:
    return (text.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":")
            .replace("%2C", ",").replace("%25", "%"))


def test_github(run_main: RunCli, project: Path) -> None:
    ref = reference(run_main, project)
    code, out, _ = run_main("validate", "c", "--format", "github", cwd=project)
    assert code == 1
    lines = out.splitlines()
    assert lines[-1].startswith("6 files checked, failed")
    annotations = []
    for line in lines[:-1]:
        match = ANNOTATION.match(line)
        assert match, line
        props = dict(p.split("=", 1) for p in match["props"].split(","))
        assert set(props) <= {"file", "line", "col", "title"}
        assert "%" not in match["data"].replace("%25", "").replace("%0A", "").replace("%0D", "")
        message, _, hint = _unescape(match["data"]).partition("\nhint: ")
        annotations.append({
            "path": _unescape(props["file"]), "line": int(props.get("line", 0)),
            "column": int(props.get("col", 0)), "severity": match["level"],
            "rule": _unescape(props["title"]).split()[0], "message": message,
            "title": _unescape(props["title"]), "hint": hint or None,
        })
    assert [_key(a) for a in annotations] == [_key(f) for f in ref["findings"]]
    assert [a["hint"] for a in annotations] == [f["hint"] for f in ref["findings"]]
    assert {a["title"] for a in annotations} >= {"SC023 invalid-value", "SC041 parallel-writes"}
    # the escapes themselves, as GitHub's workflow-command syntax wants them
    assert "file=c/we%2Cird%3Adir/percent.yaml,line=6,col=9,title=SC023 invalid-value::" \
           "status is '100%25'" in out
    assert "%0Ahint: did you mean 'Operational'?" in out
    assert ("::error file=c/pipe.yaml,line=1,col=1,title=SC010 unreadable::not a regular file"
            in lines)


def test_format_auto_is_github_under_github_actions(run_cli: RunCli, project: Path) -> None:
    code, out, _ = run_cli("validate", "c/warned.yaml", env={"GITHUB_ACTIONS": "true"},
                           cwd=project)
    assert code == 0
    assert out.startswith("::warning file=c/warned.yaml,line=7,col=28,title=SC041")
    code, out, _ = run_cli("validate", "c/warned.yaml", cwd=project)
    assert out.startswith("c/warned.yaml:7:28: warning[SC041]")
    code, out, _ = run_cli("validate", "c/warned.yaml", "--format", "text",
                           env={"GITHUB_ACTIONS": "true"}, cwd=project)
    assert out.startswith("c/warned.yaml:7:28: warning[SC041]")


# -- sarif -----------------------------------------------------------------------

LEVELS = {"error": "error", "warning": "warning", "notice": "note"}
# RFC 3986 path characters: unreserved, percent-encoded, sub-delims, ':', '@', '/'
URI_PATH = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})+")
LINE_HASH = re.compile(r"[0-9a-f]{16}:[1-9][0-9]*")
PRECISIONS = {"very-high", "high", "medium", "low"}


def _region(f: dict[str, Any]) -> dict[str, int]:
    """The region SARIF must give a JSON finding (no astral characters in these files)."""
    end = (f["end_line"], f["end_column"]) if f["end_line"] else (f["line"], f["column"] + 1)
    return {"startLine": f["line"], "startColumn": f["column"],
            "endLine": end[0], "endColumn": end[1]}


def test_sarif(run_main: RunCli, project: Path) -> None:
    ref = reference(run_main, project)
    code, out, _ = run_main("validate", "c", "--format", "sarif", cwd=project)
    assert code == 1
    log = check_sarif(out)
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("/sarif-schema-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "scsync"
    assert driver["version"] == driver["semanticVersion"] == __version__
    assert re.fullmatch(r"https://\S+", driver["informationUri"])
    assert run["columnKind"] == "utf16CodeUnits"  # what GitHub code scanning counts in
    # outside git, the root is the folder scsync ran in
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)), "one rule per rule id"
    assert set(ids) == set(RULES)
    for r in rules:
        assert r["name"] == RULES[r["id"]].name
        assert r["defaultConfiguration"]["level"] == LEVELS[RULES[r["id"]].severity.value]

    results = run["results"]
    assert len(results) == len(ref["findings"])
    for result, f in zip(results, ref["findings"], strict=True):
        assert result["ruleId"] == f["rule"]
        assert rules[result["ruleIndex"]]["id"] == f["rule"]
        assert result["level"] == LEVELS[f["severity"]]
        assert result["message"]["text"].startswith(f["message"])
        if f["hint"]:
            assert f["hint"] in result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert URI_PATH.fullmatch(uri), uri
        assert unquote(uri) == f["path"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        # every finding has a region, the whole-file ones (the FIFO) at 1:1
        assert physical["region"] == _region(f)
        assert LINE_HASH.fullmatch(result["partialFingerprints"]["primaryLocationLineHash"])
        if f["pointer"]:
            assert result["properties"]["jsonPointer"] == f["pointer"]
    pipe = next(r for r in results if r["ruleId"] == "SC010")
    region = pipe["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (1, 1)


def test_sarif_rules_say_more_than_their_summary_and_link_their_anchor(
    run_main: RunCli, project: Path
) -> None:
    code, out, _ = run_main("validate", "c/clean.yaml", "--format", "sarif", cwd=project)
    assert code == 0
    headings = set((ROOT / "docs" / "rules.md").read_text("utf-8").splitlines())
    for r in check_sarif(out)["runs"][0]["tool"]["driver"]["rules"]:
        short, full = r["shortDescription"]["text"], r["fullDescription"]["text"]
        assert full.startswith(short) and len(full) > len(short) + 20, r["id"]
        anchor = f"docs/rules.md#{r['id'].lower()}"
        assert r["helpUri"].endswith(anchor)
        assert f"### {r['id']}" in headings, f"docs/rules.md has no anchor for {r['id']}"
        assert r["help"]["text"].startswith(RULES[r["id"]].help) and anchor in r["help"]["text"]
        assert f"]({r['helpUri']})" in r["help"]["markdown"]  # a markdown link to the anchor
        tags = r["properties"]["tags"]
        assert tags and all(isinstance(t, str) and t for t in tags)
        assert r["properties"]["precision"] in PRECISIONS
    by_id = {r["id"]: r for r in check_sarif(out)["runs"][0]["tool"]["driver"]["rules"]}
    assert by_id["SC024"]["properties"]["tags"][0] == "schema"  # the family first
    assert by_id["SC001"]["properties"]["tags"][0] == "yaml"


def test_sarif_uris_are_uri_references(run_main: RunCli, tmp_path: Path) -> None:
    """A space, '#' or '?' in a file name must not turn into a fragment or a query."""
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "orders #2 (old)?.yaml").write_text(_manifest("orders", status="Nope"))
    code, out, _ = run_main("validate", "c", "-f", "sarif", cwd=tmp_path)
    assert code == 1
    results = check_sarif(out)["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"c/orders%20%232%20%28old%29%3F.yaml"}
    assert all(URI_PATH.fullmatch(u) for u in uris)
    assert unquote(uris.pop()) == "c/orders #2 (old)?.yaml"


def _locations(out: str) -> list[dict[str, Any]]:
    log = check_sarif(out)
    return [r["locations"][0]["physicalLocation"] for r in log["runs"][0]["results"]]


def test_sarif_uris_are_relative_to_the_repository_root(run_main: RunCli, tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo")
    bad = _manifest("bad", status="Nope")
    repo.write("team/c/bad.yaml", bad)
    (tmp_path / "outside.yaml").write_text(_manifest("outside", status="Nope"))
    team = repo.path / "team"
    # from a subfolder, through `./` and `..`, and by absolute path: one normalised URI
    for path in ("./c/../c/bad.yaml", "c/bad.yaml", str(team / "c" / "bad.yaml")):
        code, out, _ = run_main("validate", path, "-f", "sarif", cwd=team)
        assert code == 1
        (physical,) = _locations(out)
        assert physical["artifactLocation"] == {"uri": "team/c/bad.yaml",
                                                "uriBaseId": "%SRCROOT%"}, path
        root = check_sarif(out)["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        assert root == repo.path.resolve().as_uri() + "/"
    # a file outside the repository: an absolute file URI, no base
    code, out, _ = run_main("validate", tmp_path / "outside.yaml", "-f", "sarif", cwd=team)
    (physical,) = _locations(out)
    assert physical["artifactLocation"] == {
        "uri": (tmp_path / "outside.yaml").resolve().as_uri()}
    # standard input: the same pseudo-URI every time, its lines still read
    for _ in range(2):
        code, out, _ = run_main("validate", "-", "-f", "sarif", stdin=bad, cwd=team)
        (physical,) = _locations(out)
        assert physical["artifactLocation"] == {"uri": "urn:scsync:stdin"}
        assert physical["region"]["startLine"] == 6


def _fingerprints(run_main: RunCli, cwd: Path) -> dict[tuple[str, str], tuple[int, str]]:
    """(rule, pointer) → (line, primaryLocationLineHash) of `scsync validate c` in SARIF."""
    code, out, _ = run_main("validate", "c", "-f", "sarif", cwd=cwd)
    assert code == 1
    return {(r["ruleId"], r["properties"]["jsonPointer"]): (
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        r["partialFingerprints"]["primaryLocationLineHash"])
        for r in check_sarif(out)["runs"][0]["results"]}


def test_sarif_fingerprints_do_not_move_with_unrelated_lines(
    run_main: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "c").mkdir()
    target = tmp_path / "c" / "aa.yaml"
    body = "status: operational\njob:\n  command:\n    - 1\n    - 1\n"
    target.write_text(_manifest("aa").replace("status: Operational\n", body))
    first = _fingerprints(run_main, tmp_path)
    items = (first[("SC022", "/job/command/0")], first[("SC022", "/job/command/1")])
    # the same rule on two identical lines: one hash, told apart by its index
    assert items[0][1].split(":")[0] == items[1][1].split(":")[0]
    assert [i[1].split(":")[1] for i in items] == ["1", "2"]

    # comments above and between, a longer description: every line moves, no hash does
    moved = target.read_text().replace("status:", "# owner: data team\n# paged\nstatus:")
    moved = moved.replace("described at length.", "described at length, and then some.")
    target.write_text(moved.replace("    - 1\n    - 1", "    - 1\n    # why\n    - 1"))
    second = _fingerprints(run_main, tmp_path)
    assert set(second) == set(first)
    assert all(second[k][0] != first[k][0] for k in first)  # the lines did move
    assert {k: v[1] for k, v in second.items()} == {k: v[1] for k, v in first.items()}

    # the located line itself changes: that result's hash changes, the others stay
    target.write_text(target.read_text().replace("status: operational", "status: Running"))
    third = _fingerprints(run_main, tmp_path)
    assert third[("SC023", "/status")][1] != first[("SC023", "/status")][1]
    assert third[("SC022", "/job/command/1")][1] == first[("SC022", "/job/command/1")][1]


def test_sarif_region_is_the_nodes_extent_in_utf16_code_units(tmp_path: Path) -> None:
    text = 'name: "😀 x"\n'
    root = str(tmp_path)
    extent = Finding("SC024", Severity.ERROR, "a.yaml", 1, 7, "/name", "too long",
                     end_line=1, end_column=12)  # code points: just after the closing quote
    start_only = Finding("SC022", Severity.ERROR, "a.yaml", 1, 8, "/name", "at the emoji")
    report = Report(command="validate", files=["a.yaml"], findings=[extent, start_only],
                    sources=Sources(root, root, {"a.yaml": text}.get))
    log = check_sarif(SarifReporter().render(report))
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in log["runs"][0]["results"]]
    # the emoji is one code point but two UTF-16 units: the end after it moves by one
    assert regions[0] == {"startLine": 1, "startColumn": 7, "endLine": 1, "endColumn": 13}
    # only a start: one character, here the emoji, two units wide
    assert regions[1] == {"startLine": 1, "startColumn": 8, "endLine": 1, "endColumn": 10}


def test_sarif_of_a_clean_run_has_rules_and_no_results(run_main: RunCli, project: Path) -> None:
    code, out, _ = run_main("validate", "c/clean.yaml", "-f", "sarif", cwd=project)
    assert code == 0
    run = check_sarif(out)["runs"][0]
    assert run["results"] == []
    assert len(run["tool"]["driver"]["rules"]) == len(RULES)


# -- junit -----------------------------------------------------------------------


def _junit(run_main: RunCli, project: Path, *options: str) -> tuple[int, ET.Element]:
    code, out, _ = run_main("validate", "c", "--format", "junit", *options, cwd=project)
    assert out.startswith("<?xml")
    return code, check_junit(out)  # valid against junit-10.xsd, but for GitLab's `file`


def test_junit(run_main: RunCli, project: Path) -> None:
    ref = reference(run_main, project)
    code, root = _junit(run_main, project)
    assert code == 1
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert sorted(cases) == FILES
    assert all(c.get("file") == name for name, c in cases.items())
    failing = sorted(name for name, c in cases.items() if c.find("failure") is not None)
    assert failing == sorted([f"c/{ODD}/percent.yaml", f"c/{ODD}/hinted.yaml", "c/pipe.yaml"])
    assert suite.get("tests") == root.get("tests") == "6"
    assert suite.get("failures") == root.get("failures") == "3"
    failure = cases[f"c/{ODD}/hinted.yaml"].find("failure")
    assert failure is not None
    assert failure.get("type") == "SC023"
    # a tab that shows only the message still shows where: path:line:col rule message
    hinted = next(f for f in ref["findings"] if f["path"] == f"c/{ODD}/hinted.yaml")
    assert failure.get("message") == f"c/{ODD}/hinted.yaml:6:9 SC023 {hinted['message']}"
    pipe = cases["c/pipe.yaml"].find("failure")
    assert pipe is not None and pipe.get("message") == "c/pipe.yaml:1:1 SC010 not a regular file"
    assert "did you mean 'Operational'?" in (failure.text or "")
    assert f"c/{ODD}/hinted.yaml:6:9: error[SC023]" in (failure.text or "")
    warned = cases["c/warned.yaml"].find("system-out")
    assert warned is not None and "warning[SC041]" in (warned.text or "")
    assert cases["c/clean.yaml"].find("system-out") is None


def test_junit_times_the_run_and_names_the_machine(run_main: RunCli, project: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    _, root = _junit(run_main, project)
    after = datetime.now(UTC).replace(tzinfo=None)
    (suite,) = root.findall("testsuite")
    assert before <= datetime.fromisoformat(suite.get("timestamp", "")) <= after  # UTC
    assert suite.get("hostname") == socket.gethostname()
    total = float(suite.get("time", "-1"))
    assert total > 0 and root.get("time") == suite.get("time")
    times = [float(c.get("time", "-1")) for c in suite.iter("testcase")]
    assert len(times) == 6 and all(t >= 0 for t in times)
    assert abs(sum(times) - total) < 0.01  # the cases share the run's time


def test_junit_strict_turns_warnings_into_failures(run_main: RunCli, project: Path) -> None:
    code, root = _junit(run_main, project, "--strict")
    assert code == 1
    cases = {c.get("name"): c for c in root.iter("testcase")}
    warned = cases["c/warned.yaml"].find("failure")
    assert warned is not None and warned.get("type") == "SC041"
    assert cases["c/paused.yaml"].find("failure") is None  # notices never fail
    assert root.get("failures") == "4"


# -- the JSON schema -------------------------------------------------------------


def test_the_json_schema_refuses_what_does_not_belong(run_main: RunCli, project: Path) -> None:
    """The check every JSON output of the suite gets (conftest.py) has teeth."""
    out = run_main("validate", "c", "-f", "json", cwd=project)[1]
    data = check_output(out)
    assert set(data) == {"format_version", "tool", "version", "command", "passed",
                         "files_checked", "summary", "findings"}
    for broken in ({**data, "changes": []},  # another command's data merged in
                   {**data, "format_version": 2},
                   {k: v for k, v in data.items() if k != "format_version"},
                   {**data, "findings": [{**data["findings"][0], "line": 0}]}):
        with pytest.raises(AssertionError, match=r"scsync-output\.schema\.json"):
            check_output(json.dumps(broken))
    assert is_json_report(["validate", "c", "-f", "json"])
    assert is_json_report(["diff", "HEAD~1", "--format=json"])
    assert not is_json_report(["rules", "--format", "json"])
    assert not is_json_report(["validate", "c", "-f", "sarif"])


# -- --output --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif", "junit"])
def test_output_writes_the_report_to_a_file(run_main: RunCli, project: Path, fmt: str) -> None:
    code, expected, _ = run_main("validate", "c", "-f", fmt, cwd=project)
    code_to_file, out, err = run_main("validate", "c", "-f", fmt, "-o", "report.out",
                                      cwd=project)
    assert code == code_to_file == 1
    assert out == ""
    assert _untimed((project / "report.out").read_text("utf-8")) == _untimed(expected)
    assert err == "6 files checked, failed: 3 errors, 1 warning, 1 notice\n"


def _untimed(report: str) -> str:
    """JUnit carries the run's own duration and start: equal reports differ only there."""
    return re.sub(r' (time|timestamp)="[^"]*"', "", report)


def test_output_to_an_unwritable_place_is_a_usage_error(run_cli: RunCli, project: Path) -> None:
    code, _, err = run_cli("validate", "c/clean.yaml", "-o", "no/such/folder/r.json",
                             cwd=project)
    assert code == 2
    assert "cannot write no/such/folder/r.json" in err
    assert "Traceback" not in err


def test_a_missing_specification_skips_here_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert spec("junit-10.xsd").read_text("utf-8").lstrip().startswith("<?xml")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"no-such-spec\.json is not in"):
        spec("no-such-spec.json")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must check every format"):
        spec("no-such-spec.json")
