"""The JSON Schema check: the schema (bundled or given), and the validators that use it.

Two validators, each for what it does best: jsonschema-rs answers "is this
document valid?" (~1 µs a manifest), and only for the few documents that are
not does the pure-Python jsonschema walk the errors, whose structured form
(keyword, path, schema) gives the messages and did-you-mean hints
(`checks/explain.py`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scsync.checks.explain import fast_finding, to_findings
from scsync.contract import SCHEMA_RESOURCE, bundled_schema_text
from scsync.errors import SchemaLoadError
from scsync.findings import Finding, json_pointer
from scsync.manifest.loader import Document

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

# The bundled schema is the contract's (scsync.contract reads it for the executor too).
__all__ = ["SCHEMA_RESOURCE", "SchemaChecker", "bundled_schema_text", "load_schema"]


def load_schema(path: str | None = None) -> dict[str, Any]:
    """The bundled schema, or the one at `path` (a --schema override)."""
    if path is None:
        schema: Any = json.loads(bundled_schema_text())
        return dict(schema)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise SchemaLoadError(f"cannot read the schema {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SchemaLoadError(f"the schema {path} is not UTF-8 text") from None
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaLoadError(
            f"the schema {path} is not valid JSON: {exc.msg} "
            f"at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(schema, dict):
        raise SchemaLoadError(f"the schema {path} must be a JSON object")
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
        _check_refs(schema, path)
    except SchemaError as exc:
        where = json_pointer(list(exc.absolute_path)) or "/"
        raise SchemaLoadError(
            f"the schema {path} is not a valid JSON Schema at {where}: {exc.message}"
        ) from None
    return schema


def _check_refs(schema: dict[str, Any], path: str) -> None:
    """Every `$ref` must resolve now, not halfway through a run (as an internal error)."""
    from referencing import Registry, Resource
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    resolver = Registry().with_resource("", resource).resolver(base_uri=resource.id() or "")
    for ref in _refs(schema):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise SchemaLoadError(
                f"the schema {path} has a $ref that leads nowhere: {ref!r} (scsync resolves "
                "references within the schema file only)"
            ) from None


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


class SchemaChecker:
    """A schema compiled once, checking many documents."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._fast: Any = None
        self._slow: Validator | None = None
        try:
            import jsonschema_rs

            self._fast = jsonschema_rs.validator_for(schema, validate_formats=False)
        except Exception:  # noqa: BLE001 - no wheel here or an unsupported schema: slow path
            self._fast = None

    def _detailed(self) -> Validator:
        if self._slow is None:
            from jsonschema.validators import validator_for

            cls = validator_for(self.schema)
            self._slow = cls(self.schema)
        return self._slow

    def check(self, doc: Document) -> list[Finding]:
        if self._fast is not None and self._fast.is_valid(doc.data):
            return []
        errors = sorted(self._detailed().iter_errors(doc.data), key=_error_order)
        findings: list[Finding] = []
        for error in errors:
            findings.extend(to_findings(error, doc))
        if not findings and self._fast is not None:
            # The two validators disagree: an exotic --schema, or a pattern where
            # jsonschema-rs follows ECMA-262 as JSON Schema says (its `\s` matches
            # U+FEFF, Python's does not).  Trust the strict one.
            findings = [fast_finding(e, doc) for e in self._fast.iter_errors(doc.data)]
        return _dedupe(findings)


def _error_order(error: ValidationError) -> tuple[int, str]:
    return (len(error.absolute_path), json_pointer(list(error.absolute_path)))


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[str, int, int, str]] = set()
    out = []
    for f in findings:
        key = (f.rule, f.line, f.column, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
