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
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from scsync.rules import RULES

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
    data = reference(run_main, project)
    assert data["tool"] == "scsync"
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
    assert hinted == {
        "rule": "SC023", "name": "invalid-value", "severity": "error",
        "path": f"c/{ODD}/hinted.yaml", "line": 6, "column": 9, "pointer": "/status",
        "message": hinted["message"],
        "hint": "did you mean 'Operational'? (the spelling must match exactly)",
    }
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


def test_sarif(run_main: RunCli, project: Path) -> None:
    ref = reference(run_main, project)
    code, out, _ = run_main("validate", "c", "--format", "sarif", cwd=project)
    assert code == 1
    log = json.loads(out)
    # the required structure of SARIF 2.1.0 (sarif-schema-2.1.0.json), checked by hand
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "scsync"
    assert isinstance(driver["version"], str)
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)), "one rule per rule id"
    assert set(ids) == set(RULES)
    for r in rules:
        assert r["name"] == RULES[r["id"]].name
        assert r["shortDescription"]["text"] and r["help"]["text"]
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
        if f["line"]:
            assert physical["region"] == {"startLine": f["line"], "startColumn": f["column"]}
        else:
            assert "region" not in physical
        if f["pointer"]:
            assert result["properties"]["jsonPointer"] == f["pointer"]


def test_sarif_uris_are_uri_references(run_main: RunCli, tmp_path: Path) -> None:
    """A space, '#' or '?' in a file name must not turn into a fragment or a query."""
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "orders #2 (old)?.yaml").write_text(_manifest("orders", status="Nope"))
    code, out, _ = run_main("validate", "c", "-f", "sarif", cwd=tmp_path)
    assert code == 1
    results = json.loads(out)["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"c/orders%20%232%20%28old%29%3F.yaml"}
    assert all(URI_PATH.fullmatch(u) for u in uris)
    assert unquote(uris.pop()) == "c/orders #2 (old)?.yaml"


def test_sarif_of_a_clean_run_has_rules_and_no_results(run_main: RunCli, project: Path) -> None:
    code, out, _ = run_main("validate", "c/clean.yaml", "-f", "sarif", cwd=project)
    assert code == 0
    run = json.loads(out)["runs"][0]
    assert run["results"] == []
    assert len(run["tool"]["driver"]["rules"]) == len(RULES)


# -- junit -----------------------------------------------------------------------


def _junit(run_main: RunCli, project: Path, *options: str) -> tuple[int, ET.Element]:
    code, out, _ = run_main("validate", "c", "--format", "junit", *options, cwd=project)
    assert out.startswith("<?xml")
    return code, ET.fromstring(out)  # noqa: S314 - our own output, not untrusted input


def test_junit(run_main: RunCli, project: Path) -> None:
    code, root = _junit(run_main, project)
    assert code == 1
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert sorted(cases) == FILES
    failing = sorted(name for name, c in cases.items() if c.find("failure") is not None)
    assert failing == sorted([f"c/{ODD}/percent.yaml", f"c/{ODD}/hinted.yaml", "c/pipe.yaml"])
    assert suite.get("tests") == root.get("tests") == "6"
    assert suite.get("failures") == root.get("failures") == "3"
    failure = cases[f"c/{ODD}/hinted.yaml"].find("failure")
    assert failure is not None
    assert failure.get("type") == "SC023"
    assert "did you mean 'Operational'?" in (failure.text or "")
    assert f"c/{ODD}/hinted.yaml:6:9: error[SC023]" in (failure.text or "")
    warned = cases["c/warned.yaml"].find("system-out")
    assert warned is not None and "warning[SC041]" in (warned.text or "")
    assert cases["c/clean.yaml"].find("system-out") is None


def test_junit_strict_turns_warnings_into_failures(run_main: RunCli, project: Path) -> None:
    code, root = _junit(run_main, project, "--strict")
    assert code == 1
    cases = {c.get("name"): c for c in root.iter("testcase")}
    warned = cases["c/warned.yaml"].find("failure")
    assert warned is not None and warned.get("type") == "SC041"
    assert cases["c/paused.yaml"].find("failure") is None  # notices never fail
    assert root.get("failures") == "4"


# -- --output --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif", "junit"])
def test_output_writes_the_report_to_a_file(run_main: RunCli, project: Path, fmt: str) -> None:
    code, expected, _ = run_main("validate", "c", "-f", fmt, cwd=project)
    code_to_file, out, err = run_main("validate", "c", "-f", fmt, "-o", "report.out",
                                      cwd=project)
    assert code == code_to_file == 1
    assert out == ""
    assert (project / "report.out").read_text("utf-8") == expected
    assert err == "6 files checked, failed: 3 errors, 1 warning, 1 notice\n"


def test_output_to_an_unwritable_place_is_a_usage_error(run_cli: RunCli, project: Path) -> None:
    code, _, err = run_cli("validate", "c/clean.yaml", "-o", "no/such/folder/r.json",
                             cwd=project)
    assert code == 2
    assert "cannot write no/such/folder/r.json" in err
    assert "Traceback" not in err
