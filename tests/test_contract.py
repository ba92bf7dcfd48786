"""scsync.contract: the manifest schema is the one statement of every field's limits.

Walks every property of the schema and the executor's published request schema
(what /openapi.json says and what the API checks) and requires the same limits
on both sides, so a limit added to either one alone fails here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from scsync import contract
from scsync.errors import SchemaLoadError
from scsync.executor.models import ConnectorCreate
from scsync.manifest.model import API_STATUS

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "smartconnector.schema.json"
# The keywords that limit a value; the rest (title, default, examples, format) only annotate.
LIMITS = ("type", "minLength", "maxLength", "pattern", "minimum", "maximum", "minItems",
          "maxItems", "maxProperties", "enum")
# Manifest-only: the file's format and kind are not settings the API stores.
MANIFEST_ONLY = {"apiVersion", "kind"}
# API-only: how a request acts (force_api_name_change), and Kizen's fields of a connector
# that no manifest sets (its activity type, its scripts' SQL version).
API_ONLY = {"force_api_name_change", "activity_object", "sql_version"}
# Kizen's fields the executor takes before the manifest schema has them (issue 11): their
# rules are the executor's until then, and come from the schema after.
KIZEN_PENDING: set[str] = set()
# The manifest names the object by its api_name, the API by its id (the controller resolves).
OTHER_VALUE = {"custom_object"}


def _published() -> dict[str, Any]:
    document = ConnectorCreate.model_json_schema()
    return _inline(document, document.get("$defs", {}))


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The request schema with its $refs replaced and `X | None` read as X (null means absent)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[1]], defs)
        if "anyOf" in node:
            kept = [o for o in node["anyOf"] if o != {"type": "null"}]
            if len(kept) == 1:
                return _inline({**{k: v for k, v in node.items() if k != "anyOf"}, **kept[0]},
                               defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _properties(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, sub in node.get("properties", {}).items():
        yield prefix + name, sub
        yield from _properties(sub, f"{prefix}{name}.")


def _limits(node: dict[str, Any]) -> dict[str, Any]:
    """A value's limits, with those of its items, values and keys."""
    out = {k: node[k] for k in LIMITS if k in node}
    if isinstance(node.get("items"), dict):
        out["items"] = _limits(node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        out["values"] = _limits(node["additionalProperties"])
    if "propertyNames" in node:
        out["names"] = _limits(node["propertyNames"])
    return out


MANIFEST = dict(_properties(json.loads(SCHEMA_FILE.read_text("utf-8"))))
API = dict(_properties(_published()))


def test_the_api_takes_every_manifest_setting_and_nothing_else() -> None:
    assert set(MANIFEST) - MANIFEST_ONLY <= set(API)
    assert set(API) - API_ONLY - set(MANIFEST) <= KIZEN_PENDING


@pytest.mark.parametrize("path", sorted(set(MANIFEST) - MANIFEST_ONLY - {"status", "job"}
                                        - OTHER_VALUE))
def test_each_field_has_the_same_limits_in_the_schema_and_the_api(path: str) -> None:
    assert _limits(API[path]) == _limits(MANIFEST[path])


def test_the_statuses_are_the_manifests_in_the_api_spelling() -> None:
    assert set(API["status"]["enum"]) == {API_STATUS[s] for s in MANIFEST["status"]["enum"]}


def test_the_job_has_the_same_shape_on_both_sides() -> None:
    for key in ("type", "required", "additionalProperties"):
        assert API["job"][key] == MANIFEST["job"][key], key


def test_the_contract_reads_every_property_of_the_bundled_schema() -> None:
    assert set(contract.fields()) == set(MANIFEST)
    env = contract.field("job.env")
    assert (env.max_properties, env.names and env.names.pattern, env.values and
            env.values.max_length) == (500, "^[A-Za-z_][A-Za-z0-9_]{0,127}$", 32768)
    command = contract.field("job.command")
    assert (command.min_items, command.max_items) == (1, 1000)
    assert command.items is not None and command.items.max_length == 32768
    assert contract.field("job.working_dir").max_length == 1024


def test_a_limit_the_executor_would_not_enforce_cannot_enter_the_contract(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = json.loads(SCHEMA_FILE.read_text("utf-8"))
    schema["properties"]["job"]["properties"]["command"]["uniqueItems"] = True
    monkeypatch.setattr(contract, "bundled_schema_text", lambda: json.dumps(schema))
    contract._fields.cache_clear()
    try:
        with pytest.raises(SchemaLoadError, match=r"job\.command.*uniqueItems"):
            contract.fields()
    finally:
        monkeypatch.undo()
        contract._fields.cache_clear()


def test_both_notification_emails_follow_one_rule() -> None:
    every = MANIFEST["additional_notification_email"]
    errors = MANIFEST["additional_error_notification_email"]
    assert _limits(every) == _limits(errors)


_PATTERNS = sorted(
    {(path, rule.pattern) for path, f in contract.fields().items()
     for rule in (f, f.items, f.values, f.names) if rule is not None and rule.pattern}
)


@pytest.mark.parametrize(("path", "pattern"), _PATTERNS, ids=[p for p, _ in _PATTERNS])
def test_every_pattern_reads_the_same_in_each_engine(path: str, pattern: str) -> None:
    # Character classes whose reach differs between ECMA-262, Rust and Python (`[\s\S]`,
    # any character, is the same everywhere) and set operators Rust reads in a class.
    plain = pattern.replace(r"[\s\S]", "")
    assert not re.search(r"(?<!\\)\\[sSdDwWbB]", plain), path
    assert not re.search(r"&&|--|~~", plain), path
    assert "(?=" not in pattern and "(?<" not in pattern, path  # negative lookaheads only
    re.compile(pattern)
    jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
