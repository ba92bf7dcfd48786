"""Data-driven cases: every file under tests/examples/{valid,invalid}/ is one test.

A file declares what scsync must report about it in comment lines:

    # expect: SC021 7:1 did you mean 'description'?

rule id, line:column, and optionally text that the message or hint contains.
The findings must be exactly the declared ones (no more, no fewer).  Files
under valid/ must have no error; files under invalid/ at least one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from scsync.checks.pipeline import validate
from scsync.findings import Severity

EXAMPLES = Path(__file__).parent / "examples"
RunCli = Callable[..., tuple[int, str, str]]
EXPECT = re.compile(r"^# expect: (SC\d{3}) (\d+):(\d+)(?: (.+))?$")


def _examples(kind: str) -> list[Path]:
    return sorted(p for p in (EXAMPLES / kind).iterdir() if p.suffix in (".yaml", ".yml"))


def _expectations(path: Path) -> list[tuple[str, int, int, str | None]]:
    out = []
    for line in path.read_text("utf-8").splitlines():
        match = EXPECT.match(line)
        if match:
            rule, ln, col, text = match.groups()
            out.append((rule, int(ln), int(col), text))
    return out


def _check_example(path: Path) -> list[str]:
    """Validate one example alone; return its findings' rule ids by severity."""
    result = validate([str(path)])
    expected = _expectations(path)
    found = Counter((f.rule, f.line, f.column) for f in result.findings)
    declared = Counter((rule, ln, col) for rule, ln, col, _ in expected)
    assert found == declared, "\n".join(
        f"{f.location()}: {f.severity.value}[{f.rule}] {f.message}" for f in result.findings
    )
    for rule, ln, col, text in expected:
        if text:
            texts = [
                f"{f.message}\n{f.hint or ''}"
                for f in result.findings
                if (f.rule, f.line, f.column) == (rule, ln, col)
            ]
            assert any(text in t for t in texts), (rule, ln, col, text, texts)
    return [f.severity.value for f in result.findings]


@pytest.mark.parametrize("path", _examples("valid"), ids=lambda p: p.name)
def test_valid_example(path: Path) -> None:
    severities = _check_example(path)
    assert Severity.ERROR.value not in severities


@pytest.mark.parametrize("path", _examples("invalid"), ids=lambda p: p.name)
def test_invalid_example(path: Path) -> None:
    assert _expectations(path), f"{path.name} declares no '# expect:' line"
    severities = _check_example(path)
    assert Severity.ERROR.value in severities


def test_examples_through_the_cli(run_cli: RunCli) -> None:
    """The whole folders through the real command: valid passes, invalid fails on every file."""
    code, out, err = run_cli("validate", EXAMPLES / "valid")
    assert code == 0, out + err
    assert f"{len(_examples('valid'))} files checked, passed" in out

    code, out, err = run_cli("validate", EXAMPLES / "invalid")
    assert code == 1, out + err
    assert "Traceback" not in err
    for path in _examples("invalid"):
        assert re.search(rf"{re.escape(path.name)}:\d+:\d+: error\[SC\d{{3}}\]", out), path.name
