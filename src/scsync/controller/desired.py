"""Desired state: the manifests of a commit (or of the work tree) as connectors and findings.

The same checks as `scsync validate` run here; a set with any error is not
applied at all (a half-applied commit is worse than none).  Parsing results are
kept per blob, so a new commit costs the files it changed, not the whole tree.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from scsync.checks import crossfile
from scsync.checks.crossfile import Identity
from scsync.checks.pipeline import FileChecker
from scsync.checks.schema import load_schema
from scsync.errors import UsageError
from scsync.findings import Finding, Severity
from scsync.gitsource import Repository
from scsync.manifest.discover import DEFAULT_FOLDER, discover
from scsync.manifest.model import Connector

WORK_TREE = "work tree"


@dataclass(slots=True)
class Desired:
    """What the manifests ask for.  Paths are relative to the repository root."""

    source: str  # a commit id, or WORK_TREE
    connectors: dict[str, Connector]
    findings: list[Finding]
    files: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]


@dataclass(frozen=True, slots=True)
class _Parsed:
    findings: list[Finding]
    identity: Identity | None
    connector: Connector | None


class DesiredReader:
    """Reads desired state, remembering each file's result by content for the next read."""

    def __init__(self, folder: str = DEFAULT_FOLDER,
                 schema: dict[str, Any] | None = None) -> None:
        self.folder = folder.strip("/")
        self._checker = FileChecker(schema if schema is not None else load_schema())
        self._cache: dict[tuple[str, str], _Parsed] = {}

    def at_commit(self, repo: Repository, commit: str) -> Desired:
        blobs = repo.manifest_paths(commit, self.folder)
        return self._build(commit, {path: (blob, partial(repo.read_object, blob))
                                    for path, blob in sorted(blobs.items())})

    def work_tree(self, root: Path) -> Desired:
        folder = root / self.folder
        if not folder.is_dir():
            raise UsageError(f"no {self.folder}/ folder in {root} (manifests live there)")
        entries: dict[str, tuple[str, Callable[[], bytes]]] = {}
        for path in discover([str(folder)]):
            rel = Path(os.path.relpath(path, root)).as_posix()
            try:
                raw = Path(path).read_bytes()
            except OSError:
                raw = b""  # gone between listing and reading (an editor's save): reread next time
            digest = hashlib.blake2b(raw, digest_size=20).hexdigest()
            entries[rel] = (digest, partial(bytes, raw))
        return self._build(WORK_TREE, entries)

    def _build(self, source: str,
               entries: dict[str, tuple[str, Callable[[], bytes]]]) -> Desired:
        cache: dict[tuple[str, str], _Parsed] = {}
        connectors: dict[str, Connector] = {}
        findings: list[Finding] = []
        identities: list[Identity] = []
        for path, (key, read) in entries.items():
            parsed = self._cache.get((key, path)) or self._parse(read(), path)
            cache[(key, path)] = parsed
            findings.extend(parsed.findings)
            if parsed.identity is not None:
                identities.append(parsed.identity)
            if parsed.connector is not None:
                connectors[path] = parsed.connector
        # Only what this read used is kept: memory follows the tree, not its history.
        self._cache = cache
        findings.extend(crossfile.check(identities))
        findings.sort(key=Finding.sort_key)
        return Desired(source, connectors, findings, list(entries))

    def _parse(self, raw: bytes, path: str) -> _Parsed:
        result = self._checker.check_bytes(raw, path, keep=True)
        connector = None
        if result.document is not None and not any(
                f.severity is Severity.ERROR for f in result.findings):
            connector = Connector.from_data(result.document.data, path)
        return _Parsed(result.findings, result.identity, connector)
