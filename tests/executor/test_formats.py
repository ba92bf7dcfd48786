"""The published patterns mean what the executor checks, under the engine clients validate with.

The executor checks each free-text field with Python's `re`; the OpenAPI
document publishes the same pattern, which a client (and schemathesis) reads
with an ECMA-262-like engine: jsonschema-rs here. Any string on which the two
disagree would be a request the document allows and the executor refuses, or
the other way round.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from pathlib import Path

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scsync.executor import formats

ROOT = Path(__file__).resolve().parents[2]

# Pieces that reach the corners of the rules: separators, anchors' newline, controls,
# non-ASCII white space, the local hosts, brackets, percent escapes.
_PIECES = [*"ab.:/\\-_@[]%09AF?#\n\r\t\x00 \u2028\xa0\u3000é\x85,;\"", "..", "::", "https://",
           "http://", "localhost", "127.0.0.1", "[::1]", "xn--", "%2F", "a" * 63, ":65535",
           ":65536", ":0", "1.2.3.4"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=24).map("".join)

CHECKS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "email": (formats.EMAIL_PATTERN, formats.is_email),
    "webhook URL": (formats.WEBHOOK_URL_PATTERN, formats.is_webhook_url),
    "working_dir": (formats.WORKING_DIR_PATTERN,
                    lambda v: formats.working_dir_problem(v) is None),
    "name (not blank)": (formats.VISIBLE_PATTERN, formats.is_visible),
    "env name": (formats.ENV_NAME_PATTERN,
                 lambda v: re.fullmatch(formats.ENV_NAME_PATTERN, v) is not None),
}


def _validator(pattern: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(
        {"type": "string", "pattern": pattern},
        pattern_options=jsonschema_rs.FancyRegexOptions(size_limit=150_000_000))


@pytest.mark.parametrize("field", CHECKS)
def test_the_executor_and_the_published_pattern_agree(field: str) -> None:
    pattern, check = CHECKS[field]
    published = _validator(pattern)

    @settings(max_examples=2000, suppress_health_check=list(HealthCheck), database=None)
    @given(_TEXT)
    def agree(value: str) -> None:
        assert check(value) == published.is_valid(value), repr(value)

    agree()


@pytest.mark.parametrize(("value", "valid"), [
    ("https://hooks.example.com/h", True),
    ("https://EXAMPLE.com:443/a/b?x=1&y=%2F#frag", True),
    ("http://127.0.0.1:8080/hook", True),
    ("http://localhost/hook", True),
    ("http://[::1]:9000/", True),
    ("https://[2001:db8::1]:8443/", True),
    ("https://xn--bcher-kva.example/", True),
    ("https://a_b.intranet./x", True),
    ("https://example.com/é?q=ü#{x}", True),  # requests percent-encodes these
    ("https://example.com:0080/", True),
    ("https://example.com:00/", False),
    ("http://example.com/h", False),  # http only for the local hosts
    ("HTTPS://example.com/", False),
    ("https://user:pw@example.com/", False),
    ("https://example.com:0/", False),
    ("https://example.com:65536/", False),
    ("https://example.com:/", False),
    ("https://-bad.example/", False),
    ("https://a..b/", False),
    ("https://example.com/a b", False),
    ("https://bücher.example/", False),  # international names in their xn-- form
    ("https://[1::2::3]/", False),
    ("https://example.com/\n", False),
    ("", False),
    ("https://" + ".".join(["a" * 63] * 4), False),  # 255 characters: over a resolver's 253
])
def test_webhook_url_rule(value: str, valid: bool) -> None:
    assert formats.is_webhook_url(value) is valid
    assert _validator(formats.WEBHOOK_URL_PATTERN).is_valid(value) is valid


@pytest.mark.parametrize("value", [
    "https://hooks.example.com/scsync", "https://example.com/é?q=ü", "https://x.com/{a}|b^",
    "https://example.com:0080/", "https://example.com/%zz", "http://localhost:8080/h",
    "http://[::1]/h", "https://[2001:db8::1]/h",
])
def test_a_webhook_url_the_manifest_schema_takes_is_one_the_executor_takes(value: str) -> None:
    manifest = json.loads((ROOT / "schemas" / "smartconnector.schema.json").read_text("utf-8"))
    rule = manifest["properties"]["execution_ended_webhook_url"]
    assert jsonschema_rs.Draft202012Validator(rule).is_valid(value)
    assert formats.is_webhook_url(value)


@settings(max_examples=2000, database=None)
@given(st.ip_addresses(v=6))
def test_every_ipv6_address_is_a_webhook_host(address: ipaddress.IPv6Address) -> None:
    for spelling in (address.compressed, address.exploded, address.compressed.upper()):
        assert formats.is_webhook_url(f"https://[{spelling}]/h"), spelling


@settings(max_examples=3000, database=None)
@given(st.lists(st.sampled_from([*"0123456789abcdefABCDEF:.", "::", "ffff", "1.2.3.4", "256"]),
                max_size=16).map("".join))
def test_the_ipv6_rule_is_the_address_grammar(text: str) -> None:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        valid = False
    else:
        valid = True
    assert formats.is_webhook_url(f"https://[{text}]/") is valid, text


@pytest.mark.parametrize(("value", "valid"), [
    ("ops@example.com", True), ("ä@bücher.de", True), ("a.b+c@x.y.z", True),
    ("a@x.com,b@x.com", False), ("nobody", False), ("a@b", False), ("a b@x.com", False),
    ("a@x.com\n", False), ("a\x00@x.com", False), ("a\u3000@x.com", False),
    ("<a@x.com>", False), ("a@x." + "c" * 250, True), ("a@x." + "c" * 251, False),
])
def test_email_rule(value: str, valid: bool) -> None:
    assert formats.is_email(value) is valid


@pytest.mark.parametrize(("value", "valid"), [
    ("jobs", True), ("jobs/nightly", True), ("./x", True), ("a..b", True), ("...", True),
    ("/etc", False), ("\\share", False), ("C:/x", False), ("..", False), ("a/../b", False),
    ("a/..", False), ("a\\..\\b", False), ("a\x00b", False), ("a\tb", False),
    ("jobs\n", False), ("my jobs", True),
])
def test_working_dir_rule(value: str, valid: bool) -> None:
    assert (formats.working_dir_problem(value) is None) is valid
