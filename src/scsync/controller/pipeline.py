"""The one plan pipeline: desired manifests, git's renames and live state into a `Plan`.

`scsync plan`/`apply`/`watch` (controller/commands.py) and the reconcile loop
(controller/loop.py) all build their plan through `plan_against_live`, so a
pass of the controller plans exactly what `scsync plan` shows.  This module
never prompts or prints: the loop imports it, and must not import the
commands, which ask for confirmation on standard input.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from scsync.client import ExecutorClient
from scsync.controller.desired import Desired
from scsync.controller.facts import ExecutorFacts, read_facts
from scsync.controller.live import read_live, usage_check
from scsync.controller.plan import Plan, make_plan
from scsync.controller.state import Record
from scsync.errors import GitError
from scsync.gitsource import Repository, is_manifest_path, open_repo, work_tree_changes


def plan_against_live(desired: Desired, client: ExecutorClient, records: Mapping[str, Record],
                      *, renames: Mapping[str, str], allow: frozenset[tuple[str, str]],
                      prune: bool, page_size: int = 1000, kind: str = "auto") -> Plan:
    """Read live state (only for valid manifests: invalid ones plan nothing) and plan.

    `kind` is `--executor-kind`: "auto" detects it (controller/facts.py says how).
    """
    live = read_live(client, page_size) if desired.valid else []
    facts = ExecutorFacts()
    if desired.valid:
        need = any(c.custom_object for c in desired.connectors.values()) or any(
            c.raw.get("custom_object") for c in live)
        facts = read_facts(client, kind, need_objects=need, page_size=page_size)
    return make_plan(desired, live, records, in_use=usage_check(client), renames=renames,
                     allow=allow, prune=prune, executor=client.base_url, facts=facts)


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
