"""scsync.manifest.loader: strict YAML loading, one test per bad-input class.

The files are made as bytes here (latin-1, UTF-16, a BOM with CRLF, tabs), so
no odd-encoded file is committed for an editor or a hook to "fix".
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from scsync.findings import Finding, Severity
from scsync.manifest.loader import DEFAULT_MAX_BYTES, LoadResult, load_bytes, load_path

GOOD = (
    "apiVersion: scsync/v1\n"
    "kind: SmartConnector\n"
    "api_name: loader_test\n"
    "name: Loader Test\n"
    "status: Operational\n"
)


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


# -- duplicate keys ------------------------------------------------------------


def test_duplicate_key_names_both_lines() -> None:
    f = only(load(GOOD + "status: Inactive\n"))
    assert where(f) == ("SC002", 6, 1)
    assert "duplicate key 'status'" in f.message
    assert "first defined on line 5, again on line 6" in f.message


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
def test_an_alias_bomb_fails_fast(levels: int) -> None:
    text = _alias_bomb(levels)  # 10**levels values once expanded
    start = time.perf_counter()
    f = only(load(text))
    elapsed = time.perf_counter() - start
    assert f.rule == "SC009"
    assert "anchors and aliases expand to more than 10,000 values" in f.message
    assert f.line > 1
    assert elapsed < 0.5, f"took {elapsed:.3f} s"  # milliseconds in practice


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


# -- encodings -------------------------------------------------------------------


def test_latin1_is_refused_at_the_bad_byte() -> None:
    raw = GOOD.encode() + "description: Café contacts, nightly.\n".encode("latin-1")
    f = only(load(raw))
    assert where(f) == ("SC003", 6, 17)
    assert "byte 0xe9" in f.message
    assert f.hint is not None and "UTF-8" in f.hint


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
