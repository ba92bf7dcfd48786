"""scsync.checks.schema and the schema itself: errors on the YAML node's own line, with hints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scsync.checks.pipeline import FileChecker
from scsync.checks.schema import SchemaChecker, load_schema
from scsync.errors import SchemaLoadError
from scsync.findings import Finding, Severity
from scsync.manifest.loader import load_bytes

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = REPO_ROOT / "schemas" / "smartconnector.schema.json"

# Lines 1-6 of every manifest below; the line under test is line 7 or later.
HEAD = (
    "apiVersion: scsync/v1\n"
    "kind: SmartConnector\n"
    "api_name: schema_test\n"
    "name: Schema Test\n"
    "description: Checks one setting of the schema at a time.\n"
    "status: Operational\n"
)

_CHECKER = SchemaChecker(load_schema())


def schema_findings(text: str, schema: dict[str, Any] | None = None) -> list[Finding]:
    loaded = load_bytes(text.encode(), "m.yaml")
    assert loaded.document is not None, loaded.findings
    checker = _CHECKER if schema is None else SchemaChecker(schema)
    return checker.check(loaded.document)


def one(text: str) -> Finding:
    found = schema_findings(text)
    assert len(found) == 1, [f"{f.rule} {f.line}:{f.column} {f.message}" for f in found]
    assert found[0].severity is Severity.ERROR
    return found[0]


# -- the schema file ---------------------------------------------------------------


def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text("utf-8"))
    return data


def _properties(schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, sub in schema.get("properties", {}).items():
        yield prefix + name, sub
        yield from _properties(sub, f"{prefix}{name}.")


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = _schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_property_has_a_description() -> None:
    props = dict(_properties(_schema()))
    assert {"job", "job.command", "job.timeout_seconds", "job.env", "job.working_dir"} <= set(props)
    missing = [name for name, sub in props.items() if not str(sub.get("description", "")).strip()]
    assert missing == []


def test_every_example_and_default_passes_its_own_property() -> None:
    for name, sub in _properties(_schema()):
        validator = Draft202012Validator(sub)
        for value in [*sub.get("examples", []), *([sub["default"]] if "default" in sub else [])]:
            errors = [e.message for e in validator.iter_errors(value)]
            assert errors == [], (name, value, errors)


def _example(schema: dict[str, Any]) -> Any:
    if "examples" in schema:
        return schema["examples"][0]
    return {name: _example(sub) for name, sub in schema["properties"].items()}


def test_the_first_examples_make_a_manifest_without_errors() -> None:
    """What an editor offers while typing must itself pass, every setting included."""
    schema = _schema()
    manifest = _example(schema)
    assert set(manifest) == set(schema["properties"])
    assert list(Draft202012Validator(schema).iter_errors(manifest)) == []


# -- SC020 missing keys --------------------------------------------------------------


def test_each_missing_required_key_is_reported_with_an_example() -> None:
    found = schema_findings("# a manifest with only a name\nname: Only A Name\n")
    missing = [f for f in found if f.rule == "SC020"]
    assert [f.message for f in missing] == [
        f"missing required key '{key}' in the document"
        for key in ("apiVersion", "kind", "api_name", "status")
    ]
    assert {(f.line, f.column) for f in missing} == {(2, 1)}  # the mapping, not the comment
    assert missing[0].hint is not None and "add `apiVersion: scsync/v1`" in missing[0].hint


def test_a_missing_nested_key_points_at_its_mapping() -> None:
    f = one(HEAD + "job:\n  timeout_seconds: 60\n")
    assert (f.rule, f.line, f.column, f.pointer) == ("SC020", 8, 3, "/job")
    assert (f.end_line, f.end_column) == (8, 22)  # the whole mapping that lacks it
    assert "missing required key 'command' in job" in f.message


# -- SC021 unknown keys ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col", "key", "suggestion"),
    [
        ("descripton: x\n", 7, 1, "descripton", "description"),
        ("stauts: x\n", 7, 1, "stauts", "status"),
        ("max_concurrent_execution: 1\n", 7, 1, "max_concurrent_execution",
         "max_concurrent_executions"),
        ("job:\n  command: [a]\n  timout_seconds: 5\n", 9, 3, "timout_seconds", "timeout_seconds"),
    ],
)
def test_a_misspelt_key_gets_did_you_mean(
    text: str, line: int, col: int, key: str, suggestion: str
) -> None:
    f = one(HEAD + text)
    assert (f.rule, f.line, f.column) == ("SC021", line, col)
    assert (f.end_line, f.end_column) == (line, col + len(key))  # the key, not its value
    assert f"unknown key '{key}'" in f.message
    assert f.hint == f"did you mean '{suggestion}'?"


def test_an_unrelated_key_gets_the_allowed_keys() -> None:
    f = one(HEAD + "owner: data-team\n")
    assert (f.rule, f.line, f.column, f.pointer) == ("SC021", 7, 1, "/owner")
    assert f.hint is not None and f.hint.startswith("allowed keys: ")
    assert "api_name" in f.hint and "execution_ended_webhook_url" in f.hint


def test_a_file_of_thousands_of_unknown_keys_gets_100_findings_then_a_count() -> None:
    text = HEAD + "".join(f"k{i:04d}: 1\n" for i in range(3_000))
    found = FileChecker(load_schema()).check_bytes(text.encode(), "schema_test.yaml").findings
    assert len(found) == 101
    assert [f.line for f in found[:100]] == list(range(7, 107))
    assert {f.rule for f in found[:100]} == {"SC021"}
    assert all(f.hint for f in found[:100])
    last = found[100]
    assert (last.rule, last.severity, last.line, last.column) == ("SC012", Severity.ERROR, 107, 1)
    assert last.message == "2,900 more findings in this file are not shown (the first 100 are)"


# -- SC022 types -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line7", "message", "hint"),
    [
        ('max_concurrent_executions: "4"', "must be a whole number, not the string '4'",
         "write 4 without quotes"),
        ("max_concurrent_executions: 1.5", "must be a whole number, not the number 1.5", None),
        ("create_only: yes", "must be true or false, not the string 'yes'", "without quotes"),
        ("create_only: 'false'", "must be true or false, not the string 'false'",
         "write true or false"),
        ("additional_notification_email: 42", "must be a string, not the number 42",
         "put the value in quotes: '42'"),
        ("additional_notification_email: true", "must be a string, not the boolean true",
         "put the value in quotes: 'true'"),
        ("job: [python, run.py]", "job must be a mapping, not a list", None),
    ],
)
def test_wrong_types_say_what_was_expected(line7: str, message: str, hint: str | None) -> None:
    f = one(HEAD + line7 + "\n")
    assert (f.rule, f.line) == ("SC022", 7)
    assert f.column == line7.index(":") + 3
    assert message in f.message
    if hint is None:
        assert f.hint is None
    else:
        assert f.hint is not None and hint in f.hint


def test_an_email_list_gets_its_own_message() -> None:
    f = one(HEAD + "additional_error_notification_email:\n  - a@example.com\n  - b@example.com\n")
    assert (f.rule, f.line, f.column) == ("SC022", 8, 3)
    assert f.message == (
        "additional_error_notification_email takes one email address, not a list of 2"
    )
    assert f.hint is not None and "distribution list" in f.hint


def test_a_type_error_deep_in_the_job_points_at_the_node() -> None:
    f = one(HEAD + "job:\n  command: [python, 3]\n")
    assert (f.rule, f.line, f.column, f.pointer) == ("SC022", 8, 21, "/job/command/1")
    assert (f.end_line, f.end_column) == (8, 22)
    assert f.message.startswith("job.command[1] must be a string")


def test_a_long_key_is_cut_in_the_message_but_not_in_the_pointer() -> None:
    key = "K" * 5_000  # an explicit key: a plain one stops at 1,024 characters
    found = schema_findings(HEAD + f"job:\n  command: [a]\n  env:\n    ? {key}\n    : 1\n")
    # The name itself is over the 128 characters the executor takes: refused too.
    assert sorted(f.rule for f in found) == ["SC022", "SC025"]
    f = next(f for f in found if f.rule == "SC022")
    assert f.message == f"job.env.{'K' * 59}… (5,000 characters) must be a string, not the number 1"
    assert f.pointer == f"/job/env/{key}"
    assert (f.line, f.column, f.end_line, f.end_column) == (11, 7, 11, 8)


# -- SC023 values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("operational", "did you mean 'Operational'? (the spelling must match exactly)"),
        ("OPERATIONAL", "did you mean 'Operational'? (the spelling must match exactly)"),
        ('"Operational "', "remove the surrounding whitespace: 'Operational'"),
        ('" Inactive"', "remove the surrounding whitespace: 'Inactive'"),
        ("Operational-Needs Attention", "did you mean 'Operational - Needs Attention'?"),
        ("operational - needs attention",
         "did you mean 'Operational - Needs Attention'? (the spelling must match exactly)"),
        ("Inactve", "did you mean 'Inactive'?"),
        ("Running", None),
    ],
)
def test_status_near_misses_name_the_right_spelling(written: str, hint: str | None) -> None:
    f = one(HEAD.replace("status: Operational", f"status: {written}"))
    assert (f.rule, f.line, f.column, f.pointer) == ("SC023", 6, 9, "/status")
    assert f.message.endswith(
        "it must be one of 'Operational', 'Operational - Needs Attention', 'Inactive', 'Setup'"
    )
    assert f.hint == hint


@pytest.mark.parametrize("status", ["Operational", "Operational - Needs Attention", "Inactive",
                                    "Setup"])
def test_the_four_statuses_pass(status: str) -> None:
    assert schema_findings(HEAD.replace("status: Operational", f"status: {status}")) == []


# -- SC024 limits ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line7", "ok"),
    [
        ("max_concurrent_executions: 0", True),
        ("max_concurrent_executions: 100", True),
        ("max_concurrent_executions: 101", False),
        ("max_concurrent_executions: -1", False),
        ("job: {command: [a], timeout_seconds: 1}", True),
        ("job: {command: [a], timeout_seconds: 86400}", True),
        ("job: {command: [a], timeout_seconds: 86401}", False),
        ("job: {command: [a], timeout_seconds: 0}", False),
        ("job: {command: []}", False),
        ("job: {command: ['']}", False),
        ("name: " + "n" * 255, True),
        ("name: " + "n" * 256, False),
        ("description: " + "d" * 2000, True),
        ("description: " + "d" * 2001, False),
    ],
    ids=lambda v: v if isinstance(v, bool) or len(v) < 50 else v[:40] + "...",
)
def test_limits(line7: str, ok: bool) -> None:
    key = line7.split(":")[0]
    text = "\n".join(
        line for line in HEAD.splitlines() if not line.startswith(key + ":")
    ) + "\n" + line7 + "\n"
    found = schema_findings(text)
    if ok:
        assert found == []
    else:
        assert [f.rule for f in found] == ["SC024"]
        assert found[0].line == text.count("\n")  # the line under test sits last


# -- SC025 forms -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/scsync",
        "https://hooks.example.com",
        "https://hooks.example.com:8443/x?y=1#z",
        "http://localhost:8080/x",
        "http://localhost",
        "http://127.0.0.1/x",
        "http://127.0.0.1:9000",
        "http://[::1]:8080/hook",
    ],
)
def test_webhook_urls_accepted(url: str) -> None:
    assert schema_findings(HEAD + f"execution_ended_webhook_url: {url}\n") == []


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "http://localhost.attacker.example/x",
        "http://127.0.0.1.attacker.example/x",
        "http://localhost@attacker.example/x",
        "https://user@hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "hooks.example.com/x",
        "https://",
    ],
)
def test_webhook_urls_refused(url: str) -> None:
    f = one(HEAD + f"execution_ended_webhook_url: {url}\n")
    assert (f.rule, f.line, f.column) == ("SC025", 7, 30)
    assert "must be an https:// URL (plain http:// only for localhost or 127.0.0.1)" in f.message
    if url.startswith("http://"):
        assert f.hint == "use https://; plain http is allowed only for localhost and 127.0.0.1"


@pytest.mark.parametrize(
    ("address", "ok", "hint"),
    [
        ("ops@example.com", True, None),
        ("first.last+scsync@data.example.co.uk", True, None),
        ("ops", False, None),
        ("ops@example", False, None),
        ("ops@example.com, data@example.com", False, "one address only"),
        ("ops@example.com;data@example.com", False, "one address only"),
        ("'Ops <ops@example.com>'", False, None),
        ("o\ufeffps@example.com", False, None),  # a zero-width no-break space, as the API
    ],
)
def test_notification_emails(address: str, ok: bool, hint: str | None) -> None:
    found = schema_findings(HEAD + f"additional_notification_email: {address}\n")
    if ok:
        assert found == []
        return
    assert [(f.rule, f.line, f.column) for f in found] == [("SC025", 7, 32)]
    assert "must be one email address" in found[0].message
    assert (found[0].hint is None) if hint is None else (hint in str(found[0].hint))


@pytest.mark.parametrize(
    ("api_name", "example"),
    [
        ("HubSpot-Contacts", "hubspot_contacts"),
        ("9lives", "c_9lives"),
        ("web leads", "web_leads"),
        ("_private", "private"),
    ],
)
def test_a_bad_api_name_gets_an_example(api_name: str, example: str) -> None:
    f = one(HEAD.replace("api_name: schema_test", f"api_name: '{api_name}'"))
    assert (f.rule, f.line, f.column, f.pointer) == ("SC025", 3, 11, "/api_name")
    assert f.hint == f"for example '{example}'"


@pytest.mark.parametrize("api_name", ["a", "a" * 65])
def test_an_api_name_of_the_wrong_length_is_one_finding_not_two(api_name: str) -> None:
    # The pattern carries the length rule; a separate minLength/maxLength would
    # report the same mistake twice on the same node.
    f = one(HEAD.replace("api_name: schema_test", f"api_name: {api_name}"))
    assert (f.rule, f.pointer) == ("SC025", "/api_name")
    assert "2 to 64 characters" in f.message


@pytest.mark.parametrize("api_name", ["ab", "a" * 64, "x_1", "hubspot_contacts_v2"])
def test_good_api_names(api_name: str) -> None:
    assert schema_findings(HEAD.replace("api_name: schema_test", f"api_name: {api_name}")) == []


@pytest.mark.parametrize(
    ("working_dir", "ok"),
    [("jobs", True), ("jobs/nightly", True), ("./jobs", True), ("jobs/..x", True),
     ("/etc", False), ("../up", False), ("jobs/../../up", False), ("C:/jobs", False)],
)
def test_working_dir_stays_inside_the_repository(working_dir: str, ok: bool) -> None:
    found = schema_findings(HEAD + f"job:\n  command: [a]\n  working_dir: '{working_dir}'\n")
    if ok:
        assert found == []
    else:
        assert [(f.rule, f.line, f.column, f.pointer) for f in found] == [
            ("SC025", 9, 16, "/job/working_dir")
        ]


def test_a_bad_env_name_points_at_the_key_not_the_mapping() -> None:
    f = one(HEAD + "job:\n  command: [a]\n  env:\n    GOOD: x\n    2FA: y\n")
    assert (f.rule, f.line, f.column, f.pointer) == ("SC025", 11, 5, "/job/env/2FA")
    assert (f.end_line, f.end_column) == (11, 8)
    assert "the key '2FA' in job.env is not allowed" in f.message


@pytest.mark.parametrize(
    ("text", "span", "pointer", "char"),
    [
        ("additional_notification_email: |\n  ops@example.com\n", (7, 32, 8, 18),
         "/additional_notification_email", "U+000A"),
        ("job:\n  command: [a]\n  working_dir: |\n    jobs\n", (9, 16, 10, 9),
         "/job/working_dir", "U+000A"),
    ],
    ids=["block-scalar-email", "block-scalar-newline"],
)
def test_regex_dialect_differences_are_still_placed_on_the_node(
    text: str, span: tuple[int, int, int, int], pointer: str, char: str
) -> None:
    """JSON Schema patterns are ECMA-262: `$` is not before a final newline, unlike in
    Python's `re.search`.  jsonschema-rs refuses these; the finding must still sit on the
    value's line, and say which character hides there."""
    f = one(HEAD + text)
    assert (f.rule, f.pointer) == ("SC029", pointer)
    assert (f.line, f.column, f.end_line, f.end_column) == span  # the jsonschema-rs path too
    assert "does not match" in f.message
    assert f.hint is not None and f"invisible character ({char})" in f.hint


