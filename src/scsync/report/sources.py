"""Where a report's files are, and their text: what SARIF needs beyond the findings.

SARIF locates a result by a URI relative to the repository root, counts
columns in UTF-16 code units (GitHub's `columnKind`), and fingerprints the
located line's content.  Findings carry paths as the command saw them and
columns in code points, so a report carries a `Sources`: the repository root,
the folder the paths are relative to, and a way to get each file's text.  The
command fills it from what it read: files on disk for `scsync validate` (read
again, within the same size cap, only when a format asks), the reviewed git
blobs for `scsync diff`, which may not be checked out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from scsync.checks.pipeline import STDIN_NAME
from scsync.findings import Finding
from scsync.manifest.loader import read_file

#: SARIF's name for the repository root; the run's originalUriBaseIds says where it is
SRCROOT = "%SRCROOT%"
#: standard input has no path: a fixed name, so a re-run gives the same location
STDIN_URI = "urn:scsync:stdin"
_BOM = b"\xef\xbb\xbf"
# The line breaks YAML counts (libyaml and PyYAML alike), so line n here is the loader's n.
_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")

Reader = Callable[[str], str | None]


def _nothing(path: str) -> str | None:
    return None


def source_text(raw: bytes, max_bytes: int) -> str | None:
    """A file's text as the loader saw it (BOM dropped), or None over the size cap.

    Bytes that are not UTF-8 (SC003) become U+FFFD, so the rest stays usable.
    """
    if len(raw) > max_bytes:
        return None
    return raw.removeprefix(_BOM).decode("utf-8", errors="replace")


def disk_reader(max_bytes: int, stdin: str | None = None) -> Reader:
    """Files read from disk as `scsync validate` reads them: regular files within the cap.

    A FIFO or a folder gives None (never opened for reading, so never blocks);
    standard input gives the text the command already read.
    """

    def read(path: str) -> str | None:
        if path == STDIN_NAME:
            return stdin
        raw = read_file(path, max_bytes=max_bytes)
        return None if isinstance(raw, Finding) else source_text(raw, max_bytes)

    return read


def repository_root(start: str) -> str:
    """The git top level holding `start` (a `.git` folder or file), else `start` itself.

    Found by looking for `.git` upwards, not by running git: `scsync validate`
    runs without git, and only scsync.gitsource may use gitpython.
    """
    here = probe = os.path.realpath(start)
    while not os.path.exists(os.path.join(probe, ".git")):
        parent = os.path.dirname(probe)
        if parent == probe:
            return here
        probe = parent
    return probe


def split_lines(text: str) -> list[str]:
    return _BREAK.split(text)


def utf16_column(line: str, column: int) -> int:
    """A 1-based code-point column on `line` as a 1-based UTF-16 code-unit column.

    A character outside the Basic Multilingual Plane (an emoji) is one code
    point but two UTF-16 units; columns past the end of the line count one each.
    """
    prefix = line[: column - 1]
    return 1 + len(prefix.encode("utf-16-le")) // 2 + max(0, column - 1 - len(line))


@dataclass(frozen=True, slots=True)
class Sources:
    """`root`: the repository root; `cwd`: what the findings' paths are relative to.

    Both absolute.  `read` gives a file's text by its path in the findings, or
    None when it cannot be had (a FIFO, a file over the cap, a deleted blob
    that was never read); each file is read at most once.
    """

    root: str
    cwd: str
    read: Reader = _nothing
    _lines: dict[str, list[str] | None] = field(default_factory=dict, compare=False)

    @classmethod
    def here(cls, read: Reader = _nothing) -> Sources:
        """The current folder, in the repository that holds it."""
        cwd = os.getcwd()
        return cls(repository_root(cwd), cwd, read)

    def lines(self, path: str) -> list[str] | None:
        if path not in self._lines:
            text = self.read(path)
            self._lines[path] = None if text is None else split_lines(text)
        return self._lines[path]

    def line(self, path: str, number: int) -> str | None:
        """Line `number` (1-based) of the file, "" past its end, None without its text."""
        lines = self.lines(path)
        if lines is None:
            return None
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def artifact(self, path: str) -> dict[str, str]:
        """SARIF's artifactLocation: relative to %SRCROOT%, normalised and percent-encoded.

        A file outside the repository gets an absolute `file:` URI (and no base).
        """
        if path == STDIN_NAME:
            return {"uri": STDIN_URI}
        full = os.path.normpath(os.path.join(self.cwd, path))
        # the folder's real path, as the root's; the file's own name stays (a symlink's name)
        full = os.path.join(os.path.realpath(os.path.dirname(full)), os.path.basename(full))
        relative = os.path.relpath(full, self.root)
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            return {"uri": Path(full).as_uri()}
        return {"uri": quote(relative.replace(os.sep, "/"), safe="/"), "uriBaseId": SRCROOT}

    def root_uri(self) -> str:
        uri = Path(self.root).as_uri()
        return uri if uri.endswith("/") else uri + "/"

    def region(self, f: Finding) -> dict[str, int]:
        """The finding's extent in UTF-16 columns; one character when only its start is known."""
        start = (f.line, f.column)
        end = (f.end_line, f.end_column)
        if f.end_line < 1 or f.end_column < 1 or end <= start:
            end = (f.line, f.column + 1)
        return {
            "startLine": start[0], "startColumn": self._utf16(f.path, *start),
            "endLine": end[0], "endColumn": self._utf16(f.path, *end),
        }

    def _utf16(self, path: str, line: int, column: int) -> int:
        text = self.line(path, line)
        return column if text is None else utf16_column(text, column)
