"""The manifest's JSON Schema as the one contract: each field's limits and patterns.

The bundled schema is read once, here, and every other copy of a rule reads it
from here: the settings checks and the executor's request models (which publish
these very patterns in /openapi.json). A limit is therefore stated once, in the
schema beside its description, and `validate` cannot take a manifest that
`apply` then refuses for its shape.

The patterns mean the same under ECMA-262 (what JSON Schema specifies), Rust's
regex crates (jsonschema-rs, which validates manifests; schemathesis) and
Python's `re` (the executor checks with `fullmatch`): explicit character
classes instead of `\\s`, `\\d`, `\\w` and `.`, whose reach differs between them;
no doubled `&`, `-` or `~` in a class (set operators in Rust); no `$` inside a
lookahead (Python's also matches before a final newline); only negative
lookaheads.  tests/test_contract.py holds the schema to this.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from scsync.errors import SchemaLoadError

SCHEMA_RESOURCE = "smartconnector.schema.json"

#: The keywords a field may use to limit its value. The executor enforces exactly
#: these (executor/models.py); a schema using another one fails to load here, so a
#: new kind of limit cannot reach the schema without reaching the executor too.
LIMIT_KEYWORDS = frozenset({
    "type", "const", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern",
    "minItems", "maxItems", "items", "maxProperties", "additionalProperties",
    "propertyNames", "required", "properties",
})
#: Keywords that say something about a field without limiting it.
ANNOTATIONS = frozenset({"description", "examples", "default", "format", "title", "$schema"})


@dataclass(frozen=True, slots=True)
class Field:
    """What the schema says one value may be."""

    path: str
    description: str = ""
    type: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    max_properties: int | None = None
    #: the values a field may take, when the schema lists them (`enum`)
    choices: tuple[Any, ...] | None = None
    default: Any = None
    #: an array's items, a mapping's values and its keys
    items: Field | None = None
    values: Field | None = None
    names: Field | None = None


def bundled_schema_text() -> str:
    return resources.files("scsync.schemas").joinpath(SCHEMA_RESOURCE).read_text("utf-8")


@cache
def _fields() -> Mapping[str, Field]:
    schema: dict[str, Any] = json.loads(bundled_schema_text())
    return dict(_walk(schema, ""))


def _walk(node: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Field]]:
    for name, sub in node.get("properties", {}).items():
        path = prefix + name
        yield path, _field(sub, path)
        yield from _walk(sub, path + ".")


def _field(node: Mapping[str, Any], path: str) -> Field:
    unknown = set(node) - LIMIT_KEYWORDS - ANNOTATIONS
    if unknown:
        # A packaging bug, not a user's mistake: the executor would not enforce it.
        raise SchemaLoadError(f"the bundled schema limits {path} with {sorted(unknown)}, "
                              "which scsync.contract does not carry to the executor")
    values = node.get("additionalProperties")
    return Field(
        path=path,
        description=node.get("description", ""),
        type=node.get("type"),
        min_length=node.get("minLength"),
        max_length=node.get("maxLength"),
        pattern=node.get("pattern"),
        minimum=node.get("minimum"),
        maximum=node.get("maximum"),
        min_items=node.get("minItems"),
        max_items=node.get("maxItems"),
        max_properties=node.get("maxProperties"),
        choices=tuple(node["enum"]) if "enum" in node else None,
        default=node.get("default"),
        items=_field(node["items"], path + "[]") if "items" in node else None,
        values=_field(values, path + "{}") if isinstance(values, dict) else None,
        names=_field(node["propertyNames"], path + "<key>") if "propertyNames" in node else None,
    )


def field(path: str) -> Field:
    """The rule of the property at a dotted `path` (`api_name`, `job.env`)."""
    return _fields()[path]


def fields() -> Mapping[str, Field]:
    """Every property of the schema, nested ones included, by dotted path."""
    return _fields()
