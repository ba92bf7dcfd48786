"""`scsync run API_NAME` and `scsync executions API_NAME`: trigger and follow executions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scsync.cli.plan import DEFAULT_URL


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("api_name", metavar="API_NAME", help="the connector's api_name")
    parser.add_argument("--executor", metavar="URL", default=DEFAULT_URL,
                        help="executor API (default: %(default)s)")
    parser.add_argument("--repo", type=Path, default=Path("."),
                        help="where the local executor's key file is (default: .)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = subparsers.add_parser(
        "run", help="trigger an execution of a connector",
        description="Queue an execution (never refused: it waits while the connector is not "
        "executable or at its limit). With --wait, show its progress until it ends, then its "
        "status and record counts; exit 0 on success, 1 otherwise.")
    _common(run)
    run.add_argument("--dry-run", action="store_true", help="ask the job not to write")
    run.add_argument("--no-diff-check", action="store_true", help="disable the diff check")
    run.add_argument("--wait", action="store_true", help="follow the execution to its end")
    run.add_argument("--timeout", type=float, metavar="SECONDS",
                     help="with --wait, stop waiting after SECONDS (the execution goes on)")
    run.set_defaults(func=run_run)
    executions = subparsers.add_parser(
        "executions", help="list a connector's recent executions",
        description="Recent executions of a connector, newest first, with their status, "
        "reason and record counts.")
    _common(executions)
    executions.add_argument("--limit", type=int, default=20, help="(default: %(default)s)")
    executions.add_argument("--status", help="only executions in this status")
    executions.set_defaults(func=run_executions)


def run_run(args: argparse.Namespace) -> int:
    from scsync.client import ExecutorClient
    from scsync.controller.runs import trigger
    from scsync.controller.settings import check_interval

    if args.timeout is not None:  # before the request: a bad option must queue nothing
        check_interval(args.timeout, "--timeout")
    with ExecutorClient.from_env(args.executor, repo=args.repo) as client:
        return trigger(client, args.api_name, sys.stdout, dry_run=args.dry_run,
                       no_diff_check=args.no_diff_check, wait=args.wait, timeout=args.timeout)


def run_executions(args: argparse.Namespace) -> int:
    from scsync.client import ExecutorClient
    from scsync.controller.runs import list_recent
    from scsync.errors import UsageError

    if args.limit < 1:
        raise UsageError(f"--limit {args.limit}: list at least one execution")
    with ExecutorClient.from_env(args.executor, repo=args.repo) as client:
        return list_recent(client, args.api_name, sys.stdout, limit=args.limit,
                           status=args.status)
