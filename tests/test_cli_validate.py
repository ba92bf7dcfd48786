"""`scsync validate` end to end: exit codes, paths, stdin, options, parallel runs.

Through the real command in a subprocess (`run_cli`), except where only the
in-process entry point (`run_main`) can see what is checked.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from scsync.checks.pipeline import PARALLEL_THRESHOLD, validate
from specs import check_sarif

RunCli = Callable[..., tuple[int, str, str]]

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = Path(__file__).parent / "examples"
VALID = EXAMPLES / "valid"
INVALID = EXAMPLES / "invalid"


def no_traceback(err: str) -> None:
    assert "Traceback" not in err
    assert "internal error" not in err


# -- exit codes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paths", "options", "code", "summary"),
    [
        (["minimal.yaml"], [], 0, "1 file checked, passed: no problems"),
        (["parallel_writes.yaml", "short_description.yaml"], [], 0,
         "2 files checked, passed: 2 warnings"),
        (["paused.yaml", "inactive.yaml"], [], 0, "2 files checked, passed: 2 notices"),
        (["paused.yaml", "inactive.yaml"], ["--strict"], 0, "2 files checked, passed: 2 notices"),
        (["parallel_writes.yaml"], ["--strict"], 1, "1 file checked, failed: 1 warning"),
        (["minimal.yaml", "../invalid/duplicate_key.yaml"], [], 1,
         "2 files checked, failed: 1 error"),
    ],
    ids=["valid", "warnings", "notices", "notices-strict", "warnings-strict", "invalid"],
)
def test_exit_codes(
    run_cli: RunCli, paths: list[str], options: list[str], code: int, summary: str
) -> None:
    got, out, err = run_cli("validate", *options, *paths, cwd=VALID)
    assert got == code, out + err
    assert out.splitlines()[-1] == summary
    no_traceback(err)


def test_a_missing_path_is_a_usage_error(run_cli: RunCli) -> None:
    code, out, err = run_cli("validate", VALID / "minimal.yaml", "connectors/typo.yaml")
    assert code == 2
    assert out == ""
    assert err == (
        "scsync: error: no such file or folder: connectors/typo.yaml "
        "(check the path; scsync validate takes manifest files and folders)\n"
    )


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        (None, "cannot read the schema"),
        ("{ not json", "is not valid JSON"),
        ('{"type": "thing"}', "is not a valid JSON Schema at /type"),
        ('"just a string"', "must be a JSON object"),
    ],
    ids=["missing", "not-json", "not-a-schema", "not-an-object"],
)
def test_a_bad_schema_file_is_a_usage_error(
    run_cli: RunCli, tmp_path: Path, schema: str | None, words: str
) -> None:
    path = tmp_path / "schema.json"
    if schema is not None:
        path.write_text(schema)
    code, out, err = run_cli("validate", "--schema", path, VALID / "minimal.yaml")
    assert code == 2
    assert out == ""
    assert err.startswith("scsync: error: ") and words in err
    no_traceback(err)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--max-bytes", "0"], "--max-bytes must be a positive number of bytes"),
        (["--max-bytes", "-5"], "--max-bytes must be a positive number of bytes"),
        (["--max-bytes", "lots"], "argument --max-bytes: invalid int value: 'lots'"),
        (["--jobs", "0"], "--jobs must be 1 or more"),
        (["--format", "yaml"], "argument --format/-f: invalid choice: 'yaml'"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_options_are_usage_errors(run_cli: RunCli, options: list[str], words: str) -> None:
    code, out, err = run_cli("validate", *options, VALID / "minimal.yaml")
    assert code == 2
    assert out == ""
    assert words in err
    no_traceback(err)


def test_no_command_is_a_usage_error(run_cli: RunCli) -> None:
    code, _, err = run_cli()
    assert code == 2
    assert "usage: scsync" in err


def test_help_and_version(run_main: RunCli) -> None:
    code, out, _ = run_main("validate", "--help")
    assert code == 0
    assert "--schema" in out and "--strict" in out and "--max-bytes" in out
    code, out, _ = run_main("--version")
    assert code == 0
    assert out.startswith("scsync ")


# -- every file is checked -------------------------------------------------------

BROKEN: dict[str, bytes] = {
    "01_syntax.yaml": b"key: [unclosed\n",
    "02_duplicate.yaml": b"a: 1\na: 2\n",
    "03_latin1.yaml": b"name: Caf\xe9\n",
    "04_utf16.yaml": "name: x\n".encode("utf-16"),
    "05_empty.yaml": b"",
    "06_comments.yaml": b"# nothing\n",
    "07_tabs.yaml": b"job:\n\tcommand: [a]\n",
    "08_two_docs.yaml": b"a: 1\n---\nb: 2\n",
    "09_list.yaml": b"- a\n",
    "10_scalar.yaml": b"text\n",
    "11_tag.yaml": b"a: !!binary aGk=\n",
    "12_bomb.yaml": ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}" if i > 1 else "*a"] * 10) + "]\n"
        for i in range(1, 9))).encode(),
    "13_deep.yaml": b"a: " + b"[" * 5_000 + b"]" * 5_000 + b"\n",
    "14_control.yaml": b"a: \x07\n",
    "15_big.yaml": b"a: " + b"x" * 20_000 + b"\n",
    "16_nul.yaml": b"a: 1\n\x00\n",
}
BROKEN_RULES = ["SC001", "SC002", "SC003", "SC003", "SC004", "SC004", "SC005", "SC006", "SC007",
                "SC007", "SC011", "SC009", "SC009", "SC001", "SC008", "SC003"]


def test_every_file_is_checked_and_no_bad_input_makes_a_traceback(
    run_cli: RunCli, tmp_path: Path
) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    for name, content in BROKEN.items():
        (folder / name).write_bytes(content)
    os.mkfifo(folder / "17_fifo.yaml")
    (folder / "18_directory.yaml").mkdir()  # a folder is searched, not read
    shutil.copy(VALID / "minimal.yaml", folder / "minimal.yaml")
    (folder / "98_bad_status.yaml").write_text(
        (VALID / "minimal.yaml").read_text().replace("api_name: minimal", "api_name: other")
        .replace("name: Minimal", "name: Other").replace("status: Operational", "status: Running")
    )

    code, out, err = run_cli("validate", "--max-bytes", "19999", "-f", "json", "c")
    assert code == 1
    no_traceback(err)
    data = json.loads(out)
    assert data["files_checked"] == len(BROKEN) + 3
    rules: dict[str, list[str]] = {}
    for f in data["findings"]:
        rules.setdefault(f["path"].removeprefix("c/"), []).append(f["rule"])
    assert [rules[name] for name in BROKEN] == [[rule] for rule in BROKEN_RULES]
    assert rules["17_fifo.yaml"] == ["SC010"]
    assert "SC023" in rules["98_bad_status.yaml"]  # after all the broken ones
    assert "minimal.yaml" not in rules


def test_deep_nesting_is_refused_without_crashing_the_run(run_cli: RunCli, tmp_path: Path) -> None:
    """libyaml's composer recurses in C: 200,000 levels would be a segfault, losing every report."""
    deep = {
        "block_sequences.yaml": b"- " * 200_000 + b"x\n",
        "complex_keys.yaml": b"? " * 200_000 + b"x\n",
        "flow_sequences.yaml": b"a: " + b"[" * 200_000 + b"]" * 200_000 + b"\n",
        "flow_mappings.yaml": b"a: " + b"{a: " * 100_000 + b"x" + b"}" * 100_000 + b"\n",
    }
    for name, content in deep.items():
        (tmp_path / name).write_bytes(content)
    shutil.copy(INVALID / "wrong_kind.yaml", tmp_path / "wrong_kind.yaml")
    code, out, err = run_cli("validate", "-f", "json", ".")
    assert code == 1, err
    no_traceback(err)
    found = {(f["path"], f["rule"]) for f in json.loads(out)["findings"]}
    assert found == {*((name, "SC009") for name in deep), ("wrong_kind.yaml", "SC023")}


