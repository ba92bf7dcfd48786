"""The exact rules of the free-text request fields, as the OpenAPI document publishes them.

A client reads these patterns in /openapi.json, and the executor accepts a value
exactly when it matches: the API checks the very same pattern, and says what is
wrong with a value only after the pattern has refused it, so the explanation can
never refuse a value the document allows.

Each pattern means the same under ECMA-262 (what JSON Schema specifies), Rust's
regex crates (jsonschema-rs, which schemathesis uses) and Python's `re` (which
checks them here, with `fullmatch`): explicit character classes instead of `\\s`,
`\\d` and `\\w`, whose reach differs between them (`[\\s\\S]`, any character, is
the same everywhere); no doubled `&`, `-` or `~` in a class (set operators in
Rust); no `$` inside a lookahead (Python's also matches before a final newline);
and only negative lookaheads.
"""

from __future__ import annotations

import re

# Unicode White_Space: what `\s` means to the manifest schema's engine.
SPACE = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# White space and the C0 and C1 controls: what no address may contain.
INVISIBLE = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"

# Not blank, as the manifest schema's `\S`: somewhere a character that is not white space.
VISIBLE_PATTERN = f"[^{SPACE}]"

_ADDRESS = INVISIBLE + r'@,;<>()\[\]\\"'
EMAIL_MAX = 254
EMAIL_PATTERN = rf"^[^{_ADDRESS}]+@[^{_ADDRESS}]+\.[^{_ADDRESS}.]+$"

_H16 = "[0-9A-Fa-f]{1,4}"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"


def _ipv6() -> str:
    """RFC 3986's IPv6address: up to 8 groups, at most one '::', an IPv4 tail allowed."""
    forms = [f"(?:{_H16}:){{6}}{_LS32}"]
    tails = [f"(?:{_H16}:){{5}}{_LS32}", f"(?:{_H16}:){{4}}{_LS32}",
             f"(?:{_H16}:){{3}}{_LS32}", f"(?:{_H16}:){{2}}{_LS32}", f"{_H16}:{_LS32}",
             _LS32, _H16, ""]
    for before, tail in enumerate(tails):
        head = "" if before == 0 else f"(?:(?:{_H16}:){{0,{before - 1}}}{_H16})?"
        forms.append(f"{head}::{tail}")
    return "(?:" + "|".join(forms) + ")"


# A DNS label: letters, digits and hyphens, not at either end; underscores are
# tolerated because real names (service records, some intranets) carry them.
_LABEL = "[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
# At most 253 characters: what a resolver takes.
_HOST = rf"(?![^/?#:]{{254}}){_LABEL}(?:\.{_LABEL})*\.?"
# 1 to 65535; leading zeros are read as nothing, as urllib reads them.
_PORT = ("(?::0*(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}"
         "|[1-9][0-9]{0,3}))?")
# Path, query and fragment as the manifest schema has them (requests percent-encodes
# what RFC 3986 would not take), but no control characters either.
_REST = f"(?:[/?#][^{INVISIBLE}]*)?"
WEBHOOK_URL_MAX = 2048
WEBHOOK_URL_PATTERN = (
    rf"^(?:https://(?:{_HOST}|\[{_ipv6()}\])|http://(?:localhost|127\.0\.0\.1|\[::1\]))"
    rf"{_PORT}{_REST}$"
)

# Relative, and never above the repository: no leading separator or drive, no '..' segment.
_END = r"(?![\s\S])"
WORKING_DIR_PATTERN = (
    rf"^(?![/\\])(?![A-Za-z]:)(?!(?:[^\x00]*[/\\])?\.\.(?:[/\\]|{_END}))[^\x00]*$"
)

ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]{0,127}$"
API_NAME_PATTERN = "^[a-z][a-z0-9_]{1,63}$"

_EMAIL = re.compile(EMAIL_PATTERN)
_WEBHOOK_URL = re.compile(WEBHOOK_URL_PATTERN)
_WORKING_DIR = re.compile(WORKING_DIR_PATTERN)
_VISIBLE = re.compile(VISIBLE_PATTERN)


def is_visible(value: str) -> bool:
    return _VISIBLE.search(value) is not None


def is_email(value: str) -> bool:
    return len(value) <= EMAIL_MAX and _EMAIL.fullmatch(value) is not None


def is_webhook_url(value: str) -> bool:
    return len(value) <= WEBHOOK_URL_MAX and _WEBHOOK_URL.fullmatch(value) is not None


def working_dir_problem(value: str) -> str | None:
    if _WORKING_DIR.fullmatch(value) is not None:
        return None
    if "\0" in value or value.startswith(("/", "\\")) or re.match("[A-Za-z]:", value):
        return "must be a relative path inside the repository"
    return "must not leave the repository (no '..' segment)"