@pytest.mark.parametrize(
    "url",
    ["https://hooks.e\ufeffxample.com/x", "https://example.com:99999/h",
     "https://example.com:abc/h", "https://exa mple.com/h", "https://user:pw@example.com/h"],
    ids=["zero-width-host", "port-too-large", "port-not-a-number", "space-in-host", "userinfo"],
)
def test_a_webhook_url_the_executor_would_refuse_is_refused_here(url: str) -> None:
    # The schema must be at least as strict as the executor, or the mistake is
    # found only at apply time.
    f = one(HEAD + f"execution_ended_webhook_url: '{url}'\n")
    assert (f.rule, f.line, f.pointer) == ("SC025", 7, "/execution_ended_webhook_url")


def test_an_email_the_executor_would_refuse_is_refused_here() -> None:
    f = one(HEAD + "additional_notification_email: crm(ops)@example.com\n")
    assert (f.rule, f.pointer) == ("SC025", "/additional_notification_email")


# -- --schema ----------------------------------------------------------------------


def test_a_custom_schema_replaces_the_bundled_one(tmp_path: Path) -> None:
    path = tmp_path / "custom.json"
    path.write_text(json.dumps({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["owner"],
        "properties": {"max_concurrent_executions": {"multipleOf": 2}},
    }))
    schema = load_schema(str(path))
    found = schema_findings(HEAD + "max_concurrent_executions: 3\n", schema)
    assert [(f.rule, f.line, f.column) for f in found] == [("SC020", 1, 1), ("SC029", 7, 28)]
    assert "missing required key 'owner'" in found[0].message
    assert "max_concurrent_executions: 3 is not a multiple of 2" in found[1].message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "cannot read the schema"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"type": 12}', "is not a valid JSON Schema at /type"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
    ],
    ids=["missing", "not-json", "not-an-object", "invalid-schema", "not-utf8"],
)
def test_a_bad_schema_file_is_an_error(
    tmp_path: Path, content: str | bytes | None, words: str
) -> None:
    path = tmp_path / "schema.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SchemaLoadError, match=words):
        load_schema(str(path))


def test_the_bundled_schema_is_used_by_default() -> None:
    assert load_schema() == _schema()

