"""Building plain values from the node tree, strictly (duplicate keys, tags)."""

from __future__ import annotations

from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scsync.findings import Finding, Severity, json_pointer
from scsync.manifest.bounds import MAX_DEPTH, MAX_FINDINGS, LoadProblem, too_deep, too_many
from scsync.manifest.positions import Lines, span_of
from scsync.manifest.yaml12 import CORE_TAGS, MAP, SEQ, STR, construct_scalar
from scsync.rules import RULES


class DuplicateKeys(Exception):
    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("duplicate keys")
        self.findings = findings


class Builder:
    """Turns nodes into plain dicts, lists and scalars, collecting duplicate keys.

    This runs for every node of every file, so it carries no path along;
    the rare error locates its node afterwards (`pointer_of`, or one index of
    every node's path for the duplicates, which may be thousands).
    """

    def __init__(self, path: str, root: Node, lines: Lines) -> None:
        self.path = path
        self.root = root
        self.lines = lines
        #: (key, first key node, repeated key node), in document order
        self.duplicates: list[tuple[str, Node, Node]] = []
        self._seen_again: set[int] = set()

    def build(self, node: Node, depth: int) -> Any:
        kind = type(node)
        if kind is ScalarNode:
            if node.tag == STR:
                return node.value
            try:
                return construct_scalar(node.tag, node.value)
            except ValueError:
                raise self._tag_problem(node) from None
        if depth > MAX_DEPTH:
            raise too_deep(self.path, node, self.lines)
        if kind is SequenceNode:
            if node.tag != SEQ:
                raise self._tag_problem(node)
            return [self.build(item, depth + 1) for item in node.value]
        if node.tag != MAP:
            raise self._tag_problem(node)
        result: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode:
                raise self._problem(
                    "SC001", key_node, "a mapping key must be a plain string, not a list or mapping"
                )
            if key_node.tag != STR:  # a tagged key (`!foo key:`) is refused like a value
                try:
                    construct_scalar(key_node.tag, key_node.value)
                except ValueError:
                    raise self._tag_problem(key_node) from None
            key = key_node.value
            if key in first_seen:
                self._duplicate(key, first_seen[key], key_node)
                continue
            first_seen[key] = key_node
            result[key] = self.build(value_node, depth + 1)
        return result

    def _duplicate(self, key: str, first: Node, again: Node) -> None:
        if id(again) not in self._seen_again:  # a mapping reached again through an alias
            self._seen_again.add(id(again))
            self.duplicates.append((key, first, again))

    def duplicate_findings(self) -> list[Finding]:
        """SC002 for the first MAX_FINDINGS duplicates (document order), then their count."""
        shown = self.duplicates[:MAX_FINDINGS]
        paths = _paths(self.root)
        findings = [
            RULES["SC002"].finding(
                self.path,
                f"duplicate key {_quoted(key)}: first defined on line {first.start_mark.line + 1}, "
                f"again on line {again.start_mark.line + 1}",
                pointer=json_pointer(paths.get(id(first), ())),
                hint="Keep one of the two; YAML tools disagree on which one wins.",
            ).placed(span_of(again, self.lines))
            for key, first, again in shown
        ]
        rest = len(self.duplicates) - len(shown)
        if rest:
            again = self.duplicates[MAX_FINDINGS][2]
            findings.append(too_many(self.path, rest, span_of(again, self.lines), Severity.ERROR))
        return findings

    def _tag_problem(self, node: Node) -> LoadProblem:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        if node.tag in CORE_TAGS and isinstance(node, ScalarNode):
            message = f"'{node.value}' is not a valid {tag} value (YAML 1.2)"
        else:
            message = f"the tag '{tag}' is not supported here"
        return self._problem("SC011", node, message)

    def _problem(self, rule_id: str, node: Node, message: str) -> LoadProblem:
        return LoadProblem(
            RULES[rule_id].finding(
                self.path, message, pointer=pointer_of(self.root, node),
            ).placed(span_of(node, self.lines))
        )


def pointer_of(root: Node, target: Node) -> str:
    """JSON pointer of `target` (a value, or a key: its mapping entry) within `root`."""

    def search(node: Node, parts: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
        if node is target:
            return parts
        if isinstance(node, MappingNode):
            for k, v in node.value:
                label = k.value if isinstance(k, ScalarNode) else "?"
                if k is target:
                    return (*parts, label) if isinstance(k, ScalarNode) else parts
                found = search(v, (*parts, label))
                if found is not None:
                    return found
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                found = search(item, (*parts, i))
                if found is not None:
                    return found
        return None

    return json_pointer(search(root, ()) or ())


def _paths(root: Node) -> dict[int, tuple[str | int, ...]]:
    """The path of every node (a key node: its entry's), found in one walk; first one wins."""
    paths: dict[int, tuple[str | int, ...]] = {}
    stack: list[tuple[Node, tuple[str | int, ...]]] = [(root, ())]
    while stack:
        node, parts = stack.pop()
        if id(node) in paths:
            continue  # an alias: the first path found stands (and no cycle is walked twice)
        paths[id(node)] = parts
        if isinstance(node, MappingNode):
            for k, v in reversed(node.value):
                label = k.value if isinstance(k, ScalarNode) else "?"
                paths.setdefault(id(k), (*parts, label) if isinstance(k, ScalarNode) else parts)
                stack.append((v, (*parts, label)))
        elif isinstance(node, SequenceNode):
            stack.extend((item, (*parts, i)) for i, item in reversed(list(enumerate(node.value))))
    return paths


def _quoted(key: str) -> str:
    # Keys reach terminals, logs and XML reports: escape what cannot be shown.
    return f"'{key}'" if key.isprintable() else repr(key)
