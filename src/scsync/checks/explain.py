"""Schema errors in words: each jsonschema error as findings on its YAML node, with hints.

The rule id follows the keyword (`required` is SC020, `additionalProperties`
SC021, ...); the message names the field as a user writes it (`job.env.MODE`)
and quotes values cut to one short line; hints say what to write instead
(did-you-mean for keys and statuses, quotes for a number that must be text).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scsync import contract
from scsync.findings import Finding, json_pointer
from scsync.manifest.bounds import MAX_FINDINGS
from scsync.manifest.loader import Document
from scsync.rules import RULES

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

_KEYWORD_RULE = {
    "required": "SC020",
    "additionalProperties": "SC021",
    "unevaluatedProperties": "SC021",
    "type": "SC022",
    "enum": "SC023",
    "const": "SC023",
    "minimum": "SC024",
    "maximum": "SC024",
    "exclusiveMinimum": "SC024",
    "exclusiveMaximum": "SC024",
    "minLength": "SC024",
    "maxLength": "SC024",
    "minItems": "SC024",
    "maxItems": "SC024",
    "minProperties": "SC024",
    "maxProperties": "SC024",
    "pattern": "SC025",
    "format": "SC025",
    "propertyNames": "SC025",
}

_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "empty",
}

_API_NAME = re.compile(contract.field("api_name").pattern or "")
_EMAIL_FIELDS = {"additional_notification_email", "additional_error_notification_email"}

# What a pattern means, in words, for the fields whose pattern is ours.
_PATTERN_WORDS = {
    "api_name": "must start with a lowercase letter and hold only lowercase letters, digits "
    "and '_' (2 to 64 characters)",
    "name": "must not be blank",
    "custom_object": "must be an object's api_name (a lowercase letter, then lowercase letters, "
    "digits and '_', 2 to 64 characters) or its id (a UUID)",
    "additional_notification_email": "must be one email address",
    "additional_error_notification_email": "must be one email address",
    "execution_ended_webhook_url": "must be an https:// URL (plain http:// only for localhost "
    "or 127.0.0.1)",
    "working_dir": "must be a relative path inside the repository (no leading '/', no '..')",
}


def fast_finding(error: Any, doc: Document) -> Finding:
    """A jsonschema-rs error, placed on its YAML node like the others."""
    parts: list[str | int] = list(error.instance_path)
    value = error.instance
    hidden = [c for c in value if not c.isprintable()] if isinstance(value, str) else []
    hint = (
        f"the value holds an invisible character (U+{ord(hidden[0]):04X}); delete and retype it"
        if hidden else None
    )
    return RULES["SC029"].finding(
        doc.path, error.message, pointer=json_pointer(parts), hint=hint
    ).placed(doc.span(parts))


def _field_label(parts: list[str | int]) -> str:
    if not parts:
        return "the document"
    text = _key_label(parts[0])
    for p in parts[1:]:
        text += f"[{p}]" if isinstance(p, int) else f".{_key_label(p)}"
    return text


def _key_label(key: str | int, limit: int = 60) -> str:
    """A key as a message shows it: printable, and cut if long (a key may be 1 MiB)."""
    text = _printable(str(key))
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(str(key)):,} characters)"


def _printable(text: str) -> str:
    """User text made safe for one line of a terminal, a log or XML: escapes, not bytes."""
    return text if text.isprintable() else repr(text)[1:-1]


def _shown(value: Any, limit: int = 80) -> str:
    """A value quoted for a message, control characters escaped, cut when long."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value):,} characters)" if isinstance(value, str) else ""
    return f"{text[: limit - 1]}…{size}"


_LIMIT_WORDS = {
    "minLength": ("characters", "fewest"), "maxLength": ("characters", "most"),
    "minItems": ("items", "fewest"), "maxItems": ("items", "most"),
    "minProperties": ("entries", "fewest"), "maxProperties": ("entries", "most"),
}
_BOUND_WORDS = {
    "minimum": "the smallest allowed is", "maximum": "the largest allowed is",
    "exclusiveMinimum": "it must be more than", "exclusiveMaximum": "it must be less than",
}


