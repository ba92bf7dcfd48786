#!/usr/bin/env python3
"""Coverage-guided fuzzing of the loader and every per-file check (atheris, libFuzzer).

    python fuzz/fuzz_loader.py [libFuzzer options] [CORPUS_DIR ...]

Arbitrary bytes go through `FileChecker.check_bytes` (read limits, decoding,
YAML, the value and depth bounds, the schema, the settings rules) and the
cross-file rules, as `scsync validate` runs them.  Any exception that escapes
is a finding, and so is any finding placed outside the file: every line and
column must be at least 1 and inside the text, every extent must end inside
the text and not before it starts (for findings, and for the extent of every
value and key, which review findings may point at), no file may report more
than 101 findings.
The shortcut of `bounds.check_shape` is checked too: no input may hold more
values than three per indicator byte.

Without a corpus folder, a temporary one is seeded from tests/examples/.  See
fuzz/README.md for longer runs; tests/test_fuzz.py runs a bounded number.
"""

from __future__ import annotations

import itertools
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["scsync"]):
    from yaml.events import NodeEvent

    from scsync.checks import crossfile
    from scsync.checks.pipeline import FileChecker
    from scsync.checks.schema import load_schema
    from scsync.findings import Finding, Severity
    from scsync.manifest.bounds import MAX_FINDINGS
    from scsync.manifest.loader import Document
    from scsync.manifest.yaml12 import StrictParser
    from scsync.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "tests" / "examples"
DICTIONARY = Path(__file__).resolve().parent / "yaml.dict"
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_INDICATORS = (b"[", b"{", b"-", b":", b"?", b",")
# Small: the loader's bounds are tested with inputs near them, the rest with the cap itself.
CHECKER = FileChecker(load_schema(), max_bytes=64 * 1024)


def check_place(f: Finding, lines: list[str]) -> None:
    assert f.rule in RULES, f
    assert f.line >= 1 and f.column >= 1, f
    assert f.line <= len(lines), (f, len(lines))
    assert f.column <= len(lines[f.line - 1]) + 1, (f, lines[f.line - 1])
    if f.end_line or f.end_column:
        assert (f.end_line, f.end_column) >= (f.line, f.column), f
        assert f.end_line <= len(lines), (f, len(lines))
        assert f.end_column <= len(lines[f.end_line - 1]) + 1, (f, lines[f.end_line - 1])


def check_value_bound(data: bytes) -> None:
    bound = 3 * sum(map(data.count, _INDICATORS)) + 1
    parser = StrictParser(data)
    nodes = 0
    try:
        while (event := parser.get_event()) is not None:
            nodes += isinstance(event, NodeEvent)
            assert nodes <= bound, (nodes, bound)
    except AssertionError:
        raise
    except Exception:  # noqa: BLE001, S110 - what came before a parse error is what counts
        pass
    finally:
        parser.dispose()


def every_path(value: Any, parts: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield parts
    if isinstance(value, dict):
        for key, item in value.items():
            yield from every_path(item, (*parts, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from every_path(item, (*parts, i))


def check_spans(doc: Document, lines: list[str]) -> None:
    """Every value's and key's extent, as review findings may ask for any of them."""
    for parts in itertools.islice(every_path(doc.data), 2_000):
        for key in (False, True):
            span = doc.span(list(parts), key=key)
            check_place(Finding("SC001", Severity.ERROR, doc.path, span.line, span.column, "",
                                "span", None, span.end_line, span.end_column), lines)


def test_one_input(data: bytes) -> None:
    result = CHECKER.check_bytes(data, "fuzz.yaml", keep=True)
    findings = list(result.findings)
    if result.identity is not None:
        twin = crossfile.Identity("twin.yaml", result.identity.api_name,
                                  result.identity.api_name_at, result.identity.name,
                                  result.identity.name_at)
        findings += crossfile.check([result.identity, twin])
    assert len(result.findings) <= MAX_FINDINGS + 1, len(result.findings)
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
    lines = _BREAK.split(text)
    for f in findings:
        check_place(f, lines)
    if result.document is not None:
        check_spans(result.document, lines)
    check_value_bound(data.removeprefix(b"\xef\xbb\xbf"))


def main(argv: list[str]) -> None:
    args = list(argv)
    if not any(not a.startswith("-") for a in args[1:]):
        corpus = Path(tempfile.mkdtemp(prefix="scsync-fuzz-corpus-"))
        for seed in sorted(SEEDS.rglob("*.y*ml")):
            shutil.copy(seed, corpus / f"{seed.parent.name}_{seed.name}")
        args.append(str(corpus))
    if DICTIONARY.exists() and not any(a.startswith("-dict=") for a in args):
        args.insert(1, f"-dict={DICTIONARY}")
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
