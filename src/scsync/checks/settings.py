"""Rules about one connector's settings (SC040-SC045).

They read the raw document defensively, so they also run on a document the
schema refused: a file with a typo in one key still gets told about risky
concurrency in another.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from scsync.findings import Finding
from scsync.manifest.loader import Document
from scsync.manifest.model import EXECUTABLE, STATUSES
from scsync.rules import RULES

MIN_DESCRIPTION = 20
API_NAME = re.compile(r"[a-z][a-z0-9_]{1,63}")

Check = Callable[[Document], Iterator[Finding]]


def _at(doc: Document, key: str) -> dict[str, Any]:
    line, col = doc.locate([key])
    return {"line": line, "column": col, "pointer": f"/{key}"}


def description(doc: Document) -> Iterator[Finding]:
    """SC040: a missing or very short description."""
    text = doc.data.get("description")
    if text is None:
        # At the settings' first line, after any leading comments.
        mark = doc.root.start_mark
        yield RULES["SC040"].finding(
            doc.path, "no description: people and AI tools cannot tell what this connector does",
            line=mark.line + 1, column=mark.column + 1, pointer="",
        )
    elif isinstance(text, str) and len(text.strip()) < MIN_DESCRIPTION:
        yield RULES["SC040"].finding(
            doc.path,
            f"the description has {len(text.strip())} characters; write at least {MIN_DESCRIPTION}",
            **_at(doc, "description"),
        )


def concurrency(doc: Document) -> Iterator[Finding]:
    """SC041 parallel writes without create_only; SC042 paused at 0."""
    limit = doc.data.get("max_concurrent_executions")
    if isinstance(limit, bool) or not isinstance(limit, int):
        return
    if limit > 1 and doc.data.get("create_only") is not True:
        yield RULES["SC041"].finding(
            doc.path,
            f"max_concurrent_executions is {limit} but create_only is not true: executions "
            "writing the same record at once leave it in a state that depends on timing",
            **_at(doc, "max_concurrent_executions"),
        )
    elif limit == 0:
        yield RULES["SC042"].finding(
            doc.path,
            "max_concurrent_executions is 0: the connector is paused and executions queue",
            **_at(doc, "max_concurrent_executions"),
        )


def status(doc: Document) -> Iterator[Finding]:
    """SC043: a valid status under which nothing executes."""
    value = doc.data.get("status")
    if value in STATUSES and value not in EXECUTABLE:
        yield RULES["SC043"].finding(
            doc.path,
            f"status is '{value}': scheduled and manual runs are held until it is Operational",
            **_at(doc, "status"),
        )


def emails(doc: Document) -> Iterator[Finding]:
    """SC044: the same address in both notification settings."""
    every = doc.data.get("additional_notification_email")
    errors = doc.data.get("additional_error_notification_email")
    if (
        isinstance(every, str)
        and isinstance(errors, str)
        and every.strip().lower() == errors.strip().lower()
    ):
        yield RULES["SC044"].finding(
            doc.path,
            f"both notification emails are {every}: it is told twice about every error",
            **_at(doc, "additional_error_notification_email"),
        )


def filename(doc: Document) -> Iterator[Finding]:
    """SC045: a file whose name is not its api_name."""
    api_name = doc.data.get("api_name")
    if not isinstance(api_name, str) or doc.path == "<stdin>":
        return
    if not API_NAME.fullmatch(api_name):
        return
    stem, suffix = os.path.splitext(os.path.basename(doc.path))
    if stem != api_name:
        yield RULES["SC045"].finding(
            doc.path,
            f"the file is named '{stem}' but its api_name is '{api_name}'",
            hint=f"rename the file to {api_name}{suffix}",
            **_at(doc, "api_name"),
        )


CHECKS: tuple[Check, ...] = (description, concurrency, status, emails, filename)


def check(doc: Document) -> list[Finding]:
    return [finding for rule_check in CHECKS for finding in rule_check(doc)]
