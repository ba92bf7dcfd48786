"""Strict YAML loading that keeps every node's position.

PyYAML's C parser builds the node tree (the pure-Python parser when libyaml is
missing); scsync then constructs the Python values itself, which is where the
strictness lives:

- duplicate keys are errors naming both lines (PyYAML silently keeps the last);
- plain scalars follow YAML 1.2 (`on`/`yes` stay strings, `010` is 10);
- alias expansion is bounded, so a "billion laughs" file fails at once;
- one document per file, a mapping at the top, a size cap, UTF-8 only;
- each problem is a `Finding` with a line and column, never an exception.

The node tree is kept on the `Document` so that any later finding (a schema
error deep in `job.env`) can be placed on the YAML node's own line.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scsync.findings import FILE_START, Finding, Span
from scsync.manifest.bounds import MAX_DEPTH, LoadProblem, check_expansion, check_shape
from scsync.manifest.build import Builder, DuplicateKeys
from scsync.manifest.positions import Lines, span_of
from scsync.manifest.yaml12 import HAVE_LIBYAML, StrictParser
from scsync.rules import RULES

DEFAULT_MAX_BYTES = 1024 * 1024

_BOM = b"\xef\xbb\xbf"
# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_NULL_TAG = "tag:yaml.org,2002:null"
#: libyaml's own nesting limit (PyYAML >= 6.0.4 wheels): its problem text, exactly.
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"

#: Mappings up to this many entries are searched, larger ones indexed once.
_SCAN_ENTRIES = 32


@dataclass(slots=True)
class Document:
    """A loaded manifest: its values, the node tree they came from, and its text."""

    path: str
    data: dict[str, Any]
    root: MappingNode
    text: str = ""
    # A large mapping's entries by key, made on the first lookup in it: finding
    # thousands of keys (a file of unknown keys) stays linear, not quadratic.
    _entries: dict[int, dict[str, tuple[Node, Node]]] | None = field(
        default=None, init=False, repr=False
    )
    _lines: Lines | None = field(default=None, init=False, repr=False)

    def node_at(self, parts: Sequence[str | int]) -> tuple[Node | None, Node | None]:
        """(key node, value node) at a path of keys/indexes; as deep as it exists."""
        key: Node | None = None
        node: Node = self.root
        for part in parts:
            if isinstance(node, MappingNode):
                name = str(part)
                entry: tuple[Node, Node] | None = None
                if len(node.value) <= _SCAN_ENTRIES:  # a manifest's mappings: a scan is cheapest
                    for k, v in node.value:
                        if k.value == name and isinstance(k, ScalarNode):
                            entry = k, v
                            break
                else:
                    entry = self._indexed(node).get(name)
                if entry is None:
                    return key, node
                key, node = entry
            elif isinstance(node, SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    return key, node
                key, node = None, node.value[part]
            else:
                return key, node
        return key, node

    def _indexed(self, node: MappingNode) -> dict[str, tuple[Node, Node]]:
        if self._entries is None:
            self._entries = {}
        entries = self._entries.get(id(node))
        if entries is None:
            entries = self._entries[id(node)] = _entries_of(node)
        return entries

    def span(self, parts: Sequence[str | int], *, key: bool = False) -> Span:
        """Extent of the value at `parts` (or of its key), as deep as the path exists."""
        key_node, value_node = self.node_at(parts)
        target = key_node if (key and key_node is not None) else value_node
        if target is None:
            return FILE_START
        return span_of(target, self._lines or self._new_lines())

    def span_of(self, node: Node) -> Span:
        return span_of(node, self._lines or self._new_lines())

    def _new_lines(self) -> Lines:
        self._lines = Lines(self.text)
        return self._lines

    def locate(self, parts: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `parts` (or of its key)."""
        span = self.span(parts, key=key)
        return span.line, span.column


