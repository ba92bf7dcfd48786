"""YAML 1.2 core-schema scalar resolution for PyYAML.

PyYAML resolves plain scalars by YAML 1.1 rules, where `on`, `off`, `yes` and
`no` are booleans and `010` is octal 8.  Manifests follow YAML 1.2 (as editors
and most other tools now do): those stay strings and `010` is 10.
"""

from __future__ import annotations

import re

from yaml.resolver import BaseResolver

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
STR = "tag:yaml.org,2002:str"
SEQ = "tag:yaml.org,2002:seq"
MAP = "tag:yaml.org,2002:map"


class Resolver12(BaseResolver):
    """Implicit tags of the YAML 1.2 core schema, and nothing else."""


Resolver12.add_implicit_resolver(
    _NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
Resolver12.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
Resolver12.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
Resolver12.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def construct_scalar(tag: str, value: str) -> object:
    """The Python value of a scalar, or raises ValueError for a tag we refuse."""
    if tag == STR:
        return value
    if tag == _INT:
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)
    if tag == _BOOL:
        return value.lower() == "true"
    if tag == _NULL:
        return None
    if tag == _FLOAT:
        low = value.lower()
        if low.endswith(".inf"):
            return float("-inf") if low.startswith("-") else float("inf")
        if low == ".nan":
            return float("nan")
        return float(value)
    raise ValueError(tag)
