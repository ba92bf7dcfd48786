"""YAML 1.2 core-schema scalar resolution for PyYAML, and the parser that uses it.

PyYAML resolves plain scalars by YAML 1.1 rules, where `on`, `off`, `yes` and
`no` are booleans and `010` is octal 8.  Manifests follow YAML 1.2 (as editors
and most other tools now do): those stay strings and `010` is 10.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.nodes import ScalarNode, SequenceNode
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

    # The composer calls these three for every node: BaseResolver's versions
    # carry path-resolver bookkeeping that manifests never use.
    def descend_resolver(self, current_node: object, current_index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return str(tag)
            return STR
        return SEQ if kind is SequenceNode else MAP


_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)

Resolver12.add_implicit_resolver(_NULL, _NULL_RE, ["~", "n", "N", ""])
Resolver12.add_implicit_resolver(_BOOL, _BOOL_RE, list("tTfF"))
Resolver12.add_implicit_resolver(_INT, _INT_RE, list("-+0123456789"))
Resolver12.add_implicit_resolver(_FLOAT, _FLOAT_RE, list("-+.0123456789"))

#: An explicit tag (`!!bool yes`) must still be given a value of its type's
#: YAML 1.2 form; Python's own parsing would take `yes` as false and `1_0` as 10.
_FORMS = {_NULL: _NULL_RE, _BOOL: _BOOL_RE, _INT: _INT_RE, _FLOAT: _FLOAT_RE}
CORE_TAGS = frozenset({STR, *_FORMS})


def construct_scalar(tag: str, value: str) -> object:
    """The Python value of a scalar, or raises ValueError for a tag or value we refuse."""
    if tag == STR:
        return value
    form = _FORMS.get(tag)
    if form is None or not form.match(value):
        raise ValueError(tag)
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
    return None


try:  # libyaml: ~10x faster than the pure parser
    from yaml._yaml import CParser as _Parser

    class StrictParser(_Parser, Resolver12):
        """libyaml's parser and composer with YAML 1.2 scalar resolution."""

        def __init__(self, stream: bytes) -> None:
            _Parser.__init__(self, stream)
            Resolver12.__init__(self)

    HAVE_LIBYAML = True
except ImportError:  # pragma: no cover - exercised only where libyaml is absent
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class StrictParser(Reader, Scanner, Parser, Composer, Resolver12):  # type: ignore[no-redef]
        def __init__(self, stream: bytes) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            Resolver12.__init__(self)

    HAVE_LIBYAML = False
