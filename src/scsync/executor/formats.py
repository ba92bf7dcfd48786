"""The free-text request fields' rules: the manifest schema's patterns, checked as published.

The patterns are not written here: they are the manifest schema's
(`scsync.contract`), so the executor accepts exactly the values `validate`
accepts, and /openapi.json publishes them as they are checked. The API checks
the very pattern (with `fullmatch`), and says what is wrong with a value only
after the pattern has refused it, so the explanation can never refuse a value
the document allows. scsync.contract says how each pattern is written to mean
the same under ECMA-262, Rust's regex and Python's `re`.
"""

from __future__ import annotations

import re

from scsync import contract

_NAME = contract.field("name")
_EMAIL_FIELD = contract.field("additional_notification_email")
_WEBHOOK_FIELD = contract.field("execution_ended_webhook_url")
_WORKING_DIR_FIELD = contract.field("job.working_dir")
_ENV_NAMES = contract.field("job.env").names


def _pattern(rule: contract.Field | None) -> str:
    if rule is None or rule.pattern is None:  # pragma: no cover - a packaging bug
        raise AssertionError("the manifest schema lost a pattern the executor checks")
    return rule.pattern


# Not blank: somewhere a character that is not white space.
VISIBLE_PATTERN = _pattern(_NAME)
EMAIL_MAX = _EMAIL_FIELD.max_length or 0
EMAIL_PATTERN = _pattern(_EMAIL_FIELD)
WEBHOOK_URL_MAX = _WEBHOOK_FIELD.max_length or 0
WEBHOOK_URL_PATTERN = _pattern(_WEBHOOK_FIELD)
WORKING_DIR_PATTERN = _pattern(_WORKING_DIR_FIELD)
ENV_NAME_PATTERN = _pattern(_ENV_NAMES)
API_NAME_PATTERN = _pattern(contract.field("api_name"))

_EMAIL = re.compile(EMAIL_PATTERN)
_WEBHOOK_URL = re.compile(WEBHOOK_URL_PATTERN)
_WORKING_DIR = re.compile(WORKING_DIR_PATTERN)
_VISIBLE = re.compile(VISIBLE_PATTERN)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def is_visible(value: str) -> bool:
    return _VISIBLE.search(value) is not None


def is_email(value: str) -> bool:
    return len(value) <= EMAIL_MAX and _EMAIL.fullmatch(value) is not None


def is_webhook_url(value: str) -> bool:
    return len(value) <= WEBHOOK_URL_MAX and _WEBHOOK_URL.fullmatch(value) is not None


def working_dir_problem(value: str) -> str | None:
    if _WORKING_DIR.fullmatch(value) is not None:
        return None
    if _CONTROL.search(value):
        return "must not contain a control character"
    if value.startswith(("/", "\\")) or re.match("[A-Za-z]:", value):
        return "must be a relative path inside the repository"
    return "must not leave the repository (no '..' segment)"
