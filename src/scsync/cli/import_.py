"""`scsync import`: write a manifest for every live connector, and the state plan reads."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scsync.manifest.discover import DEFAULT_FOLDER


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "import", help="write manifests for the executor's live connectors",
        description="Read every live connector and write FOLDER/<api_name>.yaml for each, in "
        "the manifest's usual order with defaults left out, and record which file manages "
        "which connector where 'scsync plan' finds it. An existing file is never overwritten "
        "(--force replaces it); a connector a manifest in the folder already manages is "
        "skipped. A live value a valid manifest cannot hold is written as found with a "
        "comment on its line, and the exit code is 1.")
    parser.add_argument("--executor", metavar="URL",
                        help="executor API (default: SCSYNC_EXECUTOR_URL, else "
                             "http://127.0.0.1:8765); credentials come from SCSYNC_API_KEY, "
                             "SCSYNC_BUSINESS_ID, SCSYNC_USER_ID or the local executor's "
                             "key file")
    parser.add_argument("--repo", type=Path, default=Path("."),
                        help="repository to write into (default: the current folder)")
    parser.add_argument("--folder", default=DEFAULT_FOLDER, metavar="FOLDER",
                        help="folder of the repository the manifests go to "
                             "(default: %(default)s)")
    parser.add_argument("--select", nargs="+", default=[], metavar="API_NAME",
                        help="import only these connectors")
    parser.add_argument("--status", nargs="+", default=[], metavar="S",
                        help="import only connectors in these statuses (Operational, "
                             "'Operational - Needs Attention', Inactive, Setup, or the API's "
                             "operational, need_attention, inactive, setup)")
    parser.add_argument("--force", action="store_true",
                        help="replace files that already exist")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would be written; write nothing")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="controller state folder (default: REPO/.scsync), as for plan")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from scsync.client import ExecutorClient
    from scsync.controller.importer import (
        ImportOptions,
        header,
        import_connectors,
        report,
        statuses,
    )

    statuses(args.status)  # a bad --status is a usage error before any request
    options = ImportOptions(
        repo=args.repo, folder=args.folder,
        select=tuple(args.select), statuses=tuple(args.status), force=args.force,
        dry_run=args.dry_run,
        state_path=args.data_dir / "controller.db" if args.data_dir else None)
    with ExecutorClient.from_env(args.executor, repo=args.repo) as client:
        result = import_connectors(options, client, header(client.base_url, datetime.now(UTC)))
    sys.stdout.write(report(result))
    return 1 if result.failed else 0
