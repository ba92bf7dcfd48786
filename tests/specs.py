"""The specifications reports are checked against: published ones, and scsync's own JSON schema.

The published files (SARIF's OASIS schema, Jenkins' JUnit XSD) are not copied
into the project: they sit in `shared/specs/` beside the project's folder
(`<project root>/../shared/specs`, or /work/shared/specs on the development
machine).  Without them a test skips, except under CI (`CI=true`), where a
missing specification fails: CI must never pass without checking.

`check_output` validates a `--format json` document against
schemas/scsync-output.schema.json; `run_cli` and `run_main` (conftest.py)
call it on every JSON report the suite produces.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC_FOLDERS = (ROOT.parent / "shared" / "specs", Path("/work/shared/specs"))
OUTPUT_SCHEMA = ROOT / "schemas" / "scsync-output.schema.json"
#: the commands whose --format json output the schema describes
JSON_COMMANDS = frozenset({"validate", "diff", "plan", "apply"})


def spec(name: str) -> Path:
    """A published specification file; skips (fails under CI) when it is not there."""
    for folder in SPEC_FOLDERS:
        if (folder / name).is_file():
            return folder / name
    where = " or ".join(str(folder) for folder in SPEC_FOLDERS)
    message = f"{name} is not in {where}: the published specification to check against"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI must check every format against its specification)")
    pytest.skip(message)


@functools.cache
def _output_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(OUTPUT_SCHEMA.read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def check_output(text: str) -> Any:
    """The JSON document, after checking it against scsync's published output schema."""
    data = json.loads(text)
    validator = _output_validator()
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise AssertionError(f"{OUTPUT_SCHEMA.name}: at {where}: {error.message}")
    return data


def is_json_report(args: Sequence[object]) -> bool:
    """Whether a command line asks for one of the JSON documents the schema describes."""
    words = [str(a) for a in args]
    command = next((w for w in words if not w.startswith("-")), None)
    if command not in JSON_COMMANDS:
        return False
    pairs = zip(words, [*words[1:], ""], strict=True)
    return "--format=json" in words or any(
        flag in ("--format", "-f") and value == "json" for flag, value in pairs)


def check_sarif(text: str) -> Any:
    """The SARIF log, after checking it against OASIS's sarif-schema-2.1.0.json (draft-04)."""
    log = json.loads(text)
    schema = json.loads(spec("sarif-schema-2.1.0.json").read_text("utf-8"))
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = [f"at {'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}"
              for e in validator.iter_errors(log)]
    assert not errors, "not valid SARIF 2.1.0:\n" + "\n".join(errors[:20])
    return log


def check_junit(text: str) -> ET.Element:
    """The JUnit XML, after checking it against Jenkins' junit-10.xsd.

    The XSD has no `file` attribute on a testcase, which GitLab reads: it is
    checked to be there, then dropped from the copy that is validated.
    """
    import xmlschema

    root = ET.fromstring(text)  # noqa: S314 - our own output, not untrusted input
    checked = copy.deepcopy(root)
    for case in checked.iter("testcase"):
        assert case.get("file"), "every testcase names its file (GitLab reads `file`)"
        del case.attrib["file"]
    xmlschema.XMLSchema(str(spec("junit-10.xsd"))).validate(checked)
    return root
