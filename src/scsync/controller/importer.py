"""`scsync import`: adopt the live connectors of an executor as manifests.

One manifest per live connector, `<folder>/<api_name>.yaml`, and a state record
per file written (the path, the connector id, its api_name), where `scsync plan`
of the repository reads its state: the next plan pairs each file with its
connector by that record, so a later api_name or name edit is a change to that
connector, never a second one.

What is never done: overwrite a file (without --force), write a second manifest
for a connector a file in the folder already manages (by api_name, or by the
state's record of a file still there), write outside the folder (a live
api_name the schema refuses gets a safe file name of lowercase letters, digits
and `_`), or change a live value to make it fit: it is written as found, with a
comment on its line, and reported.
"""

from __future__ import annotations

import enum
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scsync import contract
from scsync.checks.pipeline import FileChecker
from scsync.checks.schema import load_schema
from scsync.client import ExecutorClient
from scsync.controller.facts import ExecutorFacts, read_objects
from scsync.controller.live import LiveConnector, read_live
from scsync.controller.manifest_text import manifest_data, render
from scsync.controller.state import Record, State
from scsync.errors import UsageError
from scsync.findings import Severity
from scsync.manifest.discover import DEFAULT_FOLDER, discover
from scsync.manifest.loader import load_path
from scsync.manifest.model import API_STATUS

API_NAME = re.compile(contract.field("api_name").pattern or "")
CUSTOM_OBJECTS = "/api/custom-objects"


class Outcome(enum.Enum):
    IMPORTED = "imported"
    REPLACED = "replaced"
    SKIPPED = "skipped"
    MANAGED = "already managed"


@dataclass(frozen=True, slots=True)
class ImportOptions:
    repo: Path
    folder: str = DEFAULT_FOLDER
    select: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # either spelling
    force: bool = False
    dry_run: bool = False
    state_path: Path | None = None  # default: REPO/.scsync/controller.db
    page_size: int = 1000


@dataclass(slots=True)
class Entry:
    api_name: str
    connector_id: str
    outcome: Outcome
    path: str  # relative to the repository
    reason: str = ""
    problems: list[str] = field(default_factory=list)  # values a manifest cannot hold
    notes: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def writes(self) -> bool:
        return self.outcome in (Outcome.IMPORTED, Outcome.REPLACED)


@dataclass(slots=True)
class ImportResult:
    entries: list[Entry]
    missing: list[str]  # --select names no live connector has
    dry_run: bool

    @property
    def failed(self) -> bool:
        return bool(self.missing) or any(e.problems for e in self.entries if e.writes)

    def count(self, *outcomes: Outcome) -> int:
        return sum(1 for e in self.entries if e.outcome in outcomes)


def statuses(given: Iterable[str]) -> frozenset[str]:
    """--status values (manifest or API spelling) in the API's spelling."""
    out = set()
    for value in given:
        status = API_STATUS.get(value, value)
        if status not in API_STATUS.values():
            raise UsageError(f"--status {value!r} is not a status: use one of "
                             + ", ".join(f"'{s}'" for s in API_STATUS.values()))
        out.add(status)
    return frozenset(out)


