"""Triggering a connector's execution and following it: `scsync run` and `scsync executions`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from scsync.client import ExecutorClient

ENDED = frozenset({"success", "partial_success", "error", "cancelled"})


def trigger(client: ExecutorClient, api_name: str, out: TextIO, *, dry_run: bool = False,
            no_diff_check: bool = False, wait: bool = False, poll: float = 0.25,
            timeout: float | None = None,
            clock: Callable[[], float] = time.monotonic) -> int:
    """Queue one execution; with `wait`, follow it to its end.  0 success, 1 otherwise."""
    execution_id = client.start_flow(api_name, is_dry_run=dry_run,
                                     disable_diff_check=no_diff_check)
    out.write(f"execution {execution_id} of {api_name} queued"
              + (" (dry run)" if dry_run else "") + "\n")
    out.flush()
    if not wait:
        out.write(f"follow it with: scsync executions {api_name}\n")
        return 0
    deadline = None if timeout is None else clock() + timeout
    shown: tuple[Any, Any] | None = None
    while True:
        execution = client.get_execution(api_name, execution_id)
        now = (execution["status"], execution.get("reason"))
        if now != shown:
            reason = f": {now[1]}" if now[1] else ""
            out.write(f"  {_clock()} {now[0]}{reason}\n")
            out.flush()
            shown = now
        if execution["status"] in ENDED:
            break
        if deadline is not None and clock() > deadline:
            out.write(f"still {execution['status']} after {timeout:g}s; it goes on in the "
                      "executor\n")
            return 1
        time.sleep(poll)
    out.write(describe(execution) + "\n")
    return 0 if execution["status"] == "success" else 1


def counts_text(counts: dict[str, Any] | None) -> str:
    """`created 3, updated 2, skipped 1, failed 0`: the four counts first, any others after."""
    counts = counts or {}
    first = [k for k in ("created", "updated", "skipped", "failed") if k in counts]
    keys = first + sorted(k for k in counts if k not in first)
    return ", ".join(f"{k} {counts[k]}" for k in keys)


def describe(execution: dict[str, Any]) -> str:
    text = f"{execution['status']}"
    if execution.get("exit_code") is not None:
        text += f" (exit {execution['exit_code']})"
    if counts := counts_text(execution.get("record_counts")):
        text += ": records " + counts
    if execution.get("reason") and execution["status"] != "success":
        text += f"; {execution['reason']}"
    if execution.get("report_url"):
        text += f"\nreport: {execution['report_url']}"
    return text


def list_recent(client: ExecutorClient, api_name: str, out: TextIO, *, limit: int = 20,
                status: str | None = None) -> int:
    rows = []
    for execution in client.list_executions(api_name, status=status, page_size=limit):
        rows.append(execution)
        if len(rows) >= limit:
            break
    if not rows:
        out.write(f"no executions of {api_name}\n")
        return 0
    out.write(f"{'id':36}  {'status':15}  {'trigger':8}  {'created':27}  records\n")
    for e in rows:
        counts = e.get("record_counts") or {}
        summary = " ".join(f"{k}={v}" for k, v in counts.items())
        reason = f"  ({e['reason']})" if e.get("reason") and e["status"] != "success" else ""
        slot = f"  (slot {e['scheduled_for']})" if e.get("scheduled_for") else ""
        out.write(f"{e['id']:36}  {e['status']:15}  {e.get('trigger_type') or '-':8}  "
                  f"{e.get('created')!s:27}  {summary}{reason}{slot}\n")
    return 0


def _clock() -> str:
    return time.strftime("%H:%M:%S")