#: Found by fuzzing: each made `scsync validate` stop with "internal error" (exit 2),
#: reporting no other file.  The end of each file is line 2, column 2.
ENDS_INSIDE_A_COLLECTION = {
    "lf.yaml": b"[\n\t",
    "cr.yaml": b"{\r\t",
    "crlf.yaml": b"a: [\r\n\t",
    "nel.yaml": "[\u0085\t".encode(),
    "ls.yaml": "a: [\u2028\t".encode(),
    "ps.yaml": "{\u2029\t".encode(),
}


def test_a_file_that_ends_inside_a_collection_does_not_stop_the_run(
    run_cli: RunCli, tmp_path: Path
) -> None:
    for name, content in ENDS_INSIDE_A_COLLECTION.items():
        (tmp_path / name).write_bytes(content)
    shutil.copy(INVALID / "wrong_kind.yaml", tmp_path / "wrong_kind.yaml")
    shutil.copy(VALID / "minimal.yaml", tmp_path / "minimal.yaml")
    code, out, err = run_cli("validate", "-f", "json", ".")
    assert code == 1, err
    no_traceback(err)
    data = json.loads(out)
    assert data["files_checked"] == len(ENDS_INSIDE_A_COLLECTION) + 2
    found = sorted((f["path"], f["rule"], f["line"], f["column"]) for f in data["findings"])
    assert [f[:2] for f in found if f[0] == "wrong_kind.yaml"] == [("wrong_kind.yaml", "SC023")]
    assert [f for f in found if f[0] != "wrong_kind.yaml"] == sorted(
        (name, "SC001", 2, 2) for name in ENDS_INSIDE_A_COLLECTION
    )