def to_findings(error: ValidationError, doc: Document) -> list[Finding]:
    """The findings one jsonschema error makes (one per unknown key), on their YAML nodes."""
    parts: list[str | int] = list(error.absolute_path)
    keyword = str(error.validator)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    expected: Any = error.validator_value
    rule = RULES[_KEYWORD_RULE.get(keyword, "SC029")]
    label = _field_label(parts)
    field = str(parts[-1]) if parts else ""
    value = error.instance

    if keyword in ("additionalProperties", "unevaluatedProperties"):
        allowed = sorted(schema.get("properties", {}))
        extras = [k for k in value if k not in allowed] if isinstance(value, dict) else []
        where = "at the top level" if not parts else f"in {label}"
        out = []
        for n, key in enumerate(extras):
            # Extras come in document order and a file shows its first MAX_FINDINGS
            # findings: those past that are only counted, so they skip the hint.
            hint = _unknown_key_hint(key, allowed) if n <= MAX_FINDINGS else None
            out.append(
                rule.finding(
                    doc.path, f"unknown key {_shown(key)} {where}",
                    pointer=json_pointer([*parts, key]), hint=hint,
                ).placed(doc.span([*parts, key], key=True))
            )
        return out

    if "propertyNames" in error.relative_schema_path and isinstance(value, str):
        # The error is about a key, not a value: point at that key.
        return [
            rule.finding(
                doc.path,
                f"the key {_shown(value)} in {label} is not allowed: {_cut(error.message)}",
                pointer=json_pointer([*parts, value]),
            ).placed(doc.span([*parts, value], key=True))
        ]

    span = doc.span(parts)
    pointer = json_pointer(parts)

    if keyword == "required":
        missing = _missing_key(error)
        subschema = schema.get("properties", {}).get(missing, {})
        example = (subschema.get("examples") or [None])[0]
        add = f"add `{missing}: {_yaml_inline(example)}`" if example is not None else ""
        description = str(subschema.get("description") or "")
        help_text = ". ".join(p for p in (add, description) if p) or None
        return [
            rule.finding(
                doc.path, f"missing required key '{missing}' in {label}",
                pointer=pointer, hint=help_text,
            ).placed(span)
        ]

    if keyword == "type":
        return [_type_finding(expected, doc.path, label, field, value, pointer).placed(span)]

    if keyword in ("enum", "const"):
        allowed_values = list(expected) if keyword == "enum" else [expected]
        shown = ", ".join(repr(v) for v in allowed_values)
        message = (
            f"{label} is {_shown(value)}; it must be one of {shown}"
            if keyword == "enum"
            else f"{label} is {_shown(value)}; it must be {shown}"
        )
        return [
            rule.finding(
                doc.path, message, pointer=pointer, hint=_near_miss(value, allowed_values),
            ).placed(span)
        ]

    if keyword == "pattern" or keyword == "format":
        words = _PATTERN_WORDS.get(field, f"must match the pattern {expected}")
        return [
            rule.finding(
                doc.path, f"{label} {words}; got {_shown(value)}",
                pointer=pointer, hint=_pattern_hint(field, value),
            ).placed(span)
        ]

    if keyword in _LIMIT_WORDS and isinstance(value, str | list | dict):
        unit, end = _LIMIT_WORDS[keyword]
        message = f"{label} has {len(value):,} {unit}; the {end} allowed is {expected:,}"
        return [rule.finding(doc.path, message, pointer=pointer).placed(span)]

    if keyword in _BOUND_WORDS and isinstance(value, int | float):
        message = f"{label} is {value}; {_BOUND_WORDS[keyword]} {expected}"
        return [rule.finding(doc.path, message, pointer=pointer).placed(span)]

    return [rule.finding(doc.path, f"{label}: {_cut(error.message)}", pointer=pointer).placed(span)]


def _unknown_key_hint(key: str, allowed: list[str]) -> str:
    if key == "<<":
        return "merge keys (`<<`) are YAML 1.1 and are not expanded here; write the values out"
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "allowed keys: " + ", ".join(allowed)


def _cut(message: str, limit: int = 200) -> str:
    """A validator's own message (it quotes the whole value), one line and bounded."""
    text = _printable(message)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _missing_key(error: ValidationError) -> str:
    match = re.match(r"'(.*)' is a required property", error.message)
    if match:
        return match.group(1)
    return str(error.message)


def _type_finding(
    expected: Any, path: str, label: str, field: str, value: Any, pointer: str
) -> Finding:
    """SC022, placed by the caller."""
    rule = RULES["SC022"]
    names = [expected] if isinstance(expected, str) else list(expected)
    want = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
    got = _describe(value)
    hint: str | None = None
    if field in _EMAIL_FIELDS and isinstance(value, list):
        return rule.finding(
            path,
            f"{label} takes one email address, not a list of {len(value)}",
            pointer=pointer,
            hint="Kizen sends to a single address: create a distribution list (for example "
            "team@example.com) and put its address here.",
        )
    if "integer" in names and isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        hint = f"write {value.strip()} without quotes"
    elif "integer" in names and isinstance(value, float) and value.is_integer():
        hint = f"write {int(value)} without a decimal point"
    elif "boolean" in names and isinstance(value, str) and value.lower() in (
        "true", "false", "yes", "no", "on", "off"
    ):
        hint = "write true or false, without quotes (YAML 1.2: yes/no/on/off are strings)"
    elif "string" in names and isinstance(value, bool | int | float):
        hint = f"put the value in quotes: '{_yaml_inline(value)}'"
    return rule.finding(path, f"{label} must be {want}, not {got}", pointer=pointer, hint=hint)


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _near_miss(value: Any, allowed: list[Any]) -> str | None:
    if not isinstance(value, str):
        return None
    strings = [a for a in allowed if isinstance(a, str)]
    norm = " ".join(value.split()).casefold()
    for candidate in strings:
        if " ".join(candidate.split()).casefold() == norm:
            if value != value.strip():
                return f"remove the surrounding whitespace: '{candidate}'"
            return f"did you mean '{candidate}'? (the spelling must match exactly)"
    close = difflib.get_close_matches(value, strings, n=1, cutoff=0.6)
    if not close:
        folded = {c.casefold(): c for c in strings}
        close = [folded[m] for m in difflib.get_close_matches(norm, list(folded), n=1, cutoff=0.6)]
    return f"did you mean '{close[0]}'?" if close else None


def _pattern_hint(field: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    if field == "api_name":
        candidate = re.sub(r"[^a-z0-9_]+", "_", value.strip().lower()).strip("_")
        if candidate and not candidate[0].isalpha():
            candidate = "c_" + candidate
        candidate = candidate[:64]
        if _API_NAME.fullmatch(candidate) and candidate != value:
            return f"for example '{candidate}'"
        return None
    if field == "custom_object":
        return "the object's api_name, not its label (Kizen's contacts object is client_client)"
    if field in _EMAIL_FIELDS and value.count("@") > 1:
        return "one address only: use a distribution list to reach several people"
    if field == "execution_ended_webhook_url" and value.startswith("http://"):
        return "use https://; plain http is allowed only for localhost and 127.0.0.1"
    return None


def _yaml_inline(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
