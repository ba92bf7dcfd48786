"""Validation from paths to findings: load, check each file, then check the set.

Each file is independent until the cross-file rules, so files are loaded and
checked in worker processes (parsing is the cost; see bench/bench_validate.py)
and only small results travel back: the findings and each file's identity.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from scsync.checks import crossfile, settings
from scsync.checks.crossfile import Identity
from scsync.checks.schema import SchemaChecker, load_schema
from scsync.findings import Finding, Severity, Span
from scsync.manifest.bounds import bounded
from scsync.manifest.discover import STDIN, discover
from scsync.manifest.loader import DEFAULT_MAX_BYTES, Document, LoadResult, load_bytes, load_path

#: Below this many files, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 200
STDIN_NAME = "<stdin>"


@dataclass(slots=True)
class FileResult:
    path: str
    findings: list[Finding]
    identity: Identity | None
    document: Document | None = None


@dataclass(slots=True)
class ValidationResult:
    files: list[str]
    findings: list[Finding] = field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def errors(self) -> int:
        return self.count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        return self.count(Severity.WARNING)

    @property
    def notices(self) -> int:
        return self.count(Severity.NOTICE)

    def passed(self, *, strict: bool = False) -> bool:
        return self.errors == 0 and not (strict and self.warnings)


class FileChecker:
    """Everything that can be said about one file on its own.

    At most MAX_FINDINGS findings a file (by position), then one that counts
    the rest: a file of 5,000 unknown keys is not 5,000 lines of report.
    """

    def __init__(self, schema: dict[str, Any], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.schema = SchemaChecker(schema)
        self.max_bytes = max_bytes

    def check_bytes(self, raw: bytes, path: str, *, keep: bool = False) -> FileResult:
        return self._check(load_bytes(raw, path, max_bytes=self.max_bytes), path, keep)

    def check_path(self, path: str, *, keep: bool = False) -> FileResult:
        return self._check(load_path(path, max_bytes=self.max_bytes), path, keep)

    def _check(self, loaded: LoadResult, path: str, keep: bool) -> FileResult:
        doc = loaded.document
        if doc is None:
            return FileResult(path, loaded.findings, None)
        findings = bounded(self.schema.check(doc) + settings.check(doc))
        return FileResult(path, findings, identity_of(doc), doc if keep else None)


def identity_of(doc: Document) -> Identity:
    api_name = doc.data.get("api_name")
    name = doc.data.get("name")
    return Identity(
        path=doc.path,
        api_name=api_name if isinstance(api_name, str) else None,
        api_name_at=doc.span(["api_name"]),
        name=name if isinstance(name, str) else None,
        name_at=doc.span(["name"]),
    )


def validate(
    paths: Sequence[str],
    *,
    schema: dict[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    jobs: int | None = None,
    stdin: bytes | None = None,
) -> ValidationResult:
    """Check every manifest under `paths` and the set they form."""
    files = discover(paths)
    schema = schema if schema is not None else load_schema()
    results: list[FileResult] = []
    on_disk = [f for f in files if f != STDIN]
    if STDIN in files:
        raw = stdin if stdin is not None else sys.stdin.buffer.read()
        results.append(FileChecker(schema, max_bytes).check_bytes(raw, STDIN_NAME))
    workers = _worker_count(jobs, len(on_disk))
    if workers > 1:
        results.extend(_check_parallel(on_disk, schema, max_bytes, workers))
    else:
        checker = FileChecker(schema, max_bytes)
        results.extend(checker.check_path(p) for p in on_disk)
    findings = [f for r in results for f in r.findings]
    findings.extend(crossfile.check(r.identity for r in results if r.identity))
    findings.sort(key=Finding.sort_key)
    shown = [STDIN_NAME if f == STDIN else f for f in files]
    return ValidationResult(files=shown, findings=findings)


def _worker_count(jobs: int | None, n_files: int) -> int:
    if jobs is not None:
        return max(1, min(jobs, n_files))
    if n_files < PARALLEL_THRESHOLD:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


_worker_checker: FileChecker | None = None


def _init_worker(schema: dict[str, Any], max_bytes: int) -> None:
    global _worker_checker
    _worker_checker = FileChecker(schema, max_bytes)


# Results cross the process boundary as plain tuples without the path (the
# parent knows it): pickling dataclasses and enums cost more than the checks.
_Packed = tuple[list[tuple[Any, ...]], tuple[Any, ...] | None]


def _check_chunk(paths: list[str]) -> list[_Packed]:
    assert _worker_checker is not None
    out: list[_Packed] = []
    for path in paths:
        result = _worker_checker.check_path(path)
        findings = [
            (f.rule, f.severity.value, f.line, f.column, f.pointer, f.message, f.hint,
             f.end_line, f.end_column)
            for f in result.findings
        ]
        ident = result.identity
        packed = None if ident is None else (
            ident.api_name, _packed_span(ident.api_name_at),
            ident.name, _packed_span(ident.name_at),
        )
        out.append((findings, packed))
    return out


def _packed_span(span: Span) -> tuple[int, int, int, int]:
    return span.line, span.column, span.end_line, span.end_column


def _unpack(path: str, packed: _Packed) -> FileResult:
    findings, ident = packed
    identity = None
    if ident is not None:
        api_name, api_name_at, name, name_at = ident
        identity = Identity(path, api_name, Span(*api_name_at), name, Span(*name_at))
    return FileResult(
        path,
        [Finding(r, Severity(s), path, ln, col, ptr, msg, hint, end_ln, end_col)
         for r, s, ln, col, ptr, msg, hint, end_ln, end_col in findings],
        identity,
    )


def _check_parallel(
    paths: list[str], schema: dict[str, Any], max_bytes: int, workers: int
) -> list[FileResult]:
    # Several chunks per worker so a slow chunk does not leave a core idle.
    n_chunks = workers * 4
    size = max(1, -(-len(paths) // n_chunks))
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context,
        initializer=_init_worker, initargs=(schema, max_bytes),
    ) as pool:
        packed = [r for chunk in pool.map(_check_chunk, chunks) for r in chunk]
    return [_unpack(path, p) for path, p in zip(paths, packed, strict=True)]
