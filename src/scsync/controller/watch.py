"""`scsync watch`: the local loop.  On every save: validate, plan, apply, print what changed.

It applies the work tree, saved or not yet committed, to the executor; the
controller is the one that follows git.  Saves are debounced (an editor's save
is often several writes) and each round takes well under a second on a laptop.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TextIO

import watchfiles

from scsync.client import ExecutorClient
from scsync.controller import rules
from scsync.controller.apply import apply_plan
from scsync.controller.commands import PlanOptions, build_plan, session
from scsync.controller.plan import Action
from scsync.controller.state import State
from scsync.errors import ScsyncError
from scsync.gitsource import is_manifest_path

DEBOUNCE_MS = 100


def watch(options: PlanOptions, out: TextIO, stop: threading.Event | None = None) -> int:
    folder = options.repo / options.folder
    if not folder.is_dir():
        raise ScsyncError(f"no {options.folder}/ folder in {options.repo} to watch")
    with session(options) as (client, state):
        out.write(f"watching {folder} -> {client.base_url} (Ctrl-C stops)\n")
        _round(options, client, state, out, "start")
        for changes in watchfiles.watch(folder, debounce=DEBOUNCE_MS, step=20,
                                        stop_event=stop, raise_interrupt=False,
                                        watch_filter=_manifests(options.repo, options.folder)):
            changed = sorted({Path(p).name for _kind, p in changes})
            _round(options, client, state, out, ", ".join(changed))
    return 0


def _manifests(root: Path, folder: str) -> watchfiles.BaseFilter:
    class Manifests(watchfiles.DefaultFilter):
        def __call__(self, change: watchfiles.Change, path: str) -> bool:
            try:
                rel = Path(path).resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                return False
            return super().__call__(change, path) and is_manifest_path(rel, folder)

    return Manifests()


def _round(options: PlanOptions, client: ExecutorClient, state: State, out: TextIO,
           what: str) -> None:
    started = time.monotonic()
    stamp = time.strftime("%H:%M:%S")
    try:
        plan = build_plan(options, client, state)
        if not plan.valid:
            out.write(f"{stamp} {what}: invalid, nothing applied\n")
            for f in plan.desired.errors:
                out.write(f"  {f.location()}: {f.rule}: {f.message}\n")
            out.flush()
            return
        lines: list[str] = []
        result = apply_plan(plan, client, state, log=lines.append)
    except ScsyncError as exc:
        out.write(f"{stamp} {what}: {exc}\n")
        out.flush()
        return
    for entry in plan.connectors:
        if entry.action in (Action.REFUSED, Action.ERROR):
            lines.append(f"  ! {entry.api_name}: {entry.reason}")
        for finding in entry.findings:
            if finding.rule != rules.API_NAME_CHANGE.id:
                lines.append(f"    {finding.rule}: {finding.message}")
    took = time.monotonic() - started
    summary = "in sync" if not lines else result.summary()
    out.write(f"{stamp} {what}: {summary} ({took * 1000:.0f} ms)\n")
    out.write("".join(line + "\n" for line in lines))
    out.flush()
