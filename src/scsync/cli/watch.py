"""`scsync watch [PATH]`: apply the work tree to the executor on every save."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scsync.cli.plan import DEFAULT_URL


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "watch", help="validate, plan and apply on every save (the local loop)",
        description="Watch PATH/connectors; on every save validate, plan and apply to the "
        "executor, printing what changed. Invalid manifests apply nothing. Ctrl-C stops.")
    parser.add_argument("path", nargs="?", type=Path, default=Path("."),
                        help="the repository folder (default: the current folder)")
    parser.add_argument("--executor", metavar="URL", default=DEFAULT_URL,
                        help="executor API (default: %(default)s)")
    parser.add_argument("--prune", action="store_true",
                        help="set live connectors no manifest manages to Inactive")
    parser.add_argument("--allow-api-name-change", action="append", metavar="OLD:NEW",
                        help="accept breaking callers of OLD (repeatable)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scsync.controller.commands import PlanOptions
    from scsync.controller.settings import parse_allow
    from scsync.controller.watch import watch

    options = PlanOptions(repo=args.path, executor=args.executor, prune=args.prune,
                          allow=parse_allow(args.allow_api_name_change), auto_approve=True)
    return watch(options, sys.stdout)
