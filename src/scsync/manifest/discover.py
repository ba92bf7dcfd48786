"""Which files to check: explicit files as given, folders searched for *.yaml / *.yml."""

from __future__ import annotations

import os
from collections.abc import Sequence

from scsync.errors import UsageError

STDIN = "-"
SUFFIXES = (".yaml", ".yml")
DEFAULT_FOLDER = "connectors"
"""Where a repository keeps its manifests, unless told otherwise (every command's default)."""


def discover(paths: Sequence[str]) -> list[str]:
    """Expand arguments into manifest paths, in a stable order, without duplicates.

    A path that does not exist is a usage error (exit 2, as check-jsonschema
    does): a typo in CI must not pass as "nothing to check".
    """
    missing = [p for p in paths if p != STDIN and not os.path.lexists(p)]
    if missing:
        raise UsageError(
            "no such file or folder: " + ", ".join(missing)
            + " (check the path; scsync validate takes manifest files and folders)"
        )
    found: list[str] = []
    seen: set[str] = set()
    for path in paths:
        candidates = _walk(path) if path != STDIN and os.path.isdir(path) else [path]
        for candidate in candidates:
            if candidate not in seen:
                seen.add(candidate)
                found.append(candidate)
    return found


def _walk(folder: str) -> list[str]:
    out: list[str] = []
    for root, dirs, files in os.walk(folder):
        # hidden folders (.git, .scsync) never hold manifests
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(
            os.path.normpath(os.path.join(root, f))
            for f in sorted(files)
            if f.endswith(SUFFIXES) and not f.startswith(".")
        )
    return out
