"""`scsync plan` and `scsync apply`: one plan of the work tree (or a ref) against the executor.

Exit codes, as Terraform's: plan 0 ok, 1 error; with --detailed-exitcode 0 in
sync, 2 changes, 1 error (an unreachable executor included, so that 2 always
means "changes").  apply 0 everything applied, 1 a connector failed or was
refused or the manifests are invalid, 2 a usage error (no TTY to confirm on).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from scsync.client import Credentials, ExecutorClient
from scsync.controller import state as state_keys
from scsync.controller.apply import ApplyResult, apply_plan
from scsync.controller.desired import DesiredReader
from scsync.controller.live import read_live, usage_check
from scsync.controller.plan import Plan, make_plan
from scsync.controller.render import RENDERERS
from scsync.controller.settings import DEFAULT_DATA_DIR, DEFAULT_FOLDER
from scsync.controller.state import Record, State
from scsync.errors import GitError, ScsyncError, UsageError
from scsync.gitsource import Repository, is_manifest_path, open_repo, work_tree_changes


@dataclass(frozen=True, slots=True)
class PlanOptions:
    repo: Path
    executor: str
    ref: str | None = None
    output_format: str = "text"
    detailed_exitcode: bool = False
    prune: bool = False
    data_dir: Path | None = None
    folder: str = DEFAULT_FOLDER
    allow: frozenset[tuple[str, str]] = frozenset()
    auto_approve: bool = False
    page_size: int = 1000

    @property
    def state_path(self) -> Path:
        return (self.data_dir or self.repo / DEFAULT_DATA_DIR) / "controller.db"


@contextmanager
def session(options: PlanOptions, *,
            write: bool = True) -> Iterator[tuple[ExecutorClient, State]]:
    """`write=False` for plan: it reads the state and must never create it."""
    credentials = Credentials.from_env(options.repo)
    with ExecutorClient(options.executor, credentials) as client, \
            State(options.state_path, create=write) as state:
        yield client, state


def build_plan(options: PlanOptions, client: ExecutorClient, state: State) -> Plan:
    reader = DesiredReader(options.folder)
    records = state.records()
    last_applied = state.get(state_keys.LAST_APPLIED)
    if options.ref is None:
        desired = reader.work_tree(options.repo)
        renames, commit = work_tree_renames(options.repo, last_applied, options.folder,
                                            records)
    else:
        with open_repo(str(options.repo)) as repo:
            commit = repo.resolve(options.ref, role="--ref")
            desired = reader.at_commit(repo, commit)
            renames = git_renames(repo, last_applied, commit, options.folder)
    live = read_live(client, options.page_size) if desired.valid else []
    plan = make_plan(desired, live, records, in_use=usage_check(client),
                     renames=renames, allow=options.allow, prune=options.prune,
                     executor=client.base_url)
    plan.commit = commit
    return plan


def work_tree_renames(root: Path, last_applied: str | None, folder: str,
                      records: Mapping[str, Record]) -> tuple[dict[str, str], str | None]:
    """git's renames from the last applied commit and from HEAD to the work tree.

    Also HEAD when the manifests in the work tree are HEAD's (nothing changed under
    `folder`): applying them applies that commit, and recording it lets a later
    `--ref` plan find git's renames from there.  A folder that is not a git
    repository (or has no commit yet) has neither.
    """
    renames: dict[str, str] = {}
    clean: str | None = None
    try:
        with open_repo(str(root)) as repo:
            if Path(repo.root).resolve() != root.resolve():
                return {}, None  # manifest paths are relative to --repo, git's to its root
            head = repo.resolve("HEAD", role="HEAD")
            for base in dict.fromkeys(b for b in (last_applied, head) if b):
                try:
                    changes = work_tree_changes(repo, base, folder)
                except GitError:
                    continue  # the last applied commit is gone (force-push, another clone)
                if base == head and not changes:
                    clean = head
                for c in changes:
                    if (c.status != "R" or not c.new_path or not c.old_path
                            or not is_manifest_path(c.new_path, folder)):
                        continue
                    # Two bases may disagree; the one whose old path has a record pairs.
                    if renames.get(c.new_path) not in records:
                        renames[c.new_path] = c.old_path
    except GitError:
        return {}, None
    return renames, clean


def git_renames(repo: Repository, base: str | None, head: str, folder: str) -> dict[str, str]:
    """new path -> old path for the manifests git sees renamed since `base`."""
    if not base or base == head:
        return {}
    try:
        changes = repo.changed_paths(base, head, folder)
    except GitError:
        return {}  # the old commit is gone (force-push): pairing falls back on names
    return {c.new_path: c.old_path for c in changes
            if c.status == "R" and c.new_path and c.old_path
            and is_manifest_path(c.new_path, folder)}


def run_plan(options: PlanOptions, out: TextIO = sys.stdout) -> int:
    try:
        with session(options, write=False) as (client, state):
            plan = build_plan(options, client, state)
    except ScsyncError as exc:
        if not options.detailed_exitcode:
            raise
        sys.stderr.write(f"scsync: error: {exc}\n")
        return 1
    out.write(RENDERERS[options.output_format](plan, None))
    if plan.has_errors:
        return 1
    return 2 if options.detailed_exitcode and plan.has_changes else 0


def run_apply(options: PlanOptions, out: TextIO = sys.stdout) -> int:
    with session(options) as (client, state):
        plan = build_plan(options, client, state)
        if not plan.valid or not plan.has_changes:
            out.write(RENDERERS[options.output_format](plan, None))
            if plan.valid:
                _adopt_only(plan, client, state)
            return 1 if plan.has_errors else 0
        if not options.auto_approve:
            # Standard output carries the --format report alone (JSON a program
            # parses): with another format, the question goes to standard error.
            ui = out if options.output_format == "text" else sys.stderr
            ui.write(RENDERERS["text"](plan, None))
            ui.flush()
            if not sys.stdin.isatty():
                raise UsageError("not applying without confirmation: standard input is not a "
                                 "terminal; pass --auto-approve to apply from a script")
            ui.write("Apply these changes? Only 'yes' applies: ")
            ui.flush()
            if sys.stdin.readline().strip() != "yes":
                ui.write("Apply cancelled: nothing was changed.\n")
                return 1
        result = _apply(plan, client, state, log=_progress)
    out.write(RENDERERS[options.output_format](plan, result))
    return 1 if plan.has_errors or result.failed or result.aborted else 0


def _apply(plan: Plan, client: ExecutorClient, state: State,
           log: Callable[[str], None] | None = None) -> ApplyResult:
    result = apply_plan(plan, client, state, commit=plan.commit, log=log)
    if plan.commit is not None and not result.aborted:
        # Later plans (of a ref, or of the work tree) find git's renames from here.
        state.put(state_keys.LAST_APPLIED, plan.commit)
    return result


def _adopt_only(plan: Plan, client: ExecutorClient, state: State) -> None:
    """With nothing to write, still record which connector each manifest manages."""
    _apply(plan, client, state)


def _progress(line: str) -> None:
    sys.stderr.write(line + "\n")
