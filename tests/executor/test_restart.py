"""A restart loses nothing: SIGKILL mid-run, then start again on the same database."""

from __future__ import annotations

import shutil
from pathlib import Path

from standardwebhooks import Webhook

from .conftest import (
    WEBHOOK_SECRET,
    ExecutorFactory,
    SmtpServer,
    WebhookReceiver,
    alive,
    base_env,
    sh_job,
    wait_execution,
    wait_for,
)


def test_sigkill_mid_run_interrupts_running_keeps_queued_and_still_notifies(
    start_executor: ExecutorFactory, smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver, tmp_path: Path,
) -> None:
    server = start_executor(
        "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_server.port),
        "--allow-webhook-host", "127.0.0.1",
        env=base_env(SCSYNC_WEBHOOK_SECRET=WEBHOOK_SECRET),
    )
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    with server.client(user_id="alice@example.com") as c:
        c.create_connector({
            "api_name": "long_job", "name": "Long", "status": "operational",
            "additional_notification_email": "ops@example.com",
            "additional_error_notification_email": "alerts@example.com",
            "execution_ended_webhook_url": webhook_receiver.url,
            "job": sh_job('echo $$ > "$PID_DIR/$SCSYNC_EXECUTION_ID"; exec sleep 30',
                          env={"PID_DIR": str(pid_dir)}),
        })
        first, second, third = (c.start_flow("long_job") for _ in range(3))
        wait_execution(c, "long_job", first, ("running",))
        job_pid = wait_for(lambda: (pid_dir / first).exists() and
                           int((pid_dir / first).read_text() or 0), message="the job's pid")

    server.kill()
    assert alive(job_pid), "the job outlives a killed executor until the restart cleans up"
    server.start()

    with server.client() as c:
        interrupted = c.get_execution("long_job", first)
        assert (interrupted["status"], interrupted["reason"]) == ("error", "interrupted")
        assert wait_execution(c, "long_job", second, ("running",))["status"] == "running"
        waiting = c.get_execution("long_job", third)
        assert waiting["status"] == "queued"
        assert waiting["reason"] == "waiting: 1 of 1 slots busy (position 1 in the queue)"
        wait_for(lambda: not alive(job_pid), 5, message="the orphaned job to be killed")

        hooks = wait_for(webhook_receiver.received, 10, message="the webhook")
        assert len(hooks) == 1
        payload = Webhook(WEBHOOK_SECRET).verify(hooks[0].body, hooks[0].headers)
        assert payload["execution_id"] == first
        assert payload["status"] == "error"
        assert payload["metadata"]["reason"] == "interrupted"
        assert payload["initiated_by"] == "alice@example.com"

        for address in ("alice@example.com", "ops@example.com", "alerts@example.com"):
            mail = wait_for(lambda a=address: smtp_server.mailbox.to(a), 10,
                            message=f"mail to {address}")
            assert mail[0]["Subject"] == "SmartConnector long_job: execution error"
        wait_for(lambda: all(n["state"] == "sent" for n in
                             c.get_execution("long_job", first)["notifications"]),
                 5, message="every notification marked sent")
        notes = c.get_execution("long_job", first)["notifications"]
        assert {n["target"] for n in notes} == {
            "alice@example.com", "ops@example.com", "alerts@example.com", webhook_receiver.url}
        c.patch_connector("long_job", {"max_concurrent_executions": 0})


def test_queued_survive_a_kill_and_run_after_restart(start_executor: ExecutorFactory) -> None:
    server = start_executor()
    with server.client() as c:
        c.create_connector({"api_name": "paused", "name": "Paused", "status": "inactive",
                            "job": sh_job("true")})
        ids = [c.start_flow("paused") for _ in range(5)]
    server.kill()
    server.start()
    with server.client() as c:
        assert {e["id"]: e["status"] for e in c.list_executions("paused")} == dict.fromkeys(
            ids, "queued")
        c.patch_connector("paused", {"status": "operational"})
        assert [wait_execution(c, "paused", e)["status"] for e in ids] == ["success"] * 5


def test_sigterm_stops_jobs_as_interrupted_and_exits_cleanly(
    start_executor: ExecutorFactory,
) -> None:
    server = start_executor()
    with server.client() as c:
        c.create_connector({"api_name": "stopped", "name": "Stopped", "status": "operational",
                            "job": sh_job("exec sleep 30")})
        eid = c.start_flow("stopped")
        wait_execution(c, "stopped", eid, ("running",))
    # uvicorn re-raises the signal once shut down, so the parent sees a SIGTERM death;
    # a server that did not stop in time would have been killed (-9) by the fixture.
    assert server.stop() in (0, -15)
    assert "Application shutdown complete" in server.log()
    server.start()
    with server.client() as c:
        ended = c.get_execution("stopped", eid)
    assert (ended["status"], ended["reason"]) == ("error", "interrupted")
    assert ended["exit_code"] == -15  # SIGTERM reached the job's process group


# Each job writes down its pid, then notes every earlier job of the connector still
# alive (not a zombie) as it starts, and becomes `sleep` with an empty environment.
OVERLAP_CHECK = """
for f in "$PID_DIR"/*; do
  [ -e "$f" ] || continue
  state=$(cut -d')' -f2 "/proc/$(cat "$f")/stat" 2>/dev/null | cut -d' ' -f2)
  if [ -n "$state" ] && [ "$state" != Z ]; then cat "$f" >> "$PID_DIR.overlaps"; fi
done
echo $$ > "$PID_DIR/$SCSYNC_EXECUTION_ID"
exec env -i "$SLEEP" 40
"""


def test_an_orphan_that_cleared_its_environment_is_killed_before_its_successor_starts(
    start_executor: ExecutorFactory, tmp_path: Path,
) -> None:
    server = start_executor()
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    overlaps = tmp_path / "pids.overlaps"
    with server.client() as c:
        c.create_connector({
            "api_name": "bare_env", "name": "Bare", "status": "operational",
            "max_concurrent_executions": 1,
            "job": sh_job(OVERLAP_CHECK, env={"PID_DIR": str(pid_dir),
                                              "SLEEP": shutil.which("sleep") or "sleep"}),
        })
        first, second = c.start_flow("bare_env"), c.start_flow("bare_env")
        wait_execution(c, "bare_env", first, ("running",))
        orphan = wait_for(lambda: (pid_dir / first).exists() and
                          int((pid_dir / first).read_text() or 0), message="the job's pid")
        # The exec has happened once the environment no longer names the execution.
        wait_for(lambda: b"SCSYNC" not in Path(f"/proc/{orphan}/environ").read_bytes(),
                 message="the job to clear its environment")

    server.kill()
    server.start()
    with server.client() as c:
        assert c.get_execution("bare_env", first)["reason"] == "interrupted"
        wait_execution(c, "bare_env", second, ("running",))
        wait_for(lambda: (pid_dir / second).exists(), message="the successor's pid")
        assert not overlaps.exists(), "the successor started beside the orphan"
        assert not alive(orphan)
        c.patch_connector("bare_env", {"max_concurrent_executions": 0})