def _entries_of(node: MappingNode) -> dict[str, tuple[Node, Node]]:
    entries: dict[str, tuple[Node, Node]] = {}
    for k, v in node.value:
        if isinstance(k, ScalarNode):
            entries.setdefault(k.value, (k, v))  # the first of duplicates, as the builder
    return entries


@dataclass(slots=True)
class LoadResult:
    document: Document | None
    findings: list[Finding]


def read_file(path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | Finding:
    """The file's bytes, or the finding that says why they cannot be had."""
    try:
        with os.fdopen(os.open(path, _OPEN_FLAGS), "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                return RULES["SC010"].finding(path, "not a regular file")
            if st.st_size > max_bytes:
                return _too_large(path, st.st_size, max_bytes)
            return fh.read(max_bytes + 1)
    except IsADirectoryError:
        return RULES["SC010"].finding(path, "not a regular file (a folder)")
    except OSError as exc:
        return RULES["SC010"].finding(path, f"cannot read the file: {exc.strerror or exc}")


def _too_large(path: str, size: int, max_bytes: int) -> Finding:
    return RULES["SC008"].finding(
        path, f"the file has {size:,} bytes, over the cap of {max_bytes:,} bytes"
    )


def load_bytes(raw: bytes, path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadResult:
    """Parse one manifest file's bytes strictly."""
    try:
        return LoadResult(_load(raw, path, max_bytes), [])
    except LoadProblem as problem:
        return LoadResult(None, [problem.finding])
    except DuplicateKeys as dups:
        return LoadResult(None, dups.findings)


def load_path(path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadResult:
    raw = read_file(path, max_bytes=max_bytes)
    if isinstance(raw, Finding):
        return LoadResult(None, [raw])
    return load_bytes(raw, path, max_bytes=max_bytes)


def _load(raw: bytes, path: str, max_bytes: int) -> Document:
    if len(raw) > max_bytes:
        raise LoadProblem(_too_large(path, len(raw), max_bytes))
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    text = _decode(raw, path)
    if not text.strip():
        raise LoadProblem(RULES["SC004"].finding(path, "the file is empty", line=1, column=1))
    lines = Lines(text)  # line starts are found only if a position needs them
    check_shape(raw, path, lines)
    loader = StrictParser(raw)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise LoadProblem(_syntax_finding(exc, path, lines)) from None
    except yaml.reader.ReaderError as exc:
        raise LoadProblem(_reader_finding(exc, path, raw)) from None
    except yaml.YAMLError as exc:  # other unmarked errors are still syntax
        finding = RULES["SC001"].finding(path, str(exc).strip(), line=1, column=1)
        raise LoadProblem(finding) from None
    except RecursionError:  # the pure-Python parser on deep block nesting
        raise LoadProblem(
            RULES["SC009"].finding(path, f"values nest deeper than {MAX_DEPTH} levels")
        ) from None
    finally:
        loader.dispose()
    if root is None:
        raise LoadProblem(
            RULES["SC004"].finding(
                path, "the file has only comments, no settings", line=1, column=1
            )
        )
    if isinstance(root, ScalarNode) and root.tag == _NULL_TAG:  # `---` and nothing, or `~`
        raise LoadProblem(
            RULES["SC004"].finding(
                path, "the document is empty: it has no settings", line=1, column=1
            )
        )
    if not isinstance(root, MappingNode):
        kind = "a list" if isinstance(root, SequenceNode) else "a single value"
        raise LoadProblem(
            RULES["SC007"].finding(
                path, f"the top level is {kind}, not a mapping of settings"
            ).placed(span_of(root, lines))
        )
    if b"*" in raw:  # only aliases can expand; most manifests have none
        check_expansion(root, path, lines)
    builder = Builder(path, root, lines)
    data = builder.build(root, 0)
    if builder.duplicates:
        raise DuplicateKeys(builder.duplicate_findings())
    assert isinstance(data, dict)
    doc = Document(path=path, data=data, root=root, text=text)
    doc._lines = lines  # with any line starts already found
    return doc


def _decode(raw: bytes, path: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            message = "the file is UTF-16, not UTF-8"
            line, col = 1, 1
            hint = _UTF16_HINT
        else:
            # Everything before the bad byte is UTF-8: count its lines and characters.
            before = raw[: exc.start].decode("utf-8")
            line, col = Lines(before).position(len(before))
            message = f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not valid UTF-8"
            hint = "Re-save the file as UTF-8 (for example `iconv -f latin1 -t utf-8`)."
        raise LoadProblem(
            RULES["SC003"].finding(path, message, line=line, column=col, hint=hint)
        ) from None


_UTF16_HINT = "Re-save the file as UTF-8 (for example `iconv -f utf-16 -t utf-8`)."


def _reader_finding(exc: yaml.reader.ReaderError, path: str, raw: bytes) -> Finding:
    """A character YAML forbids (a control character), placed on its line and column."""
    # libyaml counts the position in bytes, the pure-Python reader in characters.
    if HAVE_LIBYAML:
        head = raw[: exc.position].decode("utf-8", "replace")
    else:
        head = raw.decode("utf-8")[: exc.position]
    line, col = Lines(head).position(len(head))
    if exc.character == 0:
        # NUL bytes in otherwise valid UTF-8: UTF-16 without a BOM, or a binary file.
        return RULES["SC003"].finding(
            path, "the file holds NUL bytes: it looks like UTF-16 or binary, not UTF-8 text",
            line=line, column=col, hint=_UTF16_HINT,
        )
    return RULES["SC001"].finding(
        path, f"the character U+{exc.character:04X} is not allowed in YAML ({exc.reason})",
        line=line, column=col,
        hint="Remove the control character; write it as an escape (\"\\t\", \"\\u0001\") "
        "inside a double-quoted string if it is really wanted.",
    )


def _syntax_finding(exc: yaml.MarkedYAMLError, path: str, lines: Lines) -> Finding:
    mark = exc.problem_mark or exc.context_mark
    # From the mark's character index, clamped into the text: at the end of a
    # stream, libyaml's mark may name a line after the last one.
    line, col = lines.position(mark.index) if mark else (1, 1)
    problem = (exc.problem or "").strip()
    if problem == _LIBYAML_TOO_DEEP:
        # libyaml 0.2.5 as bundled by PyYAML 6.0.4 stops at 1,000 flow levels by itself;
        # whichever limit fires first, the user sees the same finding as check_shape's.
        return RULES["SC009"].finding(
            path, f"values nest deeper than {MAX_DEPTH} levels", line=line, column=col
        )
    if "expected a single document" in f"{problem} {exc.context or ''}":
        return RULES["SC006"].finding(
            path,
            "the file holds more than one YAML document (a second `---` starts another)",
            line=line, column=col,
        )
    tab_line = _tab_indented(lines, line) if _TAB_PROBLEM.search(problem) else None
    if tab_line is not None:
        return RULES["SC005"].finding(
            path, "a tab character is used for indentation", line=tab_line,
            column=lines.line(tab_line).index("\t") + 1,
        )
    message = problem or "invalid YAML"
    if exc.context:
        message = f"{message} ({exc.context.strip()}"
        context_line = lines.position(exc.context_mark.index)[0] if exc.context_mark else line
        if context_line != line:
            message += f" at line {context_line}"
        message += ")"
    return RULES["SC001"].finding(path, message, line=line, column=col)


#: What libyaml (and the pure-Python parser) say when a tab is where indentation is.
_TAB_PROBLEM = re.compile(r"\btab\b|cannot start any token")


def _tab_indented(lines: Lines, line: int) -> int | None:
    """The line (this one or the one before) that a tab indents, if any.

    The parsers report a tab in indentation on its own line or on the next.
    """
    for number in (line, line - 1):
        if lines.line(number).lstrip(" ").startswith("\t"):
            return number
    return None
