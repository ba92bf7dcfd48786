"""`scsync executor serve`: run the embedded SmartConnector executor.

Secrets are read from the environment (SCSYNC_API_KEY or SCSYNC_API_KEY_FILE,
SCSYNC_BUSINESS_ID, SCSYNC_WEBHOOK_SECRET), never from options `ps` would show.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "executor", help="run the embedded SmartConnector executor",
        description="The embedded executor: Kizen's SmartConnector API on a local port.")
    commands = parser.add_subparsers(dest="executor_command", metavar="COMMAND",
                                     parser_class=type(parser))
    commands.required = True
    serve = commands.add_parser(
        "serve", help="serve the executor API until interrupted",
        description="Serve the executor API. With no SCSYNC_API_KEY in the environment, a key is "
                    "generated once and kept in <repo>/.scsync/api-key (mode 0600); a .scsync "
                    "folder serve creates is git-ignored.")
    serve.add_argument("--db", metavar="PATH_OR_URL",
                       help="the SQLite file (default: .scsync/executor.db), or a "
                            "postgresql:// URL for replicas on one database; without --db, "
                            "SCSYNC_DB_URL (keeps a password out of the command line)")
    serve.add_argument("--max-jobs", type=int, metavar="N",
                       help="jobs this process runs at once, over all connectors (default: "
                            "no cap); replicas at their cap leave queued executions to others")
    serve.add_argument("--lease", type=float, default=15.0, metavar="SECONDS",
                       help="on PostgreSQL: a replica silent this long is taken as lost and "
                            "its running executions end as error (default: %(default)s)")
    serve.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                       help="how often queues are looked at anyway, should a wake-up be "
                            "missed; replicas wake each other at once (default: %(default)s)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="listen address (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=8765,
                       help="listen port (default: %(default)s)")
    serve.add_argument("--repo", type=Path, default=Path("."),
                       help="repository the jobs run in (default: the current directory)")
    serve.add_argument("--smtp-host", help="mail server for notification emails")
    serve.add_argument("--smtp-port", type=_port, default=25, help="(default: %(default)s)")
    serve.add_argument("--allow-webhook-host", action="append", default=[], metavar="HOST",
                       help="exempt HOST from the webhook SSRF guard (repeatable; for local "
                            "development receivers)")
    serve.add_argument("--cadence-choices", type=_cadences, default=(), metavar="SECONDS,...",
                       help="offer and enforce only these cadences, as Kizen does (like "
                            "300,3600,86400); default: any whole seconds up to 30 days")
    serve.add_argument("--custom-object", action="append", default=[], type=_object,
                       metavar="API_NAME[=LABEL]",
                       help="an object connectors may load into, beside the built-in "
                            "client_client (repeatable; GET /api/custom-objects lists them)")
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    # Imported here: the server stack (uvicorn, FastAPI) is not loaded by other commands.
    from scsync.executor.server import serve
    from scsync.executor.settings import load_settings

    if args.db and "://" in args.db and urlsplit(args.db).password:
        print("warning: --db holds a password, which any local user can read in the "
              "process list; give the URL in SCSYNC_DB_URL instead", file=sys.stderr)
    settings = load_settings(
        db_path=args.db, repo=args.repo, host=args.host, port=args.port,
        smtp_host=args.smtp_host, smtp_port=args.smtp_port,
        allow_webhook_hosts=tuple(args.allow_webhook_host),
        cadence_choices=args.cadence_choices,
        custom_objects=tuple(args.custom_object), lease_seconds=args.lease,
        poll_seconds=args.poll, max_jobs=args.max_jobs,
    )
    return serve(settings, access_log=not args.no_access_log)


def _cadences(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a comma-separated list of seconds, like 300,3600,86400") from None


def _object(value: str) -> object:
    from scsync.executor.dialect import custom_object

    try:
        return custom_object(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number")
    return port
