"""`scsync plan`: what apply would change, per connector, against the live executor."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the controller loads only when a controller command runs
    from scsync.controller.commands import PlanOptions

DEFAULT_URL = "http://127.0.0.1:8765"


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, default=Path("."),
                        help="repository holding connectors/ (default: the current folder)")
    parser.add_argument("--ref", metavar="REF",
                        help="plan the manifests of this git revision (default: the work tree)")
    parser.add_argument("--executor", metavar="URL", default=DEFAULT_URL,
                        help="executor API (default: %(default)s); credentials come from "
                             "SCSYNC_API_KEY, SCSYNC_BUSINESS_ID, SCSYNC_USER_ID or the local "
                             "executor's key file")
    add_kind_option(parser)
    parser.add_argument("--format", "-f", choices=["text", "json", "markdown"], default="text",
                        help="output format (default: text)")
    parser.add_argument("--detailed-exitcode", action="store_true",
                        help="exit 0 in sync, 2 with changes, 1 on error (as Terraform)")
    parser.add_argument("--prune", action="store_true",
                        help="set live connectors no manifest manages to Inactive "
                             "(nothing is ever deleted)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="controller state folder (default: REPO/.scsync)")
    # On plan too: the escape can be previewed before it is applied.
    parser.add_argument("--allow-api-name-change", action="append", metavar="OLD:NEW",
                        help="accept breaking callers of OLD on a connector in use "
                             "(repeatable; nothing else lets SC100 pass)")


def add_kind_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor-kind", choices=["auto", "embedded", "kizen"],
                        default="auto",
                        help="what the executor is (default: auto, detected: scsync's own "
                             "executor by its OpenAPI title or /healthz, anything else is "
                             "Kizen); on Kizen a manifest with no live connector is created "
                             "only if it declares connector_type and custom_object")


def options(args: argparse.Namespace) -> PlanOptions:
    from scsync.controller.commands import PlanOptions
    from scsync.controller.settings import parse_allow

    return PlanOptions(
        repo=args.repo, executor=args.executor, ref=args.ref, output_format=args.format,
        detailed_exitcode=getattr(args, "detailed_exitcode", False), prune=args.prune,
        data_dir=args.data_dir, allow=parse_allow(args.allow_api_name_change),
        auto_approve=getattr(args, "auto_approve", False), executor_kind=args.executor_kind,
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan", help="show what apply would change in the executor",
        description="Compare the manifests (work tree, or --ref) with the live executor: per "
        "connector create, update (field, live, desired), in sync or refused (rule id); live "
        "connectors no manifest manages are listed.")
    add_plan_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scsync.controller.commands import run_plan

    return run_plan(options(args))
