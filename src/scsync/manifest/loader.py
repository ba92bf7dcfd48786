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
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scsync.findings import Finding, json_pointer
from scsync.manifest.yaml12 import MAP, SEQ, Resolver12, construct_scalar
from scsync.rules import RULES

DEFAULT_MAX_BYTES = 1024 * 1024
#: Expanded nodes one document may hold.  A manifest has a few dozen; a
#: billion-laughs file needs billions.
MAX_EXPANDED_NODES = 10_000
#: Nesting deeper than this is certainly not a manifest (and would exhaust
#: Python's recursion limit on construction).
MAX_DEPTH = 64

_BOM = b"\xef\xbb\xbf"

try:  # libyaml: ~10x faster than the pure parser
    from yaml._yaml import CParser as _Parser

    class _Loader(_Parser, Resolver12):
        def __init__(self, stream: bytes) -> None:
            _Parser.__init__(self, stream)
            Resolver12.__init__(self)

    HAVE_LIBYAML = True
except ImportError:  # pragma: no cover - exercised only where libyaml is absent
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(Reader, Scanner, Parser, Composer, Resolver12):  # type: ignore[no-redef]
        def __init__(self, stream: bytes) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            Resolver12.__init__(self)

    HAVE_LIBYAML = False


@dataclass(slots=True)
class Document:
    """A loaded manifest: its values and the node tree they came from."""

    path: str
    data: dict[str, Any]
    root: MappingNode

    def node_at(self, parts: Sequence[str | int]) -> tuple[Node | None, Node | None]:
        """(key node, value node) at a path of keys/indexes; as deep as it exists."""
        key: Node | None = None
        node: Node = self.root
        for part in parts:
            if isinstance(node, MappingNode):
                for k, v in node.value:
                    if isinstance(k, ScalarNode) and k.value == str(part):
                        key, node = k, v
                        break
                else:
                    return key, node
            elif isinstance(node, SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return key, node
                key, node = None, node.value[part]
            else:
                return key, node
        return key, node

    def locate(self, parts: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `parts` (or of its key)."""
        key_node, value_node = self.node_at(parts)
        target = key_node if (key and key_node is not None) else value_node
        if target is None:
            return 1, 1
        mark = target.start_mark
        return mark.line + 1, mark.column + 1


@dataclass(slots=True)
class LoadResult:
    document: Document | None
    findings: list[Finding]


class _Problem(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def read_file(path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | Finding:
    """The file's bytes, or the finding that says why they cannot be had."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return RULES["SC010"].finding(path, "not a regular file")
        if st.st_size > max_bytes:
            return _too_large(path, st.st_size, max_bytes)
        with open(path, "rb") as fh:
            return fh.read(max_bytes + 1)
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
    except _Problem as problem:
        return LoadResult(None, [problem.finding])
    except _DuplicateKeys as dups:
        return LoadResult(None, dups.findings)


def load_path(path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadResult:
    raw = read_file(path, max_bytes=max_bytes)
    if isinstance(raw, Finding):
        return LoadResult(None, [raw])
    return load_bytes(raw, path, max_bytes=max_bytes)


def _load(raw: bytes, path: str, max_bytes: int) -> Document:
    if len(raw) > max_bytes:
        raise _Problem(_too_large(path, len(raw), max_bytes))
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    text = _decode(raw, path)
    if not text.strip():
        raise _Problem(RULES["SC004"].finding(path, "the file is empty", line=1, column=1))
    loader = _Loader(raw)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _Problem(_syntax_finding(exc, path, text)) from None
    except yaml.YAMLError as exc:  # unmarked errors (reader problems) are still syntax
        raise _Problem(RULES["SC001"].finding(path, str(exc).strip(), line=1, column=1)) from None
    finally:
        loader.dispose()
    if root is None:
        raise _Problem(
            RULES["SC004"].finding(
                path, "the file has only comments, no settings", line=1, column=1
            )
        )
    if not isinstance(root, MappingNode):
        kind = "a list" if isinstance(root, SequenceNode) else "a single value"
        line, col = root.start_mark.line + 1, root.start_mark.column + 1
        raise _Problem(
            RULES["SC007"].finding(
                path, f"the top level is {kind}, not a mapping of settings", line=line, column=col
            )
        )
    _check_expansion(root, path)
    builder = _Builder(path)
    data = builder.build(root, (), 0)
    if builder.duplicates:
        raise _DuplicateKeys(builder.duplicates)
    assert isinstance(data, dict)
    return Document(path=path, data=data, root=root)


def _decode(raw: bytes, path: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            message = "the file is UTF-16, not UTF-8"
            line, col = 1, 1
        else:
            before = raw[: exc.start]
            line = before.count(b"\n") + 1
            col = exc.start - (before.rfind(b"\n") + 1) + 1
            message = f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not valid UTF-8"
        raise _Problem(
            RULES["SC003"].finding(
                path, message, line=line, column=col,
                hint="Re-save the file as UTF-8 (for example `iconv -f latin1 -t utf-8`).",
            )
        ) from None


def _syntax_finding(exc: yaml.MarkedYAMLError, path: str, text: str) -> Finding:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    col = mark.column + 1 if mark else 1
    problem = (exc.problem or "").strip()
    if "expected a single document" in f"{problem} {exc.context or ''}":
        return RULES["SC006"].finding(
            path,
            "the file holds more than one YAML document (a second `---` starts another)",
            line=line, column=col,
        )
    lines = text.splitlines()
    if mark is not None and _tab_indented(lines, mark.line):
        return RULES["SC005"].finding(
            path, "a tab character is used for indentation", line=line,
            column=_first_tab(lines[mark.line]) + 1,
        )
    message = problem or "invalid YAML"
    if exc.context:
        message = f"{message} ({exc.context.strip()}"
        if exc.context_mark is not None and exc.context_mark is not mark:
            message += f" at line {exc.context_mark.line + 1}"
        message += ")"
    return RULES["SC001"].finding(path, message, line=line, column=col)


def _tab_indented(lines: list[str], index: int) -> bool:
    # libyaml reports a tab in indentation on the line itself or just after it
    for i in (index, index - 1):
        if 0 <= i < len(lines):
            stripped = lines[i].lstrip(" ")
            if stripped.startswith("\t"):
                return True
    return False


def _first_tab(line: str) -> int:
    return max(line.find("\t"), 0)


def _check_expansion(root: Node, path: str) -> None:
    """Refuse documents whose aliases expand past MAX_EXPANDED_NODES.

    Sizes are memoised per node, so this is linear in the composed tree even
    for an alias bomb (whose composed tree is small; only its expansion is huge).
    """
    sizes: dict[int, int] = {}

    def size(node: Node, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > MAX_DEPTH:
            raise _Problem(
                RULES["SC009"].finding(
                    path, f"values nest deeper than {MAX_DEPTH} levels",
                    line=node.start_mark.line + 1, column=node.start_mark.column + 1,
                )
            )
        total = 1
        if isinstance(node, MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                total += size(item, depth + 1)
        if total > MAX_EXPANDED_NODES:
            raise _Problem(
                RULES["SC009"].finding(
                    path,
                    f"anchors and aliases expand to more than {MAX_EXPANDED_NODES:,} values",
                    line=node.start_mark.line + 1, column=node.start_mark.column + 1,
                )
            )
        sizes[id(node)] = total
        return total

    size(root, 0)


class _DuplicateKeys(Exception):
    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("duplicate keys")
        self.findings = findings


class _Builder:
    """Turns nodes into plain dicts, lists and scalars, collecting duplicate keys."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.duplicates: list[Finding] = []

    def build(self, node: Node, where: tuple[str | int, ...], depth: int) -> Any:
        if isinstance(node, ScalarNode):
            return self._scalar(node, where)
        if isinstance(node, SequenceNode):
            self._check_tag(node, SEQ, where)
            return [self.build(item, (*where, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, MappingNode)
        self._check_tag(node, MAP, where)
        result: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _Problem(
                    RULES["SC001"].finding(
                        self.path, "a mapping key must be a plain string, not a list or mapping",
                        line=key_node.start_mark.line + 1, column=key_node.start_mark.column + 1,
                        pointer=json_pointer(where),
                    )
                )
            key = key_node.value
            if key in first_seen:
                first = first_seen[key].start_mark.line + 1
                self.duplicates.append(
                    RULES["SC002"].finding(
                        self.path,
                        f"duplicate key '{key}': first defined on line {first}, again on line "
                        f"{key_node.start_mark.line + 1}",
                        line=key_node.start_mark.line + 1,
                        column=key_node.start_mark.column + 1,
                        pointer=json_pointer((*where, key)),
                        hint="Keep one of the two; YAML tools disagree on which one wins.",
                    )
                )
                continue
            first_seen[key] = key_node
            result[key] = self.build(value_node, (*where, key), depth + 1)
        return result

    def _scalar(self, node: ScalarNode, where: tuple[str | int, ...]) -> Any:
        try:
            return construct_scalar(node.tag, node.value)
        except ValueError:
            raise self._tag_problem(node, where) from None

    def _check_tag(self, node: Node, expected: str, where: tuple[str | int, ...]) -> None:
        if node.tag != expected:
            raise self._tag_problem(node, where)

    def _tag_problem(self, node: Node, where: tuple[str | int, ...]) -> _Problem:
        return _Problem(
            RULES["SC011"].finding(
                self.path,
                f"the tag '{node.tag}' is not supported here",
                line=node.start_mark.line + 1,
                column=node.start_mark.column + 1,
                pointer=json_pointer(where),
            )
        )

