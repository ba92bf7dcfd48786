"""A live connector as the text of a manifest, for `scsync import`.

The manifest is written in its usual order (`Connector.settings()`), statuses in
the manifest's spelling, defaults left out.  Every value is written exactly as
the executor holds it: one a valid manifest cannot hold (an api_name the schema
refuses, two addresses in one email field) keeps its value and gets a comment
on its line, so the operator sees it and decides; nothing is silently changed.

Strings are written plain only when that cannot change their meaning under
YAML 1.2 (what the loader reads) or YAML 1.1 (what many editors read), double
quoted otherwise.  The text is read back with scsync's own loader before it is
returned, so a quoting mistake here is an error, never a different setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from scsync.controller.live import LiveConnector
from scsync.errors import ScsyncError
from scsync.manifest.loader import load_bytes
from scsync.manifest.model import (
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_TIMEOUT_SECONDS,
    Connector,
)

SCHEMA_FILE = "schemas/smartconnector.schema.json"
#: settings keys in the manifest's usual order
ORDER = tuple(Connector(api_name="", name="", status="").settings())
#: what a setting is when the manifest leaves it out
DEFAULTS: Mapping[str, Any] = {
    "description": "", "max_concurrent_executions": DEFAULT_MAX_CONCURRENT,
    "create_only": False,
}

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.@/+-]*(?: [A-Za-z0-9_.@/+()-]+)*")
# A UUID (Kizen's ids) reads as a string in both YAML versions, digits first or not.
_UUID = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
_KEYWORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"})
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


class RenderError(ScsyncError):
    """The manifest text would not read back as the live values (a bug in scsync)."""


def manifest_data(live: LiveConnector, custom_object: str | None) -> dict[str, Any]:
    """The manifest's mapping for a live connector, defaults left out.

    The values are `LiveConnector.settings()`, the one translation of a live
    connector into manifest terms the plan compares with too (statuses, wire
    names, a cadence Kizen spells as a string), so an import plans in sync.
    """
    settings = live.settings()
    data: dict[str, Any] = {"apiVersion": "scsync/v1", "kind": "SmartConnector"}
    for key in ORDER:
        value = custom_object if key == "custom_object" else settings.get(key)
        if key == "job" and isinstance(value, Mapping):
            value = _job(value)
        if value is None or (key in DEFAULTS and value == DEFAULTS[key]
                             and type(value) is type(DEFAULTS[key])):
            continue
        data[key] = value
    return data


def _job(job: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"command": list(job.get("command") or [])}
    if job.get("timeout_seconds") not in (None, DEFAULT_TIMEOUT_SECONDS):
        out["timeout_seconds"] = job["timeout_seconds"]
    if job.get("env"):
        out["env"] = dict(job["env"])
    if job.get("working_dir") is not None:
        out["working_dir"] = job["working_dir"]
    return out


def render(data: Mapping[str, Any], header: list[str], comments: Mapping[str, str],
           depth: int) -> str:
    """The file: the schema modeline, `header` comment lines, then the settings.

    `comments` maps a top-level key to the note its line carries; `depth` is how
    many folders the file lies below the repository root (for the modeline).
    """
    lines = [f"# yaml-language-server: $schema={'../' * depth}{SCHEMA_FILE}",
             *(f"# {_one_line(h)}" for h in header)]
    for key, value in data.items():
        text = _entry(key, value)
        note = comments.get(key)
        if note:
            first, _, rest = text.partition("\n")
            text = f"{first}  # {_one_line(note)}" + (f"\n{rest}" if rest else "")
        lines.append(text)
    out = "\n".join(lines) + "\n"
    _read_back(out, data)
    return out


def _entry(key: str, value: Any) -> str:
    if isinstance(value, Mapping):
        body = [f"  {_entry(k, v)}".replace("\n", "\n  ") for k, v in value.items()]
        return f"{key}:" + ("".join(f"\n{b}" for b in body) if body else " {}")
    return f"{scalar(key)}: {scalar(value)}"


def scalar(value: Any) -> str:
    """One value as a flow scalar (or flow sequence) that reads back as itself."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, str):
        if (_PLAIN.fullmatch(value) and value.lower() not in _KEYWORDS) or _UUID.fullmatch(value):
            return value
        return '"' + "".join(_escape(c) for c in value) + '"'
    # Only JSON reaches here (numbers with a fraction): write it for the schema to refuse.
    return '"' + "".join(_escape(c) for c in str(value)) + '"'


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    # YAML's printable set leaves out C0 and C1 controls, surrogates, U+FFFE and U+FFFF;
    # U+2028, U+2029 and U+FEFF are escaped too, as editors show them as nothing.
    if (code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF
            or code in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)):
        return f"\\u{code:04x}"
    return char


def _one_line(text: str) -> str:
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return cleaned if len(cleaned) <= 300 else cleaned[:297] + "..."


def _read_back(text: str, data: Mapping[str, Any]) -> None:
    loaded = load_bytes(text.encode("utf-8"), "<import>")
    if loaded.document is None or loaded.document.data != data:
        raise RenderError("scsync import wrote a manifest that does not read back as the live "
                          "connector; this is a bug in scsync, please report it")
