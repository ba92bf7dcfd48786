"""A sample SmartConnector job for the embedded executor.

The executor sets SCSYNC_* variables; the job writes its record counts as
JSON to $SCSYNC_RESULT_FILE.  Replace this with the real extract/load code.
"""

from __future__ import annotations

import json
import os
import time

source = os.environ.get("SOURCE", "sample")
dry_run = os.environ.get("SCSYNC_DRY_RUN") == "true"
print(f"execution {os.environ.get('SCSYNC_EXECUTION_ID')} of {os.environ.get('SCSYNC_API_NAME')}")
print(f"reading from {source} (dry run: {dry_run})")
time.sleep(0.2)
counts = {"created": 0 if dry_run else 3, "updated": 2, "skipped": 1, "failed": 0}
result_file = os.environ.get("SCSYNC_RESULT_FILE")
if result_file:
    with open(result_file, "w", encoding="utf-8") as fh:
        json.dump(counts, fh)
print(f"done: {counts}")
