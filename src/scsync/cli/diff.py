"""`scsync diff`: review the connector changes between two git revisions."""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import UTC, datetime

from scsync.cli.common import add_format_option, add_output_option, emit
from scsync.errors import UsageError
from scsync.findings import Severity
from scsync.manifest.discover import DEFAULT_FOLDER
from scsync.review.engine import ReviewOptions, review

_ALLOW = re.compile(r"([^\s:]+):([^\s:]+)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="review the connector changes between two git revisions",
        description="Compare the manifests of two git revisions, as a pull-request review: "
        "every changed setting, what it does to the running connector, and the head side "
        "validated as `scsync validate` would. Reads git objects only; the work tree is not "
        "touched. Exit 0 nothing failing, 1 failing findings, 2 usage or git error.",
    )
    parser.add_argument(
        "base", metavar="BASE",
        help="the revision the change is made against; BASE...HEAD compares from their merge "
        "base (what a pull request adds), BASE..HEAD the two trees",
    )
    parser.add_argument("head", metavar="HEAD", nargs="?", help="the changed revision "
                        "(default HEAD)")
    parser.add_argument("--repo", default=".", metavar="PATH",
                        help="the git repository (default: the one holding the current folder)")
    parser.add_argument("--folder", default=DEFAULT_FOLDER, metavar="DIR",
                        help="the manifest folder, relative to the repository "
                        f"(default {DEFAULT_FOLDER})")
    parser.add_argument(
        "--fail-on", choices=["error", "warning"], default="error",
        help="the lowest severity that fails the command (exit 1; default error)",
    )
    parser.add_argument(
        "--allow-api-name-change", action="append", default=[], metavar="OLD:NEW",
        help="accept this one api_name change (repeatable): it is still reported as breaking "
        "but no longer fails",
    )
    add_format_option(parser, ["text", "markdown", "json", "github", "sarif", "junit"])
    add_output_option(parser)
    parser.set_defaults(func=run)


def parse_allowances(values: list[str]) -> frozenset[tuple[str, str]]:
    pairs = set()
    for value in values:
        match = _ALLOW.fullmatch(value.strip())
        if not match or match.group(1) == match.group(2):
            raise UsageError(
                f"--allow-api-name-change takes OLD:NEW, two different api_names joined by "
                f"':' (for example hubspot_contacts:hubspot_people); got {value!r}"
            )
        pairs.add((match.group(1), match.group(2)))
    return frozenset(pairs)


def run(args: argparse.Namespace) -> int:
    started, clock = datetime.now(UTC), time.perf_counter()
    options = ReviewOptions(
        folder=args.folder, allow_api_name_changes=parse_allowances(args.allow_api_name_change)
    )
    result = review(args.base, args.head, repo=args.repo, options=options)
    for unused in result.unused_allowances:
        sys.stderr.write(f"scsync: note: --allow-api-name-change {unused} matches no api_name "
                         "change in this diff\n")
    failing = {Severity.ERROR} | ({Severity.WARNING} if args.fail_on == "warning" else set())
    report = result.report(frozenset(failing), started=started,
                           elapsed=time.perf_counter() - clock)
    emit(report, args)
    return 0 if report.passed else 1
