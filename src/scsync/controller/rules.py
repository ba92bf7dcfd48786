"""The plan's rules by what they mean, for the controller's code.

The rules themselves are declared in the catalogue (`scsync.rules.plan`, and
SC100 in `scsync.rules.review`, shared with review); these are names for them.
"""

from __future__ import annotations

from scsync import rules

API_NAME_CHANGE = rules.SC100
UNUSED_RENAME = rules.SC120
SETUP_ON_EXISTING = rules.SC121
CONCURRENCY_LOWERED = rules.SC122
NEEDS_ATTENTION = rules.SC123
REACTIVATED = rules.SC124
UNMANAGED = rules.SC125
PRUNE = rules.SC126
API_NAME_TAKEN = rules.SC127
APPLY_FAILED = rules.SC128
DRIFT = rules.SC129
MATCHED_BY_NAME = rules.SC130
TYPE_OR_OBJECT_CHANGE = rules.SC131
NOT_ON_KIZEN = rules.SC132
CREATED_IN_SETUP = rules.SC133
OBJECT_UNKNOWN = rules.SC134
CADENCE_NOT_OFFERED = rules.SC135
