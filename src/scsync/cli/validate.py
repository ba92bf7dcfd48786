"""`scsync validate`: check manifests against the schema and the rules."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from scsync.checks.pipeline import validate
from scsync.checks.schema import load_schema
from scsync.cli.common import add_format_option, add_output_option, emit
from scsync.errors import UsageError
from scsync.findings import Severity
from scsync.manifest.discover import DEFAULT_FOLDER, STDIN
from scsync.manifest.loader import DEFAULT_MAX_BYTES
from scsync.report import Report
from scsync.report.sources import Sources, disk_reader, source_text
from scsync.rules import RULES


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check manifests against the schema and the rules",
        description="Check SmartConnector manifests: strict YAML, the JSON Schema, each "
        "connector's settings and the set as a whole. Exit 0 valid (warnings allowed), "
        "1 invalid, 2 usage error.",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help=f"manifest files and folders ('-' reads standard input; default: {DEFAULT_FOLDER}/)",
    )
    parser.add_argument(
        "--schema", metavar="FILE", help="validate against this JSON Schema instead"
    )
    parser.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    parser.add_argument(
        "--ignore", action="append", default=[], metavar="RULE",
        help="drop findings of this warning or notice rule, e.g. SC045 (repeatable; "
        "errors cannot be ignored)",
    )
    parser.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, metavar="N",
        help=f"refuse files larger than N bytes (default {DEFAULT_MAX_BYTES})",
    )
    parser.add_argument(
        "--jobs", "-j", type=int, default=None, metavar="N",
        help="worker processes (default: one per core for large sets, 1 for small ones)",
    )
    add_format_option(parser, ["text", "json", "github", "sarif", "junit"])
    add_output_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.max_bytes < 1:
        raise UsageError("--max-bytes must be a positive number of bytes")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be 1 or more")
    started, clock = datetime.now(UTC), time.perf_counter()
    ignored = _ignored_rules(args.ignore)
    paths = args.paths or [DEFAULT_FOLDER]
    schema = load_schema(args.schema)
    # standard input is read here, not in the pipeline, so a report can quote its lines
    stdin = sys.stdin.buffer.read() if STDIN in paths else None
    result = validate(paths, schema=schema, max_bytes=args.max_bytes, jobs=args.jobs,
                      stdin=stdin)
    failing = frozenset({Severity.ERROR, Severity.WARNING} if args.strict else {Severity.ERROR})
    findings = [f for f in result.findings if f.rule not in ignored]
    stdin_text = None if stdin is None else source_text(stdin, args.max_bytes)
    report = Report(command="validate", files=result.files, findings=findings, failing=failing,
                    sources=Sources.here(disk_reader(args.max_bytes, stdin_text)),
                    started=started, elapsed=time.perf_counter() - clock)
    if not result.files:
        sys.stderr.write(f"scsync: no manifests (*.yaml, *.yml) found in {', '.join(paths)}\n")
    emit(report, args)
    return 0 if report.passed else 1


def _ignored_rules(values: list[str]) -> frozenset[str]:
    """Rule ids from --ignore; an unknown id or an error rule is a usage error.

    Errors stay unignorable: an invalid manifest must never pass CI because a
    flag was copied from somewhere.
    """
    ids = frozenset(v.strip().upper() for value in values for v in value.split(",") if v.strip())
    for rule_id in sorted(ids):
        rule = RULES.get(rule_id)
        if rule is None:
            raise UsageError(f"--ignore {rule_id}: no such rule (`scsync rules` lists them)")
        if rule.severity is Severity.ERROR:
            raise UsageError(f"--ignore {rule_id}: {rule.name} is an error and cannot be ignored")
    return ids