def test_a_file_of_thousands_of_problems_prints_100_and_a_count(
    run_cli: RunCli, tmp_path: Path
) -> None:
    head = (VALID / "minimal.yaml").read_text()
    lines = len(head.splitlines())
    (tmp_path / "minimal.yaml").write_text(head + "".join(f"k{i}: {i}\n" for i in range(4_000)))
    code, out, err = run_cli("validate", "minimal.yaml")
    assert code == 1, err
    printed = [line for line in out.splitlines() if line.startswith("minimal.yaml:")]
    assert len(printed) == 101
    assert printed[99].startswith(f"minimal.yaml:{lines + 100}:1: error[SC021] unknown key 'k99'")
    assert printed[100] == (
        f"minimal.yaml:{lines + 101}:1: error[SC012] 3,900 more findings in this file are not "
        "shown (the first 100 are)"
    )
    assert out.splitlines()[-1] == "1 file checked, failed: 101 errors"


def test_an_unreadable_file_does_not_stop_the_others(run_cli: RunCli, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    code, out, err = run_cli("validate", "pipe.yaml", VALID / "minimal.yaml",
                             INVALID / "wrong_kind.yaml")
    assert code == 1
    assert "pipe.yaml:1:1: error[SC010] not a regular file" in out
    assert "wrong_kind.yaml:3:7: error[SC023]" in out
    assert out.splitlines()[-1] == "3 files checked, failed: 2 errors"
    no_traceback(err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_permission_does_not_stop_the_others(
    run_cli: RunCli, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.yaml"
    shutil.copy(VALID / "minimal.yaml", secret)
    secret.chmod(0)
    try:
        code, out, _ = run_cli("validate", "secret.yaml", INVALID / "wrong_kind.yaml")
    finally:
        secret.chmod(0o644)
    assert code == 1
    assert "secret.yaml:1:1: error[SC010] cannot read the file: Permission denied" in out
    assert "wrong_kind.yaml:3:7: error[SC023]" in out


# -- paths -------------------------------------------------------------------------


def test_stdin(run_cli: RunCli) -> None:
    good = (VALID / "minimal.yaml").read_bytes()
    code, out, _ = run_cli("validate", "-", stdin=good)
    assert (code, out) == (0, "1 file checked, passed: no problems\n")

    bad = (INVALID / "status_lowercase.yaml").read_bytes()
    code, out, _ = run_cli("validate", "-", stdin=bad)
    assert code == 1
    assert out.startswith("<stdin>:7:9: error[SC023] status is 'operational'")

    # stdin joins the set: a duplicate api_name with a file is found
    code, out, _ = run_cli("validate", "-", "minimal.yaml", stdin=good, cwd=VALID)
    assert code == 1
    assert "minimal.yaml:4:11: error[SC050] api_name 'minimal' is already used by <stdin>:4" in (
        out
    )


def test_a_bom_and_crlf_keep_their_line_numbers(
    run_cli: RunCli, run_main: RunCli, tmp_path: Path
) -> None:
    text = (INVALID / "status_lowercase.yaml").read_text()
    raw = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()
    (tmp_path / "status_lowercase.yaml").write_bytes(raw)
    for run in (run_cli, run_main):
        code, out, _ = run("validate", "status_lowercase.yaml")
        assert code == 1
        assert out.startswith("status_lowercase.yaml:7:9: error[SC023] status is 'operational';")
        code, out, _ = run("validate", "-", stdin=raw)
        assert code == 1
        assert out.startswith("<stdin>:7:9: error[SC023] status is 'operational';")


def test_the_default_path_is_connectors(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "connectors" / "team").mkdir(parents=True)
    shutil.copy(VALID / "minimal.yaml", tmp_path / "connectors" / "minimal.yaml")
    shutil.copy(VALID / "paused.yaml", tmp_path / "connectors" / "team" / "paused.yaml")
    (tmp_path / "elsewhere.yaml").write_text("not: [valid\n")  # outside: not looked at
    code, out, _ = run_cli("validate")
    assert code == 0
    assert out == (
        "connectors/team/paused.yaml:8:28: notice[SC042] max_concurrent_executions is 0: "
        "the connector is paused and executions queue\n"
        "2 files checked, passed: 1 notice\n"
    )


def test_no_connectors_folder_is_a_usage_error(run_cli: RunCli) -> None:
    code, _, err = run_cli("validate")
    assert code == 2
    assert "no such file or folder: connectors" in err


def test_an_empty_folder_passes_with_a_message(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "connectors" / ".hidden").mkdir(parents=True)
    (tmp_path / "connectors" / ".hidden" / "skipped.yaml").write_text("a: [\n")
    (tmp_path / "connectors" / "README.md").write_text("not a manifest\n")
    code, out, err = run_cli("validate", "connectors")
    assert code == 0
    assert err == "scsync: no manifests (*.yaml, *.yml) found in connectors\n"
    assert out == "0 files checked, passed: no problems\n"


def test_the_projects_own_connectors_pass(run_cli: RunCli) -> None:
    code, out, err = run_cli("validate", cwd=REPO_ROOT)
    assert code == 0, out + err
    assert f"{len(list((REPO_ROOT / 'connectors').glob('*.y*ml')))} files checked, passed" in out


def test_the_same_file_twice_is_checked_once(run_cli: RunCli) -> None:
    code, out, _ = run_cli("validate", VALID / "minimal.yaml", VALID, VALID / "minimal.yaml")
    assert code == 0
    assert f"{len(list(VALID.iterdir()))} files checked" in out


# -- options -----------------------------------------------------------------------


def test_max_bytes(run_cli: RunCli) -> None:
    size = (VALID / "minimal.yaml").stat().st_size
    code, out, _ = run_cli("validate", "--max-bytes", str(size - 1), VALID / "minimal.yaml")
    assert code == 1
    assert f"error[SC008] the file has {size} bytes, over the cap of {size - 1} bytes" in out
    assert run_cli("validate", "--max-bytes", str(size), VALID / "minimal.yaml")[0] == 0


def test_a_custom_schema_replaces_the_bundled_one(run_cli: RunCli, tmp_path: Path) -> None:
    schema = tmp_path / "team.schema.json"
    schema.write_text(json.dumps({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["owner"],
        "properties": {"owner": {"type": "string"}},
    }))
    manifest = tmp_path / "minimal.yaml"
    manifest.write_text((VALID / "minimal.yaml").read_text())
    code, out, _ = run_cli("validate", "--schema", schema, manifest.name)
    assert code == 1
    assert "minimal.yaml:2:1: error[SC020] missing required key 'owner' in the document" in out

    manifest.write_text(manifest.read_text() + "owner: data-team\n")
    assert run_cli("validate", "--schema", schema, manifest.name)[0] == 0
    code, out, _ = run_cli("validate", manifest.name)  # the bundled schema knows no owner
    assert code == 1
    assert "error[SC021] unknown key 'owner' at the top level" in out


# -- parallel --------------------------------------------------------------------


def _many(root: Path, n: int = 250) -> None:
    for i in range(n):
        folder = root / "c" / f"team_{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        extra = ["", "max_concurrent_executions: 0\n", "max_concurrent_executions: 3\n",
                 "create_only: true\n"][i % 4]
        (folder / f"conn_{i:03d}.yaml").write_text(
            f"apiVersion: scsync/v1\nkind: SmartConnector\napi_name: conn_{i:03d}\n"
            f"name: Connector {i}\ndescription: Moves batch {i} of the test data into Kizen.\n"
            f"status: {'Operational' if i % 9 else 'Inactive'}\n{extra}"
        )
    bad = root / "c" / "team_3"
    (bad / "dup_api_name.yaml").write_text(
        "apiVersion: scsync/v1\nkind: SmartConnector\napi_name: conn_007\nname: Connector 7\n"
        "status: Operational\n"
    )
    (bad / "broken.yaml").write_bytes(b"name: [\n")
    (bad / "typo.yaml").write_text(
        "apiVersion: scsync/v1\nkind: SmartConnector\napi_name: typo\nname: Typo\n"
        "descripton: Misspelt.\nstatus: operational\n"
    )


def test_parallel_runs_find_exactly_what_a_serial_run_finds(
    run_cli: RunCli, tmp_path: Path
) -> None:
    _many(tmp_path)
    assert PARALLEL_THRESHOLD < 253  # the default run uses worker processes
    runs = {}
    for jobs in ([], ["--jobs", "1"], ["--jobs", "2"], ["-j", "3"]):
        code, out, err = run_cli("validate", "-f", "json", *jobs, "c")
        assert code == 1, err
        no_traceback(err)
        runs[" ".join(jobs) or "default"] = json.loads(out)
    serial = runs["--jobs 1"]
    assert serial["files_checked"] == 253
    rules = {(f["path"], f["rule"]) for f in serial["findings"]}
    assert ("c/team_3/dup_api_name.yaml", "SC050") in rules
    assert ("c/team_3/dup_api_name.yaml", "SC051") in rules
    assert ("c/team_3/broken.yaml", "SC001") in rules
    assert ("c/team_3/typo.yaml", "SC021") in rules
    assert sum(1 for _, rule in rules if rule == "SC041") > 50
    for name, data in runs.items():
        assert data == serial, name


def test_worker_processes_keep_every_findings_extent(tmp_path: Path) -> None:
    _many(tmp_path)
    serial = validate([str(tmp_path / "c")], jobs=1).findings
    assert validate([str(tmp_path / "c")], jobs=2).findings == serial  # ends included
    typo = [f for f in serial if f.rule == "SC021"]
    assert [(f.line, f.column, f.end_line, f.end_column) for f in typo] == [(5, 1, 5, 11)]
    assert all(f.end_line for f in serial if f.rule in ("SC041", "SC050", "SC051"))


# -- the library entry point -------------------------------------------------------


def test_in_process_and_subprocess_agree(run_cli: RunCli, run_main: RunCli) -> None:
    args = ("validate", "-f", "json", INVALID / "status_trailing_space.yaml", VALID / "paused.yaml")
    assert run_main(*args) == run_cli(*args)


def test_ignore_drops_warnings_and_notices_but_never_errors(
    run_cli: RunCli, tmp_path: Path
) -> None:
    folder = tmp_path / "connectors"
    folder.mkdir()
    # A paused connector (SC042 notice) in a file not named after it (SC045 notice),
    # without a description (SC040 warning).
    (folder / "other_name.yaml").write_text(
        "apiVersion: scsync/v1\nkind: SmartConnector\napi_name: paused_one\n"
        "name: Paused One\nstatus: Operational\nmax_concurrent_executions: 0\n"
    )
    code, out, _ = run_cli("validate", "--strict", "connectors")
    assert code == 1 and "SC040" in out and "SC042" in out and "SC045" in out

    code, out, _ = run_cli("validate", "--strict", "--ignore", "SC040,sc045",
                           "--ignore", "SC042", "connectors")
    assert code == 0
    assert out == "1 file checked, passed: no problems\n"

    code, _, err = run_cli("validate", "--ignore", "SC050", "connectors")
    assert code == 2
    assert "SC050: duplicate-api-name is an error and cannot be ignored" in err
    code, _, err = run_cli("validate", "--ignore", "SC999", "connectors")
    assert code == 2 and "no such rule" in err and "Traceback" not in err


HEADER = "apiVersion: scsync/v1\nkind: SmartConnector\napi_name: {api}\nname: {api}\n" \
    "status: Operational\n"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # a long value is measured, not quoted whole
        ("description: " + "d" * 2100 + "\n",
         "error[SC024] description has 2,100 characters; the most allowed is 2,000"),
        # control characters in a key are escaped, never sent raw to the terminal
        ('"foo\\u0001\\u001b[31mRED": 1\n',
         "error[SC021] unknown key 'foo\\x01\\x1b[31mRED' at the top level"),
        # YAML 1.1 merge keys are named for what they are
        ("<<: {a: 1}\n", "hint: merge keys (`<<`) are YAML 1.1 and are not expanded here"),
        # an alias cycle is named, not reported as deep nesting
        ("job: &j {command: [a], env: *j}\n",
         "error[SC009] an alias refers to a value that contains it"),
    ],
    ids=["long-value", "control-characters", "merge-key", "alias-cycle"],
)
def test_hostile_values_get_short_safe_precise_messages(
    run_cli: RunCli, tmp_path: Path, extra: str, expected: str
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(HEADER.format(api="hostile") + extra)
    code, out, err = run_cli("validate", path)
    assert code == 1 and "Traceback" not in err
    assert expected in out
    assert max(len(line) for line in out.splitlines()) < 400
    assert "\x1b" not in out and "\x01" not in out


def test_junit_stays_well_formed_xml_with_control_characters(
    run_cli: RunCli, tmp_path: Path
) -> None:
    import xml.dom.minidom

    (tmp_path / "ctl.yaml").write_text(HEADER.format(api="ctl") + '"k\\u0001": 1\n')
    code, out, _ = run_cli("validate", "--format", "junit", tmp_path / "ctl.yaml")
    assert code == 1
    document = xml.dom.minidom.parseString(out)  # noqa: S318 - our own output; raises on bad XML
    assert "unknown key 'k\\x01'" in document.getElementsByTagName("failure")[0].firstChild.data


def test_a_schema_whose_ref_leads_nowhere_is_a_usage_error(
    run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "bad.json").write_text('{"$ref": "#/definitions/nope"}')
    (tmp_path / "m.yaml").write_text(HEADER.format(api="m"))
    code, _, err = run_cli("validate", "--schema", tmp_path / "bad.json", tmp_path / "m.yaml")
    assert code == 2
    assert "has a $ref that leads nowhere: '#/definitions/nope'" in err
    assert "internal error" not in err and "Traceback" not in err


def test_sarif_columns_count_utf16_code_units(run_cli: RunCli, tmp_path: Path) -> None:
    # The unknown key 'timeout' sits after two astral characters, which are 2 code
    # points but 4 UTF-16 units: GitHub counts units, so SARIF says 26 where text says 24.
    (tmp_path / "emoji.yaml").write_text(
        HEADER.format(api="emoji") + 'job: {command: ["😀😀"], timeout: 1}\n', "utf-8"
    )
    code, out, _ = run_cli("validate", "--format", "sarif", tmp_path / "emoji.yaml")
    assert code == 1
    run = check_sarif(out)["runs"][0]
    assert run["columnKind"] == "utf16CodeUnits"
    region = next(r for r in run["results"] if r["ruleId"] == "SC021")["locations"][0][
        "physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (6, 26)
    assert region["endColumn"] > region["startColumn"]
    code, out, _ = run_cli("validate", tmp_path / "emoji.yaml")
    assert ":6:24: error[SC021] unknown key 'timeout'" in out  # text keeps code points