def header(executor_url: str, when: datetime) -> str:
    """Where and when: the URL without credentials, query or fragment; the time in UTC."""
    parts = urlsplit(executor_url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    where = f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"Imported by scsync import from {where} at {stamp}."


def import_connectors(options: ImportOptions, client: ExecutorClient, header: str) -> ImportResult:
    """Read, decide and (unless a dry run) write; `header` is the files' first comment."""
    repo = options.repo.resolve()
    folder = (repo / options.folder).resolve()
    if not folder.is_relative_to(repo) or folder == repo:
        raise UsageError(f"--folder {options.folder!r} must be a folder inside the repository "
                         f"{repo}")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--folder {options.folder!r} is a file, not a folder")
    wanted = statuses(options.statuses)
    state_path = options.state_path or repo / ".scsync" / "controller.db"
    managers = _managers(repo, folder, state_path)
    live = [c for c in read_live(client, options.page_size)
            if (not options.select or c.api_name in options.select)
            and (not wanted or c.status in wanted)]
    missing = sorted(set(options.select) - {c.api_name for c in live})
    objects = _objects(client, options.page_size) if any(
        c.raw.get("custom_object") for c in live) else {}
    checker = FileChecker(load_schema())
    depth = len(folder.relative_to(repo).parts)
    entries: list[Entry] = []
    taken: set[str] = set()
    # Schema-valid names first: they claim their own file names before a made-up one can.
    for item in sorted(live, key=lambda c: (not API_NAME.fullmatch(c.api_name), c.api_name)):
        stem = _stem(item, folder, taken)
        taken.add(stem)
        rel = (folder / f"{stem}.yaml").relative_to(repo).as_posix()
        manager = managers.get(("id", item.id)) or managers.get(("api", item.api_name))
        entry = Entry(item.api_name, item.id, Outcome.IMPORTED, rel)
        if manager is not None and manager != rel:
            entry.outcome, entry.reason = Outcome.MANAGED, f"already managed by {manager}"
        elif os.path.lexists(repo / rel) and not options.force:
            entry.outcome, entry.reason = Outcome.SKIPPED, "the file exists (--force replaces it)"
        else:
            if os.path.lexists(repo / rel):
                entry.outcome = Outcome.REPLACED
            _fill(entry, item, objects, header, depth, checker)
        entries.append(entry)
    entries.sort(key=lambda e: e.path)
    if not options.dry_run:
        try:
            _write(repo, folder, [e for e in entries if e.writes], state_path)
        except OSError as exc:  # a read-only folder, a directory where a file goes
            raise UsageError(f"cannot write in {folder}: {exc.strerror or exc}"
                             + (f" ({exc.filename})" if exc.filename else "")) from None
    return ImportResult(entries, missing, options.dry_run)


def _managers(repo: Path, folder: Path, state_path: Path) -> dict[tuple[str, str], str]:
    """Which file already manages a connector: ("api", api_name) and ("id", connector id)."""
    out: dict[tuple[str, str], str] = {}
    if folder.is_dir():
        for path in discover([str(folder)]):
            document = load_path(path).document
            api_name = document.data.get("api_name") if document is not None else None
            if isinstance(api_name, str):
                out.setdefault(("api", api_name), Path(path).relative_to(repo).as_posix())
    if state_path.exists():
        with State(state_path, create=False) as state:
            for record in state.records().values():
                if (repo / record.path).is_file():  # a record of a file gone manages nothing
                    out.setdefault(("id", record.connector_id), record.path)
    return out


def _objects(client: ExecutorClient, page_size: int) -> dict[str, str] | None:
    """Object id -> api_name, read as the plan reads them; None if the executor has none."""
    found = read_objects(client, page_size)
    return None if found is None else ExecutorFacts(objects=found).object_names


def _custom_object(value: Any, objects: Mapping[str, str] | None) -> tuple[Any, str | None]:
    """The manifest's custom_object for a live value, and a note when it stays an id."""
    if isinstance(value, Mapping):  # an expanded object: its api_name if it gives one
        if isinstance(value.get("name"), str):
            return value["name"], None
        value = value.get("id")
    if value is None or not isinstance(value, str):
        return value, None
    if objects is None:
        return value, (f"the object's id: this executor serves no {CUSTOM_OBJECTS} to "
                       "name it")
    if value in objects:
        return objects[value], None
    if value in objects.values():
        return value, None
    return value, f"the object's id: {CUSTOM_OBJECTS} does not list it"


def _stem(item: LiveConnector, folder: Path, taken: set[str]) -> str:
    """The file name: the api_name, or for one the schema refuses a safe stand-in."""
    if API_NAME.fullmatch(item.api_name) and item.api_name not in taken:
        return item.api_name
    base = re.sub(r"[^a-z0-9_]+", "_", item.api_name.lower()).strip("_")[:56] or "connector"
    if not base[0].isalpha():
        base = f"c_{base}"
    stem, n = base, 1
    while stem in taken or os.path.lexists(folder / f"{stem}.yaml"):
        n += 1
        stem = f"{base}_{n}"
    return stem


def _fill(entry: Entry, item: LiveConnector, objects: Mapping[str, str] | None, header: str,
          depth: int, checker: FileChecker) -> None:
    obj, note = _custom_object(item.raw.get("custom_object"), objects)
    data = manifest_data(item, obj)
    comments: dict[str, str] = {}
    if note:
        comments["custom_object"] = note
        entry.notes.append(f"custom_object {obj}: {note}")
    lines = [header, f"connector id {item.id}"]
    found = checker.check_bytes(render(data, lines, {}, depth).encode(), entry.path).findings
    for finding in found:
        if finding.severity is not Severity.ERROR:
            continue
        key = finding.pointer.split("/")[1] if finding.pointer.count("/") else ""
        key = key if key in data else "api_name"
        message = f"{finding.message} (kept as found)"
        comments[key] = f"{comments[key]}; {message}" if key in comments else message
        entry.problems.append(f"{entry.path}:{finding.line}: [{finding.rule}] {finding.message}")
    entry.text = render(data, lines, comments, depth)


def _write(repo: Path, folder: Path, entries: list[Entry], state_path: Path) -> None:
    if not entries:
        return
    folder.mkdir(parents=True, exist_ok=True)
    umask = os.umask(0o022)
    os.umask(umask)
    records = []
    for entry in entries:
        target = repo / entry.path
        if target.parent.resolve() != folder:  # the stem rules make this impossible
            raise UsageError(f"refusing to write {target}: outside {folder}")
        # A new file beside the old, then one rename: a reader never sees half a manifest,
        # and a symbolic link in the way is replaced, not followed.
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".import-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
                out.write(entry.text)
            os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 would hide it from the team
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        records.append(Record(entry.path, entry.connector_id, entry.api_name, None))
    with State(state_path) as state:
        state.save(records)


def report(result: ImportResult) -> str:
    """What was (or, in a dry run, would be) written, skipped and why; then the counts."""
    lines: list[str] = []
    verb = "would write" if result.dry_run else "wrote"
    for entry in result.entries:
        if entry.writes:
            lines.append(f"{entry.outcome.value:<16} {entry.path} ({entry.api_name})")
            lines.extend(f"  note: {note}" for note in entry.notes)
            lines.extend(f"  cannot be held by a valid manifest, kept as found: {problem}"
                         for problem in entry.problems)
            if result.dry_run:
                lines.append(f"--- {verb} {entry.path}")
                lines.extend(entry.text.splitlines())
                lines.append("---")
        else:
            lines.append(f"{entry.outcome.value:<16} {entry.path} ({entry.api_name}): "
                         f"{entry.reason}")
    lines.extend(f"not found        no live connector has the api_name '{name}'"
                 for name in result.missing)
    written = result.count(Outcome.IMPORTED, Outcome.REPLACED)
    held = sum(1 for e in result.entries if e.writes and e.problems)
    parts = [f"{written} {'to import' if result.dry_run else 'imported'}",
             f"{result.count(Outcome.SKIPPED)} skipped (file exists)",
             f"{result.count(Outcome.MANAGED)} already managed"]
    if held:
        parts.append(f"{held} with values a valid manifest cannot hold (see the comments)")
    if result.missing:
        parts.append(f"{len(result.missing)} not found")
    tail = " Dry run: nothing was written." if result.dry_run else ""
    lines.append(f"Import: {', '.join(parts)}.{tail}")
    return "\n".join(lines) + "\n"
