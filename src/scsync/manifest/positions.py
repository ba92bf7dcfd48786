"""Positions in a manifest's text: parser marks and node extents as 1-based spans.

Two things make this more than `mark.line + 1`:

- A mark may lie outside the text.  At the end of a stream that does not end
  in a line break, libyaml moves its mark to column 0 of a line that does not
  exist (`[` LF TAB fails "on line 3" of a two-line file).  Positions are
  therefore computed from the mark's character index, clamped into the text,
  with lines counted as YAML counts them (LF, CR, CRLF, NEL, U+2028, U+2029;
  not the form feeds and file separators `str.splitlines` also splits on).
- A node's end mark is where the parser stopped, not always just after the
  node: a block mapping ends where the next token starts (after the comments
  and blank lines that follow it), a block scalar after its last line break.
  The extent ends after the last character the node shows instead.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Protocol

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scsync.findings import Span

#: Line breaks as YAML 1.2 (and libyaml, and PyYAML's pure reader) count them.
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_BLANK = " \t\r\n\x85\u2028\u2029"
_BLOCK_STYLES = ("|", ">")


class Mark(Protocol):
    """A parser mark: PyYAML's own, or libyaml's (a class of its own)."""

    index: int
    line: int
    column: int


class Lines:
    """A text's line starts, found once, so any character index maps to a line and column."""

    __slots__ = ("_starts", "size", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.size = len(text)
        self._starts: list[int] | None = None

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [0, *(m.end() for m in _BREAK.finditer(self.text))]
        return self._starts

    def position(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of the character at `index`, clamped into the text."""
        index = max(0, min(index, len(self.text)))
        starts = self.starts
        line = bisect_right(starts, index) - 1
        return line + 1, index - starts[line] + 1

    def line(self, number: int) -> str:
        """The text of 1-based line `number`, without its break; "" past either end."""
        starts = self.starts
        if not 1 <= number <= len(starts):
            return ""
        end = starts[number] if number < len(starts) else len(self.text)
        return _BREAK.sub("", self.text[starts[number - 1] : end])


def position_of(mark: Mark, lines: Lines) -> tuple[int, int]:
    """1-based (line, column) of a parser mark, always inside the text."""
    if mark.index < lines.size:
        return mark.line + 1, mark.column + 1
    # At the end of the text, where libyaml may have moved on to a line that is not there.
    return lines.position(mark.index)


def span_of(node: Node, lines: Lines) -> Span:
    """The extent of `node`: its first character to just after its last one."""
    start = node.start_mark
    if type(node) is ScalarNode and node.style not in _BLOCK_STYLES:
        end = node.end_mark
        if end.index < lines.size:  # most findings: a plain or quoted scalar inside the text
            return Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1)
    line, column = position_of(start, lines)
    last, exact = _last_part(node)
    end = last.end_mark
    if exact and not (isinstance(last, ScalarNode) and last.style in _BLOCK_STYLES):
        # A flow collection or a plain or quoted scalar ends where its mark says.
        return Span(line, column, *position_of(end, lines))
    # A block scalar ends after its line break, a block collection (seen through an
    # alias) where the next token starts: step back over breaks and blanks (never
    # before the start), and count anew.
    text = lines.text
    end_index = max(min(int(end.index), len(text)), int(start.index))
    while end_index > start.index and text[end_index - 1] in _BLANK:
        end_index -= 1
    return Span(line, column, *lines.position(end_index))


def _last_part(node: Node) -> tuple[Node, bool]:
    """The node whose end is `node`'s end (its last descendant, for a block), and whether
    that end is exact: False when an alias hides it."""
    while isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        if isinstance(node, MappingNode):
            key, last = node.value[-1]
            floor = key.end_mark.index
        else:
            items = node.value
            last = items[-1]
            floor = items[-2].end_mark.index if len(items) > 1 else node.start_mark.index
        if last.start_mark.index < floor:
            # An alias: the node is shared with the anchor's earlier place, and the
            # parser's own end mark for the collection is all there is.
            return node, False
        node = last
    return node, True
