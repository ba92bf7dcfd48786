"""Rules about one connector's settings (SC040-SC048).

They read the raw document defensively, so they also run on a document the
schema refused: a file with a typo in one key still gets told about risky
concurrency in another.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator

from scsync import contract
from scsync.findings import Finding, json_pointer
from scsync.manifest.loader import Document
from scsync.manifest.model import CADENCE_TYPES, CONNECTOR_TYPES, EXECUTABLE, STATUSES
from scsync.rules import RULES

MIN_DESCRIPTION = 20
API_NAME = re.compile(contract.field("api_name").pattern or "")

Check = Callable[[Document], Iterator[Finding]]


def _on(rule_id: str, doc: Document, key: str, message: str, hint: str | None = None) -> Finding:
    """A finding on the value of the top-level `key`, with its extent.

    Made in one go rather than `Rule.finding(...).placed(...)`: these run for a
    good part of all files, and a frozen dataclass is dear to make twice.
    """
    rule = RULES[rule_id]
    line, column, end_line, end_column = doc.span([key])
    return Finding(rule.id, rule.severity, doc.path, line, column, f"/{key}", message, hint,
                   end_line, end_column)


def description(doc: Document) -> Iterator[Finding]:
    """SC040: a missing or very short description."""
    text = doc.data.get("description")
    if text is None:
        # On the settings themselves, which start after any leading comments.
        yield RULES["SC040"].finding(
            doc.path, "no description: people and AI tools cannot tell what this connector does",
        ).placed(doc.span_of(doc.root))
    elif isinstance(text, str) and len(text.strip()) < MIN_DESCRIPTION:
        yield _on(
            "SC040", doc, "description",
            f"the description has {len(text.strip())} characters; write at least {MIN_DESCRIPTION}",
        )


def concurrency(doc: Document) -> Iterator[Finding]:
    """SC041 parallel writes without create_only; SC042 paused at 0."""
    limit = doc.data.get("max_concurrent_executions")
    if isinstance(limit, bool) or not isinstance(limit, int):
        return
    if limit > 1 and doc.data.get("create_only") is not True:
        yield _on(
            "SC041", doc, "max_concurrent_executions",
            f"max_concurrent_executions is {limit} but create_only is not true: executions "
            "writing the same record at once leave it in a state that depends on timing",
        )
    elif limit == 0:
        yield _on(
            "SC042", doc, "max_concurrent_executions",
            "max_concurrent_executions is 0: the connector is paused and executions queue",
        )


def status(doc: Document) -> Iterator[Finding]:
    """SC043: a valid status under which nothing executes."""
    value = doc.data.get("status")
    if value in STATUSES and value not in EXECUTABLE:
        yield _on(
            "SC043", doc, "status",
            f"status is '{value}': scheduled and manual runs are held until it is Operational",
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
        yield _on(
            "SC044", doc, "additional_error_notification_email",
            f"both notification emails are {every}: it is told twice about every error",
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
        yield _on(
            "SC045", doc, "api_name",
            f"the file is named '{stem}' but its api_name is '{api_name}'",
            hint=f"rename the file to {api_name}{suffix}",
        )


def cadence(doc: Document) -> Iterator[Finding]:
    """SC046 a schedule without a cadence; SC047 a cadence its connector type ignores.

    Without a connector_type nothing is said: the type then lives in Kizen alone,
    and a cadence may be what that type reads.
    """
    kind = doc.data.get("connector_type")
    if kind not in CONNECTOR_TYPES:
        return
    if "cadence" not in doc.data:
        if kind == "schedule":
            yield _on(
                "SC046", doc, "connector_type",
                "connector_type is schedule but there is no cadence: nothing says how often "
                "it runs",
                hint="add `cadence:` with the seconds between runs, e.g. `cadence: 3600`",
            )
    elif kind not in CADENCE_TYPES:
        yield _on(
            "SC047", doc, "cadence",
            f"cadence is set but a {kind} connector does not use it (only schedule and "
            "webhook connectors do)",
        )


def nul(doc: Document) -> Iterator[Finding]:
    """SC048: a NUL character in any string (a key's or a value's), on its node."""
    rule = RULES["SC048"]

    def walk(value: object, path: list[str | int], key: bool = False) -> Iterator[Finding]:
        if isinstance(value, str):
            if "\x00" in value:
                what = "key" if key else "text"
                at = "/".join(str(p) for p in path) or "the document"
                yield rule.finding(
                    doc.path, f"{at}: the {what} holds a NUL character (U+0000), which "
                    "Kizen refuses and PostgreSQL cannot store",
                    pointer=json_pointer(path)).placed(doc.span(path, key=key))
        elif isinstance(value, dict):
            for name, item in value.items():
                yield from walk(name, [*path, str(name)], key=True)
                yield from walk(item, [*path, str(name)])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, [*path, index])

    yield from walk(doc.data, [])


CHECKS: tuple[Check, ...] = (description, concurrency, status, emails, filename, cadence, nul)


def check(doc: Document) -> list[Finding]:
    return [finding for rule_check in CHECKS for finding in rule_check(doc)]
