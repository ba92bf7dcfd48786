"""`scsync up`: run the embedded executor and the controller on the repo in this folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "up", help="start the executor and the controller on this repository",
        description="The one command to start with: the embedded executor and the controller "
        "together on the repository in the current folder (state under .scsync/, loopback "
        "ports), applying every commit to connectors/. Ctrl-C stops both.")
    parser.add_argument("--port", type=int, default=8765,
                        help="executor port (default: %(default)s)")
    parser.add_argument("--listen-port", type=int, default=9090,
                        help="controller port for /status, /metrics, /hooks/git "
                             "(default: %(default)s)")
    parser.add_argument("--interval", type=float, default=2.0, metavar="SECONDS",
                        help="how often the branch is checked (default: %(default)g)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scsync.controller.settings import check_interval, check_port
    from scsync.controller.up import UpOptions, up

    # Fixed ports (the banner prints them), checked as `scsync controller` checks its own.
    check_port(args.port, "--port")
    check_port(args.listen_port, "--listen-port")
    check_interval(args.interval)
    return up(UpOptions(Path.cwd(), args.port, args.listen_port, args.interval), sys.stdout)
