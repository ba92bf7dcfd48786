"""`scsync apply`: carry out the plan (after a confirmation, or with --auto-approve)."""

from __future__ import annotations

import argparse

from scsync.cli.plan import add_plan_options, options


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "apply", help="apply the manifests to the executor",
        description="Show the plan, ask for confirmation, then apply it. A second apply makes "
        "no write. One failing connector does not stop the others. Exit 0 all applied, "
        "1 a connector failed or was refused, 2 usage error.")
    add_plan_options(parser)
    parser.add_argument("--auto-approve", action="store_true",
                        help="apply without asking (for scripts and CI)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scsync.controller.commands import run_apply

    return run_apply(options(args))
