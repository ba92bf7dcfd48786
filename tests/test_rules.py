"""Every rule id below SC100 triggered with its severity and place; the settings and set rules.

`TRIGGERS` holds one case per rule id; `test_every_rule_is_triggered` is
parametrised by `scsync.rules.RULES` itself, so a new rule without a case here
fails the suite.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scsync.checks.pipeline import validate
from scsync.findings import Finding, Severity
from scsync.rules import RULES, Rule, register

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTICE
FIFO = b"<fifo>"  # stands for a named pipe instead of file content

HEAD = (
    "apiVersion: scsync/v1\n"
    "kind: SmartConnector\n"
    "api_name: {api}\n"
    "name: {name}\n"
    "description: A connector for the rule tests, described at length.\n"
    "status: Operational\n"
)


def manifest(api: str, extra: str = "", *, name: str | None = None) -> bytes:
    return (HEAD.format(api=api, name=name or api.title()) + extra).encode()


@dataclass
class Trigger:
    files: dict[str, bytes]
    severity: Severity
    where: str  # "path:line:col" or "path" for a whole-file finding
    words: str
    options: dict[str, Any] = field(default_factory=dict)


# 10 ** 6 values once expanded
_BOMB = "x: &x [a, a, a, a, a, a, a, a, a, a]\n" + "".join(
    f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}" if i > 1 else "*x"] * 10) + "]\n"
    for i in range(1, 6)
)

_CUSTOM_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"max_concurrent_executions": {"multipleOf": 2}},
}

TRIGGERS: dict[str, Trigger] = {
    "SC001": Trigger({"c/aa.yaml": manifest("aa", "key: value\n bad: indent\n")}, E,
                     "c/aa.yaml:8:5", "mapping values are not allowed"),
    "SC002": Trigger({"c/aa.yaml": manifest("aa", "status: Inactive\n")}, E,
                     "c/aa.yaml:7:1", "first defined on line 6, again on line 7"),
    "SC003": Trigger({"c/aa.yaml": manifest("aa") + b"extra: Caf\xe9\n"}, E,
                     "c/aa.yaml:7:11", "byte 0xe9"),
    "SC004": Trigger({"c/aa.yaml": b""}, E, "c/aa.yaml:1:1", "empty"),
    "SC005": Trigger({"c/aa.yaml": manifest("aa", "job:\n\tcommand: [a]\n")}, E,
                     "c/aa.yaml:8:1", "tab"),
    "SC006": Trigger({"c/aa.yaml": manifest("aa", "---\n") + manifest("bb")}, E,
                     "c/aa.yaml:7:1", "more than one YAML document"),
    "SC007": Trigger({"c/aa.yaml": b"- a\n- b\n"}, E, "c/aa.yaml:1:1", "a list"),
    "SC008": Trigger({"c/aa.yaml": manifest("aa")}, E, "c/aa.yaml:1:1", "over the cap of 100 bytes",
                     {"max_bytes": 100}),
    "SC009": Trigger({"c/aa.yaml": manifest("aa", _BOMB)}, E,
                     "c/aa.yaml:10:5", "expand to more than 10,000 values"),
    "SC010": Trigger({"c/aa.yaml": FIFO}, E, "c/aa.yaml:1:1", "not a regular file"),
    "SC011": Trigger({"c/aa.yaml": manifest("aa", "create_only: !flag true\n")}, E,
                     "c/aa.yaml:7:14", "the tag '!flag' is not supported"),
    "SC012": Trigger({"c/aa.yaml": manifest("aa", "".join(f"k{i:03d}: 1\n" for i in range(120)))},
                     E, "c/aa.yaml:107:1", "20 more findings in this file are not shown"),
    "SC020": Trigger({"c/aa.yaml": manifest("aa").replace(b"status: Operational\n", b"")}, E,
                     "c/aa.yaml:1:1", "missing required key 'status'"),
    "SC021": Trigger({"c/aa.yaml": manifest("aa", "descripton: x\n")}, E,
                     "c/aa.yaml:7:1", "unknown key 'descripton'"),
    "SC022": Trigger({"c/aa.yaml": manifest("aa", "create_only: 1\n")}, E,
                     "c/aa.yaml:7:14", "create_only must be true or false, not the number 1"),
    "SC023": Trigger({"c/aa.yaml": manifest("aa").replace(b"Operational", b"Active")}, E,
                     "c/aa.yaml:6:9", "status is 'Active'"),
    "SC024": Trigger({"c/aa.yaml": manifest("aa", "job:\n  command: [a]\n  timeout_seconds: 0\n")},
                     E, "c/aa.yaml:9:20", "job.timeout_seconds is 0; the smallest allowed is 1"),
    "SC025": Trigger({"c/aa.yaml": manifest("aa", "additional_notification_email: ops\n")}, E,
                     "c/aa.yaml:7:32", "must be one email address"),
    "SC029": Trigger({"c/aa.yaml": manifest("aa", "max_concurrent_executions: 3\n"
                                                "create_only: true\n")}, E,
                     "c/aa.yaml:7:28", "is not a multiple of 2", {"schema": _CUSTOM_SCHEMA}),
    "SC040": Trigger({"c/aa.yaml": manifest("aa").replace(
        b"A connector for the rule tests, described at length.", b"Syncs.")}, W,
                     "c/aa.yaml:5:14", "the description has 6 characters; write at least 20"),
    "SC041": Trigger({"c/aa.yaml": manifest("aa", "max_concurrent_executions: 2\n")}, W,
                     "c/aa.yaml:7:28",
                     "max_concurrent_executions is 2 but create_only is not true"),
    "SC042": Trigger({"c/aa.yaml": manifest("aa", "max_concurrent_executions: 0\n")}, N,
                     "c/aa.yaml:7:28", "paused"),
    "SC043": Trigger({"c/aa.yaml": manifest("aa").replace(b"Operational", b"Setup")}, N,
                     "c/aa.yaml:6:9", "status is 'Setup'"),
    "SC044": Trigger({"c/aa.yaml": manifest("aa", "additional_notification_email: o@example.com\n"
                                                "additional_error_notification_email: "
                                                "o@example.com\n")}, W,
                     "c/aa.yaml:8:38", "both notification emails are o@example.com"),
    "SC045": Trigger({"c/aa.yaml": manifest("bb")}, N, "c/aa.yaml:3:11",
                     "the file is named 'aa' but its api_name is 'bb'"),
    "SC046": Trigger({"c/aa.yaml": manifest("aa", "connector_type: schedule\n")}, E,
                     "c/aa.yaml:7:17", "connector_type is schedule but there is no cadence"),
    "SC047": Trigger({"c/aa.yaml": manifest("aa", "connector_type: spreadsheet\n"
                                                "cadence: 3600\n")}, W,
                     "c/aa.yaml:8:10", "a spreadsheet connector does not use it"),
    "SC048": Trigger({"c/aa.yaml": manifest("aa", 'activity_object: "notes\\0"\n')}, E,
                     "c/aa.yaml:7:18", "activity_object: the text holds a NUL character"),
    "SC050": Trigger({"c/aa.yaml": manifest("aa"),
                      "c/sub/aa.yaml": manifest("aa", name="Other")}, E,
                     "c/sub/aa.yaml:3:11", "api_name 'aa' is already used by c/aa.yaml:3"),
    "SC051": Trigger({"c/aa.yaml": manifest("aa", name="Same"),
                      "c/bb.yaml": manifest("bb", name="Same")}, W,
                     "c/bb.yaml:4:7", "name 'Same' is already used by c/aa.yaml:4"),
}


def materialise(root: Path, files: dict[str, bytes]) -> None:
    for relpath, content in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == FIFO:
            os.mkfifo(path)
        else:
            path.write_bytes(content)


def run(tmp_path: Path, files: dict[str, bytes], **options: Any) -> list[Finding]:
    """Validate `files` (relative paths under tmp_path/c) with the library, paths shown relative."""
    materialise(tmp_path, files)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        return validate(["c"], **options).findings
    finally:
        os.chdir(cwd)


def render(findings: list[Finding]) -> list[str]:
    return [f"{f.location()}: {f.severity.value}[{f.rule}] {f.message}" for f in findings]


CHECKED_RULES = sorted(rid for rid in RULES if rid < "SC100")


@pytest.mark.parametrize("rule_id", CHECKED_RULES)
def test_every_rule_is_triggered(tmp_path: Path, rule_id: str) -> None:
    assert rule_id in TRIGGERS, f"add a case for {rule_id} ({RULES[rule_id].name}) to TRIGGERS"
    case = TRIGGERS[rule_id]
    findings = run(tmp_path, case.files, **case.options)
    hits = [f for f in findings if f.rule == rule_id]
    assert len(hits) == 1, render(findings)
    hit = hits[0]
    assert hit.severity is case.severity is RULES[rule_id].severity
    assert hit.location() == case.where, render(findings)
    assert case.words in hit.message


def test_every_trigger_names_a_known_rule() -> None:
    assert set(TRIGGERS) <= set(RULES)


def test_the_rule_table() -> None:
    for rid, rule in RULES.items():
        assert re.fullmatch(r"SC\d{3}", rid)
        assert rule.id == rid
        assert re.fullmatch(r"[a-z0-9-]+", rule.name), rid
        assert rule.summary.endswith(".") and rule.help, rid
    names = [RULES[rid].name for rid in CHECKED_RULES]
    assert len(names) == len(set(names))


FAMILIES = {"SC00": "yaml", "SC01": "yaml", "SC02": "schema", "SC03": "schema",
            "SC04": "settings", "SC05": "manifest-set", "SC10": "review", "SC11": "review",
            "SC12": "plan", "SC13": "plan"}


def test_every_rule_carries_what_sarif_and_the_docs_need() -> None:
    from scsync.cli.rules import all_rules

    for rule in all_rules():  # the core's, the review's and the plan's
        # fullDescription says more than shortDescription, and starts with it
        assert rule.details and rule.description == f"{rule.summary} {rule.details}", rule.id
        assert len(rule.details) > 40, rule.id
        assert rule.precision in {"very-high", "high", "medium", "low"}, rule.id
        tags = rule.all_tags
        assert tags[0] == FAMILIES[rule.id[:4]], rule.id
        assert len(tags) >= 2 and len(set(tags)) == len(tags), rule.id
        assert all(re.fullmatch(r"[a-z][a-z-]*", t) for t in tags), rule.id
        assert rule.anchor == rule.id.lower()
        assert rule.help_uri.endswith(f"/docs/rules.md#{rule.anchor}")


def test_the_rules_page_gives_every_rule_its_own_anchor(run_main: Any) -> None:
    code, out, _ = run_main("rules", "--format", "markdown")
    assert code == 0
    lines = out.splitlines()
    from scsync.cli.rules import all_rules

    for rule in all_rules():
        # `### SC024` is the heading GitHub anchors as #sc024; the table links to it
        assert lines.count(f"### {rule.id}") == 1, rule.id
        assert any(line.startswith(f"| [{rule.id}](#{rule.anchor}) |") for line in lines)
        section = lines[lines.index(f"### {rule.id}"):][:8]
        assert rule.description in section and f"**What to do:** {rule.help}" in section
    code, out, _ = run_main("rules", "--format", "json")
    sc024 = next(r for r in json.loads(out) if r["id"] == "SC024")
    assert (sc024["anchor"], sc024["tags"], sc024["precision"]) == (
        "sc024", ["schema", "correctness"], "very-high")
    assert sc024["help_uri"].endswith("docs/rules.md#sc024")


def test_a_rule_id_cannot_be_taken_twice() -> None:
    taken = RULES["SC001"]
    assert register(taken) is taken  # the same rule again is fine
    with pytest.raises(ValueError, match="SC001 is already taken by yaml-syntax"):
        register(Rule("SC001", "something-else", Severity.ERROR, "Other.", "Other."))
    assert RULES["SC001"] is taken


# -- one connector's settings ------------------------------------------------------

def rules_of(tmp_path: Path, extra: str, *, api: str = "aa") -> list[tuple[str, str]]:
    found = run(tmp_path, {f"c/{api}.yaml": manifest(api, extra)})
    return [(f.rule, f.severity.value) for f in found]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("max_concurrent_executions: 1\n", []),
        ("max_concurrent_executions: 2\n", [("SC041", "warning")]),
        ("max_concurrent_executions: 2\ncreate_only: false\n", [("SC041", "warning")]),
        ("max_concurrent_executions: 2\ncreate_only: true\n", []),
        ("max_concurrent_executions: 100\ncreate_only: true\n", []),
        ("max_concurrent_executions: 0\n", [("SC042", "notice")]),
        ("max_concurrent_executions: 0\ncreate_only: true\n", [("SC042", "notice")]),
        ("", []),
    ],
)
def test_concurrency(tmp_path: Path, extra: str, expected: list[tuple[str, str]]) -> None:
    assert rules_of(tmp_path, extra) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Operational", []),
        ("Operational - Needs Attention", []),
        ("Inactive", [("SC043", "notice")]),
        ("Setup", [("SC043", "notice")]),
    ],
)
def test_statuses_that_do_not_execute(
    tmp_path: Path, status: str, expected: list[tuple[str, str]]
) -> None:
    found = run(tmp_path, {"c/aa.yaml": manifest("aa").replace(b"Operational", status.encode())})
    assert [(f.rule, f.severity.value) for f in found] == expected


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("ops@example.com", "ops@example.com", True),
        ("ops@example.com", "OPS@Example.com", True),
        ("ops@example.com", "oncall@example.com", False),
    ],
)
def test_the_same_address_twice(tmp_path: Path, first: str, second: str, same: bool) -> None:
    extra = (
        f"additional_notification_email: {first}\n"
        f"additional_error_notification_email: {second}\n"
    )
    assert rules_of(tmp_path, extra) == ([("SC044", "warning")] if same else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "c/aa.yaml:1:1: warning[SC040] no description"),
        ("'   Short text.     '",
         "c/aa.yaml:5:14: warning[SC040] the description has 11 characters"),
        ("Exactly twenty chars", None),
        ("''", "c/aa.yaml:5:14: warning[SC040] the description has 0 characters"),
    ],
)
def test_description_length(tmp_path: Path, text: str | None, expected: str | None) -> None:
    content = manifest("aa")
    old = b"description: A connector for the rule tests, described at length.\n"
    content = content.replace(old, b"" if text is None else f"description: {text}\n".encode())
    found = render(run(tmp_path, {"c/aa.yaml": content}))
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(expected), found


def test_file_name_rules(tmp_path: Path) -> None:
    found = run(tmp_path, {
        "c/aa.yml": manifest("aa"),  # .yml is as good as .yaml
        "c/legacy-name.yaml": manifest("real_name"),
        "c/Bad.yaml": manifest("Bad-Name"),  # the schema already refuses this api_name
    })
    by_rule = [(f.path, f.rule) for f in found]
    assert ("c/aa.yml", "SC045") not in by_rule
    assert ("c/legacy-name.yaml", "SC045") in by_rule
    assert ("c/Bad.yaml", "SC045") not in by_rule
    hint = next(f.hint for f in found if f.rule == "SC045")
    assert hint == "rename the file to real_name.yaml"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("connector_type: schedule\n", [("SC046", "error")]),
        ("connector_type: schedule\ncadence: 3600\n", []),
        ("connector_type: webhook\n", []),
        ("connector_type: webhook\ncadence: 60\n", []),
        ("connector_type: activity\ncadence: 60\n", [("SC047", "warning")]),
        ("connector_type: direct_api_connection\ncadence: 60\n", [("SC047", "warning")]),
        ("cadence: 60\n", []),
        ("connector_type: spreadsheet\ncustom_object: client_client\n", []),
    ],
)
def test_cadence_follows_the_connector_type(
    tmp_path: Path, extra: str, expected: list[tuple[str, str]]
) -> None:
    assert rules_of(tmp_path, extra) == expected


def test_settings_rules_still_run_when_the_schema_refuses_the_file(tmp_path: Path) -> None:
    extra = "max_concurrent_executions: 3\nownr: data-team\n"
    assert rules_of(tmp_path, extra) == [("SC041", "warning"), ("SC021", "error")]


# -- the set ---------------------------------------------------------------------


def test_a_duplicate_api_name_names_both_files_and_lines_across_folders(tmp_path: Path) -> None:
    found = run(tmp_path, {
        "c/team_a/orders.yaml": manifest("orders", name="Orders A"),
        "c/team_b/nested/deeper/orders_copy.yaml": b"# a copy\n" + manifest("orders", name="B"),
        "c/zz/orders.yml": manifest("orders", name="Orders C"),
    })
    dups = [f for f in found if f.rule == "SC050"]
    assert render(dups) == [
        "c/team_b/nested/deeper/orders_copy.yaml:4:11: error[SC050] api_name 'orders' is "
        "already used by c/team_a/orders.yaml:3",
        "c/zz/orders.yml:3:11: error[SC050] api_name 'orders' is already used by "
        "c/team_a/orders.yaml:3",
    ]
    assert all(f.pointer == "/api_name" for f in dups)


def test_a_duplicate_name_is_a_warning_whatever_its_case_and_spacing(tmp_path: Path) -> None:
    found = run(tmp_path, {
        "c/one/aa.yaml": manifest("aa", name="Orders  Sync"),
        "c/two/bb.yaml": manifest("bb", name="orders sync"),
        "c/two/cc.yaml": manifest("cc", name="Orders Sync v2"),
    })
    assert render(found) == [
        "c/two/bb.yaml:4:7: warning[SC051] name 'orders sync' is already used by c/one/aa.yaml:4",
    ]


def test_distinct_names_pass_together(tmp_path: Path) -> None:
    files = {f"c/g{i % 3}/conn_{i}.yaml": manifest(f"conn_{i}") for i in range(12)}
    assert run(tmp_path, files) == []


def test_a_broken_file_does_not_hide_a_duplicate_in_the_others(tmp_path: Path) -> None:
    found = run(tmp_path, {
        "c/aa.yaml": manifest("aa"),
        "c/bb.yaml": b"key: [unclosed\n",
        "c/cc.yaml": manifest("aa", name="Another"),
    })
    assert [(f.path, f.rule) for f in found] == [
        ("c/bb.yaml", "SC001"), ("c/cc.yaml", "SC045"), ("c/cc.yaml", "SC050")
    ]
