"""Bounds that keep a hostile file from costing more than milliseconds.

A manifest has a few dozen nodes a few levels deep; anything far past that is
refused (SC009) before it can exhaust memory, time or the C stack.
"""

from __future__ import annotations

import yaml
from yaml.events import CollectionEndEvent, CollectionStartEvent, StreamEndEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from scsync.findings import Finding
from scsync.manifest.yaml12 import StrictParser
from scsync.rules import RULES

#: Expanded nodes one document may hold.  A manifest has a few dozen; a
#: billion-laughs file needs billions.
MAX_EXPANDED_NODES = 10_000
#: Nesting deeper than this is certainly not a manifest (and would exhaust
#: Python's recursion limit on construction).
MAX_DEPTH = 64
#: Below this many indicator bytes libyaml cannot nest deep enough to crash
#: (it survives 100,000 levels); above it, nesting is measured before composing.
_SAFE_INDICATORS = 10_000
_NESTING_BYTES = (b"[", b"{", b"-", b":", b"?")


class LoadProblem(Exception):
    """A finding that stops loading one file (the other files go on)."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def check_nesting(raw: bytes, path: str) -> None:
    """Refuse deeply nested collections before libyaml's composer sees them.

    libyaml's composer recurses in C without a limit: 200,000 `[`, or as many
    `- ` on one line, crash the process (a segfault, not an exception); 100,000
    levels were measured to be survivable.  Every collection needs an indicator
    byte (`[ { - : ?`), so a file with fewer than _SAFE_INDICATORS of them
    cannot nest deep enough to crash, and the builder refuses anything deeper
    than MAX_DEPTH.  Otherwise the parser's events, which come from a state
    machine rather than recursion, are counted first (a second parse, paid
    only by unusually large files).  Brackets in strings and comments are not
    nesting, so they cannot trip this.
    """
    if sum(map(raw.count, _NESTING_BYTES)) <= _SAFE_INDICATORS:
        return
    parser = StrictParser(raw)
    depth = 0
    try:
        while not parser.check_event(StreamEndEvent):
            event = parser.get_event()
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH + 1:  # the root mapping is level 0 for the builder
                    mark = event.start_mark
                    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                    raise LoadProblem(
                        RULES["SC009"].finding(
                            path, f"values nest deeper than {MAX_DEPTH} levels",
                            line=line, column=col,
                        )
                    )
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # not well-formed: loading reports where
    finally:
        parser.dispose()


def check_expansion(root: Node, path: str) -> None:
    """Refuse documents whose aliases expand past MAX_EXPANDED_NODES.

    Sizes are memoised per node, so this is linear in the composed tree even
    for an alias bomb (whose composed tree is small; only its expansion is huge).
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # on the current path: meeting one again is a cycle

    def size(node: Node, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in open_nodes:
            raise LoadProblem(
                RULES["SC009"].finding(
                    path, "an alias refers to a value that contains it (the value would be "
                    "infinite)",
                    line=node.start_mark.line + 1, column=node.start_mark.column + 1,
                )
            )
        if depth > MAX_DEPTH:
            raise too_deep(path, node)
        open_nodes.add(id(node))
        total = 1
        if isinstance(node, MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                total += size(item, depth + 1)
        if total > MAX_EXPANDED_NODES:
            raise LoadProblem(
                RULES["SC009"].finding(
                    path,
                    f"anchors and aliases expand to more than {MAX_EXPANDED_NODES:,} values",
                    line=node.start_mark.line + 1, column=node.start_mark.column + 1,
                )
            )
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root, 0)


def too_deep(path: str, node: Node) -> LoadProblem:
    return LoadProblem(
        RULES["SC009"].finding(
            path, f"values nest deeper than {MAX_DEPTH} levels",
            line=node.start_mark.line + 1, column=node.start_mark.column + 1,
        )
    )
