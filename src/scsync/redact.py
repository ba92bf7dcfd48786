"""URLs fit for logs and messages: credentials hidden, for every part of scsync alike.

`https://token@host/x` becomes `https://***@host/x`; a PostgreSQL URL's
`user:password@` and `?password=` become `***`.  The controller (repository
and lock URLs) and the executor (its database URL) both show URLs only
through this.
"""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_PASSWORD_PARAM = re.compile(r"(?<=[?&]password=)[^&#\s]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL with its user information and any `password=` parameter as `***`."""
    return _PASSWORD_PARAM.sub("***", _USERINFO.sub("***@", url))
