"""What both local HTTP services (the executor, the controller) need to face any client.

Every body is capped and every request has a deadline: `BodyLimitMiddleware`
(ASGI, 413 and 408) and `HostingConfig` (uvicorn, serving over a protocol that
cuts slow clients off); the data folder (`prepare_data_dir`) and SQLite
`transaction`; `wait_for_wakeup`, a background task's cancellable wait.
Both services import this package; it imports neither.
"""

from __future__ import annotations

from scsync.hosting.body import BodyLimitMiddleware
from scsync.hosting.deadline import DEADLINE_ENV, DEFAULT_DEADLINE, deadline_from_env
from scsync.hosting.local import DATA_DIR, prepare_data_dir, transaction
from scsync.hosting.protocol import HostingConfig
from scsync.hosting.wakeup import wait_for_wakeup

__all__ = ["DATA_DIR", "DEADLINE_ENV", "DEFAULT_DEADLINE", "BodyLimitMiddleware",
           "HostingConfig", "deadline_from_env", "prepare_data_dir", "transaction",
           "wait_for_wakeup"]
