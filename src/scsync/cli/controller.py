"""`scsync controller`: reconcile every new commit of a branch onto the executor."""

from __future__ import annotations

import argparse
from pathlib import Path

from scsync.cli.plan import DEFAULT_URL, add_kind_option
from scsync.manifest.discover import DEFAULT_FOLDER


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "controller", help="reconcile a git branch onto the executor, continuously",
        description="Clone or fetch the repository and apply every new commit of the branch. "
        "A commit whose manifests do not validate applies nothing; the last good commit stays "
        "in force. Endpoints: the web UI at GET /, POST /hooks/git (GitHub push, signed with "
        "SCSYNC_GIT_WEBHOOK_SECRET), GET /healthz /readyz /metrics /status. Beyond a "
        "loopback --listen address the UI and /status ask every client for "
        "'Authorization: Bearer TOKEN' (SCSYNC_UI_TOKEN or SCSYNC_UI_TOKEN_FILE; without "
        "one the controller does not start).")
    parser.add_argument("--repo", required=True, metavar="PATH_OR_URL",
                        help="the repository to follow (a local path or a clone URL)")
    parser.add_argument("--branch", default="main", help="(default: %(default)s)")
    parser.add_argument("--executor", metavar="URL", default=DEFAULT_URL,
                        help="executor API (default: %(default)s)")
    add_kind_option(parser)
    parser.add_argument("--interval", type=float, default=60.0, metavar="SECONDS",
                        help="seconds between passes without a webhook (default: %(default)g)")
    parser.add_argument("--listen", default="127.0.0.1:9090", metavar="HOST:PORT",
                        help="address of the endpoints and the web UI (default: %(default)s; "
                             "beyond loopback SCSYNC_UI_TOKEN is required)")
    parser.add_argument("--drift", choices=["fix", "warn"], default="fix",
                        help="undo changes made by hand in the executor (fix, the default) or "
                             "only report them (warn)")
    parser.add_argument("--prune", action="store_true",
                        help="set live connectors no manifest manages to Inactive")
    parser.add_argument("--allow-api-name-change", action="append", metavar="OLD:NEW",
                        help="accept breaking callers of OLD (repeatable)")
    parser.add_argument("--folder", default=DEFAULT_FOLDER,
                        help="manifest folder in the repository (default: %(default)s)")
    parser.add_argument("--data-dir", type=Path, default=Path(".scsync"), metavar="DIR",
                        help="state and mirror folder (default: %(default)s)")
    parser.add_argument("--lock", metavar="POSTGRESQL_URL",
                        help="run any number of controllers of this repository, branch and "
                             "executor: one leads (a PostgreSQL advisory lock), the others "
                             "stand by, and the state lives in that database (default: "
                             "SCSYNC_LOCK_URL, where a password stays out of argv; neither: "
                             "one controller, its state in DIR/controller.db)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scsync.controller.server import configure_logging, serve
    from scsync.controller.settings import settings_from_args

    configure_logging()
    return serve(settings_from_args(args))
