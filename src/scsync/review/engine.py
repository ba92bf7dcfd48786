"""Review a change between two revisions: from git refs to located findings.

The data flow: resolve the refs (`BASE...HEAD` from their merge base) → git's
tree diff with rename detection, kept to manifests under the folder → only
those blobs are read and checked, on both sides, by the same `FileChecker` as
`scsync validate` → the head's names are checked against the rest of the head
tree (`git grep` preselects the few files that could clash) → pairing → the
diff of each pair's settings → policy → one `ReviewResult`.

Nothing here reads the work tree, and nothing scales with the repository but
that one `git grep`, which runs in C over packed blobs (see bench/bench_diff.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from scsync.checks import crossfile
from scsync.checks.crossfile import Identity, fold_name
from scsync.checks.pipeline import FileChecker
from scsync.checks.schema import load_schema
from scsync.diff import Diff, comparable, diff
from scsync.errors import UsageError
from scsync.findings import Finding, Severity
from scsync.gitsource import (
    Change,
    Range,
    Repository,
    is_manifest_path,
    is_regular_file,
    normalize_folder,
    open_repo,
)
from scsync.manifest.discover import DEFAULT_FOLDER, SUFFIXES
from scsync.manifest.loader import DEFAULT_MAX_BYTES
from scsync.report.changes import IgnoredData
from scsync.report.sources import source_text
from scsync.review import pairing, policy
from scsync.review.pairing import Pair, PairedBy, Side
from scsync.review.result import ReviewResult, connector_data
from scsync.rules import Family

_IGNORED = {
    "120000": "a symbolic link: manifests are read from regular files only",
    "160000": "a submodule, not a manifest",
}


@dataclass(frozen=True, slots=True)
class ReviewOptions:
    folder: str = DEFAULT_FOLDER
    #: (old, new) api_name changes the operator accepts (--allow-api-name-change)
    allow_api_name_changes: frozenset[tuple[str, str]] = frozenset()
    schema: dict[str, Any] | None = None
    max_bytes: int = DEFAULT_MAX_BYTES


def review(
    base: str, head: str | None = None, *, repo: str = ".", options: ReviewOptions | None = None
) -> ReviewResult:
    """Everything merging `head` onto `base` changes, with a finding for each risk."""
    options = options or ReviewOptions()
    checker = FileChecker(options.schema or load_schema(), options.max_bytes)
    with open_repo(repo) as git:
        revisions = git.resolve_range(base, head)
        folder = normalize_folder(options.folder)
        changed = git.changed_paths(revisions.base, revisions.head, folder)
        if not changed:
            _check_folder(git, revisions, options.folder)
        changes, ignored = _manifest_changes(changed, folder)
        base_texts: dict[str, str] = {}
        texts: dict[str, str] = {}
        old = _load(git, checker, ((c.old_path, c.old_blob) for c in changes), base_texts)
        new = _load(git, checker, ((c.new_path, c.new_blob) for c in changes), texts)
        duplicates = _duplicates(git, checker, revisions, new, folder)
        root = os.path.realpath(git.root)
    pairs = pairing.pair(changes, old, new)
    result = _assemble(revisions, pairs, duplicates, ignored, options.allow_api_name_changes)
    result.root, result.texts = root, {**base_texts, **texts}  # the head's text wins
    return result


def _check_folder(git: Repository, revisions: Range, folder: str) -> None:
    """A mistyped --folder must not pass as "nothing changed", as validate refuses a missing path.

    Only asked when the diff under it is empty: a folder with changes exists.
    """
    path = normalize_folder(folder)
    if path and not any(git.is_folder(rev, path) for rev in (revisions.base, revisions.head)):
        raise UsageError(
            f"--folder {folder}: no folder '{path}' in {revisions.base_rev} or "
            f"{revisions.head_rev} (the manifest folder, relative to the repository root; "
            "'.' is the whole repository)"
        )


def _manifest_changes(
    changes: Iterable[Change], folder: str
) -> tuple[list[Change], list[IgnoredData]]:
    """Keep manifest sides; a rename to or from another kind of file is a delete or an add."""
    kept: list[Change] = []
    ignored: dict[str, str] = {}
    for c in changes:
        old_ok = _is_manifest(c.old_path, c.old_mode, folder)
        new_ok = _is_manifest(c.new_path, c.new_mode, folder)
        if old_ok and new_ok:
            kept.append(c)
        elif old_ok:
            kept.append(replace(c, status="D", new_path=None, new_blob=None, new_mode=None))
        elif new_ok:
            kept.append(replace(c, status="A", old_path=None, old_blob=None, old_mode=None))
        for path, mode, ok in ((c.old_path, c.old_mode, old_ok), (c.new_path, c.new_mode, new_ok)):
            if path is not None and not ok:
                ignored[path] = _why_ignored(path, mode)
    return kept, [IgnoredData(path=p, reason=r) for p, r in sorted(ignored.items())]


def _why_ignored(path: str, mode: str | None) -> str:
    if mode in _IGNORED:
        return _IGNORED[mode]
    if path.endswith(SUFFIXES):
        return "hidden: a name starting with '.' is skipped, as scsync validate does"
    return "not a manifest: only *.yaml and *.yml files are reviewed"


def _is_manifest(path: str | None, mode: str | None, folder: str) -> bool:
    return path is not None and is_regular_file(mode) and is_manifest_path(path, folder)


def _load(
    git: Repository,
    checker: FileChecker,
    entries: Iterable[tuple[str | None, str | None]],
    texts: dict[str, str],
) -> dict[str, Side]:
    """Each side's manifest checked; its text into `texts`, for the report's formats."""
    sides: dict[str, Side] = {}
    for path, blob in entries:
        if path is None or blob is None:
            continue
        raw = git.read_object(blob)
        text = source_text(raw, checker.max_bytes)
        if text is not None:
            texts[path] = text
        result = checker.check_bytes(raw, path, keep=True)
        doc = result.document
        settings = None
        if doc is not None:
            # without a schema finding the data is a valid Connector; with one it is
            # compared as written
            valid = not any(Family.of(f.rule) is Family.SCHEMA for f in result.findings)
            settings = comparable(doc.data, schema_valid=valid)
        sides[path] = Side(path, result, settings)
    return sides


def _duplicates(
    git: Repository, checker: FileChecker, revisions: Range, head: dict[str, Side], folder: str
) -> list[Finding]:
    """SC050/SC051 for the changed head manifests against the whole head tree.

    Parsing every manifest of the tree would make the review cost follow the
    repository's size.  Instead `git grep` finds the lines holding one of the
    changed names (a fixed-string search in C, about 0.03 s over 10,000
    packed blobs), Python keeps those that declare it, and only their files are parsed
    to confirm.  A declaration these strings miss (a name spaced differently or
    folded over two lines) is left to `scsync validate`, which the workflow
    runs on the whole tree.
    """
    idents = [s.result.identity for s in head.values() if s.result.identity is not None]
    api_names = {i.api_name for i in idents if i.api_name}
    names = {fold_name(i.name) for i in idents if i.name and i.name.split()}
    strings = api_names | names  # with ignore_case; a name spaced otherwise is validate's
    if not strings:
        return []
    established: list[Identity] = []
    hits = git.grep(revisions.head, sorted(strings), folder, ignore_case=True)
    clashing = {h.path for h in hits if _declares(h.text, api_names, names)}
    for path in sorted(clashing - head.keys()):
        if is_manifest_path(path, folder):
            identity = checker.check_bytes(git.read_blob(revisions.head, path), path).identity
            if identity is not None:
                established.append(identity)
    return crossfile.check(idents, established=established)


_KEY_LINE = re.compile(r"""\s*["']?(api_name|name)["']?\s*:\s*(.*?)\s*(?:\s#.*)?""")


def _declares(line: str, api_names: set[str], names: set[str]) -> bool:
    match = _KEY_LINE.fullmatch(line)
    if match is None:
        return False
    value = match.group(2).strip("\"' ")
    return value in api_names if match.group(1) == "api_name" else fold_name(value) in names


def _assemble(
    revisions: Range,
    pairs: list[Pair],
    duplicates: list[Finding],
    ignored: list[IgnoredData],
    allow: frozenset[tuple[str, str]],
) -> ReviewResult:
    changes = []
    findings: list[Finding] = []
    unchanged = []
    for p in pairs:
        items = _items(p)
        mine = _findings(p, items, allow, [f for f in duplicates if p.head and f.path == p.path])
        if not items and not mine and p.paired_by is PairedBy.PATH:
            unchanged.append(p.path)  # comments or formatting only: nothing to review
            continue
        findings.extend(mine)
        changes.append(connector_data(p, items, mine))
    used = {(p.base.api_name, p.head.api_name) for p in pairs if p.base and p.head}
    return ReviewResult(
        revisions=revisions,
        pairs=pairs,
        findings=sorted(findings, key=Finding.sort_key),
        changes=changes,
        ignored=ignored,
        unchanged=unchanged,
        unused_allowances=sorted(f"{old}:{new}" for old, new in allow - used),
    )


def _items(p: Pair) -> Diff:
    if p.head is None or p.head.settings is None:
        return ()
    return diff(p.base.settings if p.base else None, p.head.settings)


def _findings(
    p: Pair, items: Diff, allow: frozenset[tuple[str, str]], duplicates: list[Finding]
) -> list[Finding]:
    """The review's findings for one connector, with the head's validation findings.

    Validation notices about settings the change leaves alone (a status that was
    already Inactive) were true before it and would only be noise in a review;
    errors and warnings always stay, as `scsync validate` reports them.  A
    validation finding a review finding restates (SC041 beside SC106) goes.
    """
    reviewed = policy.assess(p, items, allow)
    subsumed = {policy.SUBSUMES[f.rule] for f in reviewed if f.rule in policy.SUBSUMES}
    new = p.base is None or p.base.settings is None
    touched = [i.pointer for i in items]

    def kept(f: Finding) -> bool:
        if f.rule in subsumed:
            return False
        return new or f.severity is not Severity.NOTICE or any(
            f.pointer == t or f.pointer.startswith(t + "/") for t in touched)

    checked = [f for f in (p.head.result.findings if p.head else []) if kept(f)]
    return sorted([*reviewed, *checked, *duplicates], key=Finding.sort_key)
