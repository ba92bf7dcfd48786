"""`scsync plan` and `scsync apply`: one plan of the work tree (or a ref) against the executor.

Exit codes, as Terraform's: plan 0 ok, 1 error; with --detailed-exitcode 0 in
sync, 2 changes, 1 error (an unreachable executor included, so that 2 always
means "changes").  apply 0 everything applied, 1 a connector failed or was
refused or the manifests are invalid, 2 a usage error (no TTY to confirm on).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from scsync.client import Credentials, ExecutorClient
from scsync.controller.apply import ApplyResult, apply_plan
from scsync.controller.desired import DesiredReader
from scsync.controller.pipeline import git_renames, plan_against_live, work_tree_renames
from scsync.controller.plan import Plan
from scsync.controller.render import RENDERERS
from scsync.controller.settings import DEFAULT_DATA_DIR
from scsync.controller.state import LAST_APPLIED, State
from scsync.errors import ScsyncError, UsageError
from scsync.gitsource import open_repo
from scsync.manifest.discover import DEFAULT_FOLDER


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
    executor_kind: str = "auto"

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
    last_applied = state.get(LAST_APPLIED)
    if options.ref is None:
        desired = reader.work_tree(options.repo)
        renames, commit = work_tree_renames(options.repo, last_applied, options.folder,
                                            records)
    else:
        with open_repo(str(options.repo)) as repo:
            commit = repo.resolve(options.ref, role="--ref")
            desired = reader.at_commit(repo, commit)
            renames = git_renames(repo, last_applied, commit, options.folder)
    plan = plan_against_live(desired, client, records, renames=renames, allow=options.allow,
                             prune=options.prune, page_size=options.page_size,
                             kind=options.executor_kind)
    plan.commit = commit
    return plan


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
        state.put(LAST_APPLIED, plan.commit)
    return result


def _adopt_only(plan: Plan, client: ExecutorClient, state: State) -> None:
    """With nothing to write, still record which connector each manifest manages."""
    _apply(plan, client, state)


def _progress(line: str) -> None:
    sys.stderr.write(line + "\n")
