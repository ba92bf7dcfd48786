"""The documents a user reads stay true to the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_rules_page_is_the_generated_table() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "scsync", "rules", "--format", "markdown"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert (ROOT / "docs" / "rules.md").read_text("utf-8") == out, (
        "docs/rules.md is stale: run `scsync rules --format markdown > docs/rules.md`"
    )


def test_rules_cover_every_range_and_a_taken_id_cannot_be_reused() -> None:
    import pytest

    from scsync.findings import Severity
    from scsync.rules import Rule, register

    out = subprocess.run(
        [sys.executable, "-m", "scsync", "rules", "--format", "text"],
        capture_output=True, text=True, check=True,
    ).stdout
    ids = [line.split()[0] for line in out.splitlines()]
    # ids are a public contract: registering another meaning under a taken id fails
    with pytest.raises(ValueError, match="SC001 is already taken"):
        register(Rule("SC001", "something-else", Severity.ERROR, "x", "y"))
    # loading, schema, settings, the set, review, plan
    for prefix in ("SC00", "SC02", "SC04", "SC05", "SC10", "SC12"):
        assert any(i.startswith(prefix) for i in ids), prefix


def test_readme_documents_every_command() -> None:
    import argparse

    from scsync.cli import build_parser

    readme = (ROOT / "README.md").read_text("utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in sub.choices:
        assert f"scsync {command}" in readme, f"README does not mention `scsync {command}`"
