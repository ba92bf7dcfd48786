"""Options and output shared by several commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scsync.errors import UsageError
from scsync.report import Report, auto_format, get_reporter


def add_format_option(parser: argparse.ArgumentParser, choices: list[str]) -> None:
    parser.add_argument(
        "--format", "-f", choices=["auto", *choices], default="auto",
        help="output format (default auto: github under GitHub Actions, text elsewhere)",
    )


def add_output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", "-o", metavar="FILE",
        help="write the report to FILE instead of standard output (the summary still goes "
        "to standard error)",
    )


def emit(report: Report, args: argparse.Namespace) -> None:
    name = auto_format() if args.format == "auto" else args.format
    text = get_reporter(name).render(report)
    if args.output:
        try:
            Path(args.output).write_text(text, "utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        sys.stderr.write(report.summary() + "\n")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
