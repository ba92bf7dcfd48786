"""Bounds that keep a hostile file from costing more than milliseconds.

A manifest has a few dozen values a few levels deep, a few thousand at most
(`job.env` takes 500 entries and `job.command` 1,000 items on the executor);
anything far past that is refused (SC009) before it can exhaust memory, time
or the C stack.  And however broken a file is, at most MAX_FINDINGS of its
findings are reported, then one (SC012) that counts the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml
from yaml.events import CollectionEndEvent, CollectionStartEvent, NodeEvent, StreamEndEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from scsync.findings import Finding, Severity, Span, worst
from scsync.manifest.positions import Lines, position_of, span_of
from scsync.manifest.yaml12 import StrictParser
from scsync.rules import RULES

#: Values (keys, values and items, aliases expanded) one document may hold.  A
#: real manifest has at most a few thousand; a billion-laughs file needs billions.
MAX_NODES = 10_000
MAX_EXPANDED_NODES = MAX_NODES
#: Nesting deeper than this is certainly not a manifest (and would exhaust
#: Python's recursion limit on construction).
MAX_DEPTH = 64
#: Findings reported for one file; past this, one finding counts the others.
MAX_FINDINGS = 100
_TOO_MANY_VALUES = (
    f"the file holds more than {MAX_NODES:,} values (keys, values and list items); "
    "a manifest has a few dozen"
)
#: Every node needs one of these bytes nearby (see check_shape).
_INDICATORS = b"[{-:?,"


class LoadProblem(Exception):
    """A finding that stops loading one file (the other files go on)."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def check_shape(raw: bytes, path: str, lines: Lines) -> None:
    """Refuse too many values, or too deep a nesting, before libyaml composes the file.

    Composing costs a Python object per node, and libyaml's composer recurses in
    C without a limit (200,000 `[` crash the process; 100,000 levels were
    measured to be survivable), so both are counted on the parser's events
    first, which come from a state machine rather than recursion.  That second
    parse is paid only by unusual files: every node but the root needs an
    indicator byte (`[ { - : ? ,`) and each indicator brings at most three
    nodes (`a: b` brings a mapping, a key and a value), so a file with few of
    them cannot hold MAX_NODES nodes (nor nest deeper than MAX_DEPTH, which
    the builder refuses).  The count stops at the first value over a limit, so
    it is cheap however large the file.  Indicators in strings and comments
    only make the bound looser, never wrong.
    """
    if 3 * indicator_count(raw) + 1 <= MAX_NODES:
        return
    parser = StrictParser(raw)
    depth = nodes = 0
    try:
        while True:
            event = parser.get_event()
            if event is None or isinstance(event, StreamEndEvent):
                return
            if isinstance(event, NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise LoadProblem(_at_event(event, path, lines, _TOO_MANY_VALUES))
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH + 1:  # the root mapping is level 0 for the builder
                    raise LoadProblem(
                        _at_event(event, path, lines, f"values nest deeper than {MAX_DEPTH} levels")
                    )
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # not well-formed: loading reports where
    finally:
        parser.dispose()


def indicator_count(raw: bytes) -> int:
    """How many of the bytes `[ { - : ? ,` `raw` holds (one pass, for every file)."""
    return len(raw) - len(raw.translate(None, _INDICATORS))


def _at_event(event: NodeEvent, path: str, lines: Lines, message: str) -> Finding:
    start, end = event.start_mark, event.end_mark
    if start is None:
        return RULES["SC009"].finding(path, message)
    # A scalar's or an alias's event ends where the node does; a collection's
    # only after its opening indicator, so it gets no extent.
    span = Span(*position_of(start, lines))
    if end is not None and not isinstance(event, CollectionStartEvent):
        span = Span(span.line, span.column, *position_of(end, lines))
    return RULES["SC009"].finding(path, message).placed(span)


def bounded(findings: Sequence[Finding], limit: int = MAX_FINDINGS) -> list[Finding]:
    """The first `limit` findings by position, then one that counts the others."""
    if len(findings) <= limit:
        return list(findings)  # all of them, in the order they came
    ordered = sorted(findings, key=Finding.sort_key)
    rest = ordered[limit:]
    first = rest[0]
    return [*ordered[:limit], too_many(first.path, len(rest), first.span,
                                       worst(rest) or Severity.ERROR, limit)]


def too_many(
    path: str, count: int, at: Span, severity: Severity, limit: int = MAX_FINDINGS
) -> Finding:
    """SC012 for `count` findings left out, placed at the first of them.

    It takes their worst severity, so the exit code (and --strict) is what the
    whole list would have given.
    """
    return RULES["SC012"].finding(
        path,
        f"{count:,} more finding{'s' if count != 1 else ''} in this file "
        f"{'are' if count != 1 else 'is'} not shown (the first {limit} are)",
        severity=severity,
        hint="Fix the findings shown and run again; a file this broken is often "
        "not a manifest at all.",
    ).placed(Span(at.line, at.column))


def check_expansion(root: Node, path: str, lines: Lines) -> None:
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
                ).placed(span_of(node, lines))
            )
        if depth > MAX_DEPTH:
            raise too_deep(path, node, lines)
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
                ).placed(span_of(node, lines))
            )
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root, 0)


def too_deep(path: str, node: Node, lines: Lines) -> LoadProblem:
    return LoadProblem(
        RULES["SC009"].finding(
            path, f"values nest deeper than {MAX_DEPTH} levels"
        ).placed(span_of(node, lines))
    )
