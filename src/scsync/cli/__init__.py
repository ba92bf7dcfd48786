"""The command line: parse arguments, call one function, return its exit code.

Exit codes are a contract: 0 ok, 1 findings (invalid input, refused changes),
2 usage or environment error.  Commands never print tracebacks for bad input;
an unexpected exception is reported in one line (set SCSYNC_DEBUG=1 for the
traceback) and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from scsync import __version__
from scsync.errors import ScsyncError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

# One module per command under scsync.cli; each has `register(subparsers)`
# which adds its parser and sets `func(args) -> int`.
COMMAND_MODULES = [
    "validate",
    "executor",
    "plan", "apply", "run", "controller", "watch", "up",  # the controller (issue 5)
    "import_",  # adopting live connectors (issue 11)
    "diff",
    "rules",
]


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage already; keep its message but add the fix."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.stderr.write(f"Run '{self.prog} --help' for the options.\n")
        raise SystemExit(EXIT_USAGE)


# Commands whose module is named differently.
_MODULE_OF = {"executions": "run", "import": "import_"}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv`, only the invoked command's module is imported.

    Command modules import their implementation (gitpython, FastAPI, requests);
    `scsync validate` in a pre-commit hook should not pay for the others.
    """
    parser = _Parser(prog="scsync", description="SmartConnector settings as code.")
    parser.add_argument("--version", action="version", version=f"scsync {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    first = next((a for a in argv or () if not a.startswith("-")), None)
    wanted = _MODULE_OF.get(first or "", first)
    modules = [wanted] if wanted in COMMAND_MODULES else COMMAND_MODULES
    for name in modules:
        module = importlib.import_module(f"scsync.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(arguments).parse_args(arguments)
    try:
        code: int = args.func(args)
        return code
    except ScsyncError as exc:
        sys.stderr.write(f"scsync: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("scsync: interrupted\n")
        return 130
    except BrokenPipeError:
        # `scsync ... | head`: the reader went away; that is not our error.
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
        if os.environ.get("SCSYNC_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(
            f"scsync: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in scsync; rerun with SCSYNC_DEBUG=1 for the traceback and report it.\n"
        )
        return EXIT_USAGE


def entry() -> None:
    raise SystemExit(main())
