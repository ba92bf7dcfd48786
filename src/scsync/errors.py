"""The one exception tree of scsync.

Problems found in user *input* (a manifest, a schema violation) are not
exceptions: they are `Finding` values.  Exceptions are for conditions that stop
a command: bad usage, a missing git ref, an unreachable executor.  The CLI turns
every `ScsyncError` into a one-line message and exit code 2 (no traceback).
"""

from __future__ import annotations


class ScsyncError(Exception):
    """Root of every error scsync raises on purpose."""


class UsageError(ScsyncError):
    """The command line asks for something impossible (missing path, bad option value)."""


class SchemaLoadError(ScsyncError):
    """A schema given with --schema cannot be read or is not a valid JSON Schema."""


class GitError(ScsyncError):
    """A repository or revision cannot be read."""


class ConfigError(ScsyncError):
    """Settings from the environment or a file are missing or malformed."""
