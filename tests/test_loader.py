"""scsync.manifest.loader: strict YAML loading, one test per bad-input class.

The files are made as bytes here (latin-1, UTF-16, a BOM with CRLF, tabs), so
no odd-encoded file is committed for an editor or a hook to "fix".
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.events import NodeEvent

from scsync.checks.pipeline import FileChecker
from scsync.checks.schema import load_schema
from scsync.findings import Finding, Severity, Span
from scsync.manifest.bounds import MAX_FINDINGS, bounded
from scsync.manifest.loader import DEFAULT_MAX_BYTES, LoadResult, load_bytes, load_path
from scsync.manifest.yaml12 import StrictParser

GOOD = (
    "apiVersion: scsync/v1\n"
    "kind: SmartConnector\n"
    "api_name: loader_test\n"
    "name: Loader Test\n"
    "status: Operational\n"
)


_CHECKER = FileChecker(load_schema())


def load(content: str | bytes, path: str = "m.yaml", **kwargs: int) -> LoadResult:
    raw = content.encode("utf-8") if isinstance(content, str) else content
    return load_bytes(raw, path, **kwargs)


def only(result: LoadResult) -> Finding:
    """The one finding of a refused file."""
    assert result.document is None
    assert len(result.findings) == 1, result.findings
    finding = result.findings[0]
    assert finding.severity is Severity.ERROR
    return finding


def where(f: Finding) -> tuple[str, int, int]:
    return f.rule, f.line, f.column


def test_a_good_manifest_loads_with_positions() -> None:
    result = load(GOOD + "job:\n  command: [python, run.py]\n  env:\n    MODE: full\n")
    assert result.findings == []
    doc = result.document
    assert doc is not None
    assert doc.data["job"] == {"command": ["python", "run.py"], "env": {"MODE": "full"}}
    assert doc.locate(["status"]) == (5, 9)
    assert doc.locate(["job", "command", 1]) == (7, 21)
    assert doc.locate(["job", "env", "MODE"], key=True) == (9, 5)


def test_locations_carry_the_node_extent() -> None:
    doc = load(GOOD + "job:\n  command: [python, run.py]\n  env:\n    MODE: full\n").document
    assert doc is not None
    assert doc.span(["status"]) == Span(5, 9, 5, 20)  # a scalar: after its last character
    assert doc.span(["job", "env", "MODE"], key=True) == Span(9, 5, 9, 9)  # a key
    assert doc.span(["job", "command"]) == Span(7, 12, 7, 28)  # a flow list, brackets included
    assert doc.span(["job"]) == Span(7, 3, 9, 15)  # a block mapping: to the end of its last value
    assert doc.span(["job", "env", "MODE", "deeper"]) == doc.span(["job", "env", "MODE"])


@pytest.mark.parametrize(
    ("text", "parts", "span"),
    [
        # a block scalar ends after its last line's text, not after its line breaks
        ("description: |\n  line one\n  line two\n\nx: 1\n", ["description"], (6, 14, 8, 11)),
        ("description: >-\n  folded\n  text\nx: 1\n", ["description"], (6, 14, 8, 7)),
        # a block mapping ends at its last value, not at the comments after it
        ("job:\n  command: [a]  # why\n# a comment\n\nx: 1\n", ["job"], (7, 3, 7, 15)),
        # a list whose last item is an alias ends where its last item does
        ("x: &x [1]\nl:\n  - a\n  - *x\n", ["l"], (8, 3, 9, 7)),
        ("a: 'quoted\n  on two lines'\n", ["a"], (6, 4, 7, 16)),
        ("a:\n", ["a"], (6, 3, 6, 3)),  # an empty value: no width
    ],
    ids=["literal", "folded", "comment-after", "alias-last", "quoted-two-lines", "empty"],
)
def test_extents_end_on_the_last_character_shown(
    text: str, parts: list[str], span: tuple[int, int, int, int]
) -> None:
    doc = load(GOOD + text).document
    assert doc is not None
    assert doc.span(parts) == Span(*span)


# -- duplicate keys ------------------------------------------------------------


def test_duplicate_key_names_both_lines() -> None:
    f = only(load(GOOD + "status: Inactive\n"))
    assert where(f) == ("SC002", 6, 1)
    assert "duplicate key 'status'" in f.message
    assert "first defined on line 5, again on line 6" in f.message


def test_a_duplicate_key_finding_covers_the_repeated_key() -> None:
    f = only(load(GOOD + "status: Inactive\n"))
    assert (f.line, f.column, f.end_line, f.end_column) == (6, 1, 6, 7)
    assert f.pointer == "/status"


def test_a_duplicate_in_a_mapping_reached_again_by_an_alias_is_reported_once() -> None:
    result = load(GOOD + "x: &x {a: 1, a: 2}\ny: *x\nz: *x\n")
    assert [where(f) for f in result.findings] == [("SC002", 6, 14)]


def test_thousands_of_duplicate_keys_give_the_first_100_then_a_count() -> None:
    result = load(GOOD + "job:\n  command: [a]\n" + "  command: [b]\n" * 250)
    assert result.document is None
    findings = result.findings
    assert len(findings) == MAX_FINDINGS + 1 == 101
    assert {f.rule for f in findings[:100]} == {"SC002"}
    assert [f.line for f in findings[:100]] == list(range(8, 108))
    assert {f.pointer for f in findings[:100]} == {"/job/command"}
    last = findings[100]
    assert (last.rule, last.severity, last.line, last.column) == ("SC012", Severity.ERROR, 108, 3)
    assert last.message == "150 more findings in this file are not shown (the first 100 are)"


def test_every_duplicate_key_is_reported_nested_ones_too() -> None:
    result = load(GOOD + "name: Again\njob:\n  command: [a]\n  command: [b]\n")
    assert [where(f) for f in result.findings] == [("SC002", 6, 1), ("SC002", 9, 3)]
    assert "first defined on line 8, again on line 9" in result.findings[1].message


# -- YAML 1.2 scalars ----------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("on", "on"), ("off", "off"), ("yes", "yes"), ("no", "no"), ("y", "y"), ("Yes", "Yes"),
        ("010", 10), ("0o17", 15), ("0x1F", 31), ("-3", -3), ("1_000", "1_000"),
        ("true", True), ("False", False), ("~", None), ("null", None), ("", None),
        ("1.5", 1.5), ("2001-12-14", "2001-12-14"), ("'010'", "010"), ('"true"', "true"),
        ("!!str 010", "010"), ("!!int '7'", 7), ("!!float 1", 1.0),
    ],
    ids=repr,
)
def test_scalars_follow_yaml_1_2(written: str, value: object) -> None:
    result = load(f"value: {written}\n")
    assert result.findings == []
    assert result.document is not None
    got = result.document.data["value"]
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("!!bool yes", "'yes' is not a valid !!bool value"),
        ("!!null nothing", "'nothing' is not a valid !!null value"),
        ("!!int 1_000", "'1_000' is not a valid !!int value"),
    ],
)
def test_an_explicit_core_tag_needs_a_value_of_its_yaml_1_2_form(
    written: str, message: str
) -> None:
    f = only(load(f"a: 1\nvalue: {written}\n"))
    assert where(f) == ("SC011", 2, 8)
    assert message in f.message


# -- aliases ---------------------------------------------------------------------


def _alias_bomb(levels: int, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [9, 30])
def test_an_alias_bomb_is_refused(levels: int) -> None:
    # 10**levels values once expanded; how fast it fails is bench/bench_hostile.py's
    text = _alias_bomb(levels)
    f = only(load(text))
    assert f.rule == "SC009"
    assert "anchors and aliases expand to more than 10,000 values" in f.message
    assert f.line > 1


def test_a_few_aliases_are_fine() -> None:
    result = load(GOOD + "x: &x [a, b]\ny: *x\nz: *x\n")
    assert result.findings == []
    assert result.document is not None
    assert result.document.data["z"] == ["a", "b"]


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 100_000 + "]" * 100_000 + "\n",
        # Under scsync's own pre-check threshold, past libyaml's 1,000-level limit
        # (PyYAML >= 6.0.4): the parser's own depth error is SC009 too.
        "a: " + "[" * 1_500 + "]" * 1_500 + "\n",
        "a: " + "{b: " * 200 + "c" + "}" * 200 + "\n",
        "".join(" " * i + f"k{i}:\n" for i in range(200)) + " " * 200 + "v: 1\n",
    ],
    ids=["flow-sequences", "flow-sequences-libyaml-limit", "flow-mappings", "block-mappings"],
)
def test_deep_nesting_is_refused_not_a_crash(text: str) -> None:
    f = only(load(text))
    assert f.rule == "SC009"
    assert "nest deeper than 64 levels" in f.message


@pytest.mark.parametrize(
    "text",
    [
        "# " + "[" * 100 + "\n",
        "description: '" + "{" * 100 + "'\n",
        "description: |\n  " + "- " * 100 + "\n  " + ": " * 100 + "\n",
    ],
    ids=["comment", "quoted", "block-scalar"],
)
def test_brackets_and_dashes_in_text_are_not_nesting(text: str) -> None:
    assert load(GOOD + text).findings == []


# -- size ------------------------------------------------------------------------


def test_the_size_cap_is_one_mebibyte_by_default(tmp_path: Path) -> None:
    assert DEFAULT_MAX_BYTES == 1024 * 1024
    body = GOOD + "description: "
    at_cap = tmp_path / "at_cap.yaml"
    at_cap.write_text(body + "x" * (DEFAULT_MAX_BYTES - len(body) - 1) + "\n")
    assert at_cap.stat().st_size == DEFAULT_MAX_BYTES
    assert load_path(str(at_cap)).findings == []

    over = tmp_path / "over.yaml"
    over.write_text(body + "x" * (DEFAULT_MAX_BYTES - len(body)) + "\n")
    f = only(load_path(str(over)))
    assert f.rule == "SC008"
    assert "1,048,577 bytes, over the cap of 1,048,576 bytes" in f.message


def test_the_size_cap_can_be_changed(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(GOOD)
    assert only(load_path(str(path), max_bytes=50)).rule == "SC008"
    assert only(load(GOOD, max_bytes=50)).rule == "SC008"
    assert load_path(str(path), max_bytes=len(GOOD)).findings == []


# -- the number of values ------------------------------------------------------


def test_more_than_10000_values_are_refused_where_the_count_passes_the_bound() -> None:
    # The root and GOOD's five entries are 11 values; k4994's value is the 10,001st.
    f = only(load(GOOD + "".join(f"k{i}: {i}\n" for i in range(5_000))))
    assert where(f) == ("SC009", 5000, 8)
    assert f.message.startswith("the file holds more than 10,000 values")


@pytest.mark.parametrize(
    "text",
    [
        "a: [" + "1," * 20_000 + "1]\n",
        "a: &a 1\nb: [" + "*a," * 10_000 + "*a]\n",  # an alias is a value too
        "a:\n" + "- 1\n" * 20_000,
        "a: [" + "{b: 1}," * 5_000 + "{}]\n",
        "a: [" + "1," * 20_000,  # and before the syntax error at the end
    ],
    ids=["flow-list", "aliases", "block-list", "flow-mappings", "unclosed"],
)
def test_any_kind_of_value_counts(text: str) -> None:
    f = only(load(text))
    assert f.rule == "SC009"
    assert "more than 10,000 values" in f.message


def test_a_manifest_as_large_as_the_executor_takes_loads() -> None:
    # 1,000 arguments and 500 variables (the executor's limits), full of indicator
    # bytes: past the byte-level bound, so the values are counted, and allowed.
    text = (
        GOOD + "job:\n  command:\n"
        + "".join(f"    - --flag-{i}=a-b-c\n" for i in range(1_000))
        + "  env:\n"
        + "".join(f"    VAR_{i}: https://x-{i}.example.com/a-b?c=d\n" for i in range(500))
    )
    result = load(text)
    assert result.findings == []
    assert result.document is not None
    assert len(result.document.data["job"]["command"]) == 1_000
    assert len(result.document.data["job"]["env"]) == 500


# Each indicator byte brings at most three values: the claim check_shape's
# shortcut rests on (a file under the bound is never counted).
_YAMLISH = st.text(alphabet="[]{},:-?&*!|>'\"# \n\tab1", max_size=60)


@settings(max_examples=400, deadline=None)
@given(_YAMLISH)
def test_values_never_outnumber_three_per_indicator_byte(text: str) -> None:
    raw = text.encode()
    bound = 3 * sum(map(raw.count, (b"[", b"{", b"-", b":", b"?", b","))) + 1
    parser = StrictParser(raw)
    nodes = 0
    try:
        while (event := parser.get_event()) is not None:
            nodes += isinstance(event, NodeEvent)
    except Exception:  # noqa: BLE001, S110 - what came before the error is what counts
        pass
    finally:
        parser.dispose()
    assert nodes <= bound


def test_findings_past_100_become_one_with_their_worst_severity() -> None:
    def finding(line: int, severity: Severity) -> Finding:
        return Finding("SC099", severity, "m.yaml", line, 1, "", "x")

    notices = [finding(i, Severity.NOTICE) for i in range(200, 100, -1)]  # out of order
    bounded_notices = bounded([finding(1, Severity.ERROR), *notices])
    assert len(bounded_notices) == 101
    assert [f.line for f in bounded_notices[:3]] == [1, 101, 102]
    assert bounded_notices[-1].rule == "SC012"
    assert bounded_notices[-1].severity is Severity.NOTICE  # --strict must not fail on notices
    assert (bounded_notices[-1].line, bounded_notices[-1].column) == (200, 1)
    assert "1 more finding in this file is not shown" in bounded_notices[-1].message
    mixed = bounded([*notices, finding(300, Severity.WARNING), finding(301, Severity.NOTICE)])
    assert mixed[-1].severity is Severity.WARNING
    assert "2 more findings" in mixed[-1].message
    assert bounded(notices) == notices  # 100: all shown


# -- document shape ------------------------------------------------------------


def test_more_than_one_document_is_refused_at_the_second() -> None:
    f = only(load(GOOD + "---\n" + GOOD))
    assert where(f) == ("SC006", 6, 1)
    assert "more than one YAML document" in f.message


def test_one_document_with_markers_is_fine() -> None:
    assert load("---\n" + GOOD + "...\n").findings == []


@pytest.mark.parametrize(
    ("text", "kind", "line", "col"),
    [
        ("- a\n- b\n", "a list", 1, 1),
        ("# a comment\n  just text\n", "a single value", 2, 3),
        ("42\n", "a single value", 1, 1),
    ],
)
def test_the_top_level_must_be_a_mapping(text: str, kind: str, line: int, col: int) -> None:
    f = only(load(text))
    assert where(f) == ("SC007", line, col)
    assert f"the top level is {kind}, not a mapping" in f.message
    assert (f.end_line, f.end_column) > (f.line, f.column)  # the whole value


# -- encodings -------------------------------------------------------------------


def test_latin1_is_refused_at_the_bad_byte() -> None:
    raw = GOOD.encode() + "description: Café contacts, nightly.\n".encode("latin-1")
    f = only(load(raw))
    assert where(f) == ("SC003", 6, 17)
    assert "byte 0xe9" in f.message
    assert f.hint is not None and "UTF-8" in f.hint


@pytest.mark.parametrize(
    ("raw", "line", "col"),
    [
        ("name: Zoë ".encode() + b"\xff\n", 1, 11),
        (b"a: 1\rb: \xff\n", 2, 4),  # a CR alone ends a line, as in YAML
        ("a: 1\u2028b: ".encode() + b"\xff", 2, 4),
    ],
    ids=["after-a-two-byte-character", "after-cr", "after-line-separator"],
)
def test_a_bad_byte_is_placed_in_characters_and_yaml_lines(raw: bytes, line: int, col: int) -> None:
    f = only(load(raw))
    assert where(f) == ("SC003", line, col)
    assert (f.end_line, f.end_column) == (0, 0)  # a byte, not a node: no extent


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-16-le"])
def test_utf16_is_refused_as_utf16(codec: str) -> None:
    raw = GOOD.encode(codec)
    if codec == "utf-16-be":
        raw = b"\xfe\xff" + raw  # as editors save it: with a BOM
    f = only(load(raw))
    assert f.rule == "SC003"
    assert "UTF-16" in f.message
    assert f.hint is not None and "utf-16" in f.hint


def test_a_utf8_bom_and_crlf_line_endings_are_fine() -> None:
    raw = b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode() + b"job:\r\n  command: [a]\r\n"
    result = load(raw)
    assert result.findings == []
    doc = result.document
    assert doc is not None
    assert doc.data["apiVersion"] == "scsync/v1"  # no BOM glued to the first key
    assert doc.data["status"] == "Operational"  # no \r glued to values
    assert doc.locate(["apiVersion"], key=True) == (1, 1)
    assert doc.locate(["status"]) == (5, 9)
    assert doc.locate(["job", "command"]) == (7, 12)


def test_control_characters_are_placed_on_their_line() -> None:
    f = only(load(GOOD + 'description: "tab\x01here"\n'))
    assert where(f) == ("SC001", 6, 18)
    assert "U+0001" in f.message


# -- empty ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", [b"", b"\n\n   \n", b"\xef\xbb\xbf"], ids=["zero-bytes", "blank-lines", "bom-only"]
)
def test_an_empty_file_is_refused(raw: bytes) -> None:
    f = only(load(raw))
    assert where(f) == ("SC004", 1, 1)
    assert "empty" in f.message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("# only a comment\n", "only comments"),
        ("# a\n\n# b\n---\n", "the document is empty"),
        ("--- ~\n", "the document is empty"),
    ],
)
def test_a_file_without_settings_is_refused(text: str, words: str) -> None:
    f = only(load(text))
    assert where(f) == ("SC004", 1, 1)
    assert words in f.message


# -- tabs and syntax ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        ("job:\n\tcommand: [a]\n", 2, 1),
        ("job:\n  command: [a]\n\ttimeout_seconds: 5\n", 3, 1),
        ("job:\n  command: [a]\n  \ttimeout_seconds: 5\n", 3, 3),
    ],
)
def test_tabs_in_indentation_are_refused(text: str, line: int, col: int) -> None:
    f = only(load(GOOD + text))
    assert where(f) == ("SC005", line + 5, col)
    assert "tab" in f.message


def test_a_tab_after_a_colon_is_not_indentation() -> None:
    result = load(GOOD + "description:\tA tab separates this value from its key.\n")
    assert result.findings == []


@pytest.mark.parametrize(
    ("text", "line", "col", "words"),
    [
        ('name: "unclosed\n', 7, 1, "unexpected end of stream"),
        ("name: [a, b\nkind: x\n", 7, 5, "expected ',' or ']'"),
        ("a: b: c\n", 6, 5, "mapping values are not allowed"),
        ("key: value\n bad: indent\n", 7, 5, "mapping values are not allowed"),
    ],
)
def test_syntax_errors_have_a_position(text: str, line: int, col: int, words: str) -> None:
    f = only(load(GOOD + text))
    assert where(f) == ("SC001", line, col)
    assert words in f.message


_BREAKS = {"LF": "\n", "CR": "\r", "CRLF": "\r\n", "NEL": "\u0085", "LS": "\u2028",
           "PS": "\u2029"}


@pytest.mark.parametrize("brk", list(_BREAKS))
@pytest.mark.parametrize("opener", ["[", "{", "a: ["])
def test_a_collection_left_open_at_the_end_is_placed_on_a_line_the_file_has(
    opener: str, brk: str
) -> None:
    # Found by fuzzing: libyaml's mark lies on line 3 of these two-line files (an
    # IndexError that stopped the whole run).  The end of the file is just after the tab.
    f = only(load(opener + _BREAKS[brk] + "\t"))
    assert where(f) == ("SC001", 2, 2)
    assert f.message == "did not find expected node content (while parsing a flow node)"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("[\n\t\n", ("SC001", 3, 1)),  # after the last line break: the empty last line
        ('name: "unclosed', ("SC001", 1, 16)),
        ("a: 1\n\t", ("SC005", 2, 1)),  # a tab that indents nothing, at the very end
        ("a: [1,\n  2", ("SC001", 2, 4)),
        ("a: {b: [\u2028", ("SC001", 2, 1)),
    ],
)
def test_errors_at_the_end_of_the_file_stay_inside_it(
    text: str, found: tuple[str, int, int]
) -> None:
    assert where(only(load(text))) == found


# Inputs the fuzzer (fuzz/fuzz_loader.py) found whose findings lay outside the file.
FUZZ_FINDS = [
    b"? ",  # an empty key and value at the end: the root's extent ended on line 2
]


@pytest.mark.parametrize("raw", FUZZ_FINDS, ids=repr)
def test_every_finding_of_a_fuzz_find_lies_inside_the_file(raw: bytes) -> None:
    checked = _CHECKER.check_bytes(raw, "m.yaml")
    text = raw.decode("utf-8", "replace")
    lines = re.split("\r\n|[\r\n\x85\u2028\u2029]", text)
    assert checked.findings
    for f in checked.findings:
        for line, col in ((f.line, f.column), (f.end_line, f.end_column)):
            if (line, col) != (0, 0):
                assert 1 <= line <= len(lines), f
                assert 1 <= col <= len(lines[line - 1]) + 1, f


def test_a_complex_key_is_refused() -> None:
    f = only(load(GOOD + "? [a, b]\n: value\n"))
    assert where(f) == ("SC001", 6, 3)
    assert "key must be a plain string" in f.message


# -- tags ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag", "col"),
    [
        ("value: !!binary aGVsbG8=\n", "!!binary", 8),
        ("value: !foo bar\n", "!foo", 8),
        ("value: !!timestamp 2001-12-14\n", "!!timestamp", 8),
        ("value: !!set {a, b}\n", "!!set", 8),
        ("value: !thing {a: 1}\n", "!thing", 8),
        ("value: !list [a]\n", "!list", 8),
        ("!foo value: x\n", "!foo", 1),
    ],
)
def test_unsupported_tags_are_refused(text: str, tag: str, col: int) -> None:
    f = only(load(GOOD + text))
    assert where(f) == ("SC011", 6, col)
    # the tagged value (or key) to its last character
    assert (f.end_line, f.end_column) == (6, text.index(":") + 1 if col == 1 else len(text))
    assert f"the tag '{tag}' is not supported" in f.message


# -- unreadable ------------------------------------------------------------------


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    f = only(load_path(str(fifo)))
    assert (f.rule, f.line, f.column) == ("SC010", 1, 1)
    assert "not a regular file" in f.message


def test_a_folder_is_refused(tmp_path: Path) -> None:
    f = only(load_path(str(tmp_path)))
    assert f.rule == "SC010"


def test_a_dangling_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "gone.yaml"
    link.symlink_to(tmp_path / "nowhere.yaml")
    f = only(load_path(str(link)))
    assert f.rule == "SC010"
    assert "No such file" in f.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_read_permission_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(GOOD)
    path.chmod(0)
    try:
        f = only(load_path(str(path)))
    finally:
        path.chmod(0o644)
    assert f.rule == "SC010"
    assert "Permission denied" in f.message
