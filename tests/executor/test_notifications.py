"""Notifications reach a real SMTP server and a real webhook receiver, signed, retried, guarded."""

from __future__ import annotations

import re
import sqlite3
import time
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from scsync.client import ExecutorClient
from scsync.executor.settings import DELIVERY_SCHEDULE

from .conftest import (
    WEBHOOK_SECRET,
    ExecutorFactory,
    ExecutorProcess,
    Mailbox,
    SmtpServer,
    WebhookReceiver,
    base_env,
    free_port,
    sh_job,
    unique_name,
    wait_execution,
    wait_for,
)

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
COUNTS = 'echo \'{"created": 4, "updated": 1}\' > "$SCSYNC_RESULT_FILE"'


@pytest.fixture
def notifying(start_executor: ExecutorFactory, smtp_server: SmtpServer) -> ExecutorProcess:
    return start_executor("--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_server.port),
                          "--allow-webhook-host", "127.0.0.1",
                          env=base_env(SCSYNC_WEBHOOK_SECRET=WEBHOOK_SECRET))


def _run(client: ExecutorClient, webhook: str | None, script: str, **fields: Any) -> str:
    name = unique_name()
    client.create_connector({
        "api_name": name, "name": name, "status": "operational",
        "additional_notification_email": "ops@example.com",
        "additional_error_notification_email": "alerts@example.com",
        "execution_ended_webhook_url": webhook, "job": sh_job(script), **fields,
    })
    eid = client.start_flow(name, is_dry_run=True)
    wait_execution(client, name, eid)
    return name


def _text(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")


def _notes(client: ExecutorClient, name: str) -> list[dict[str, Any]]:
    execution = next(iter(client.list_executions(name)))
    notes: list[dict[str, Any]] = client.get_execution(name, execution["id"])["notifications"]
    return notes


def test_success_sends_signed_webhook_and_emails_but_no_error_email(
    notifying: ExecutorProcess, smtp_server: SmtpServer, webhook_receiver: WebhookReceiver,
) -> None:
    with notifying.client(user_id="alice@example.com") as c:
        name = _run(c, webhook_receiver.url, COUNTS)
        execution = next(iter(c.list_executions(name)))
    hook = wait_for(webhook_receiver.received, 10, message="the webhook")[0]
    payload = Webhook(WEBHOOK_SECRET).verify(hook.body, hook.headers)
    assert hook.headers["webhook-id"].startswith("msg_")
    assert payload["execution_id"] == execution["id"]
    assert payload["api_name"] == name
    assert payload["connector_id"] == execution["connector_id"]
    assert payload["status"] == "success"
    assert ISO_UTC.match(payload["started_at"]) and ISO_UTC.match(payload["ended_at"])
    assert payload["initiated_by"] == "alice@example.com"
    assert payload["diff_check"] is True
    assert payload["is_dry_run"] is True
    assert payload["record_counts"] == {"created": 4, "updated": 1, "skipped": 0, "failed": 0}
    assert payload["report_url"] == execution["report_url"]
    metadata = payload["metadata"]
    assert metadata["exit_code"] == 0
    assert metadata["attempt"] == 1
    assert metadata["duration_seconds"] >= 0
    assert metadata["executor_version"]

    for address in ("alice@example.com", "ops@example.com"):
        mail = wait_for(lambda a=address: smtp_server.mailbox.to(a), 10, message=address)[0]
        assert mail["Subject"] == f"SmartConnector {name}: execution success"
        sent = parsedate_to_datetime(mail["Date"])  # RFC 5322 requires a Date
        assert abs(sent.timestamp() - time.time()) < 60
        body = _text(mail)
        assert "records: created 4, updated 1, skipped 0, failed 0\n" in body
        assert "diff check: on\n" in body
        assert "dry run: yes\n" in body
        assert f"report: {execution['report_url']}\n" in body
        # No Python reprs and no empty lines such as "reason: None".
        assert not re.search(r"None|True|False|[{}\[\]]", body), body
        assert "reason:" not in body
    time.sleep(0.3)
    assert smtp_server.mailbox.to("alerts@example.com") == []


def test_error_also_emails_the_error_address(notifying: ExecutorProcess,
                                             smtp_server: SmtpServer) -> None:
    with notifying.client(user_id="robot-7") as c:  # not an email: no initiator mail
        name = _run(c, None, "exit 4")
        wait_for(lambda: all(n["state"] == "sent" for n in _notes(c, name)), 10,
                 message="emails sent")
        assert sorted(n["target"] for n in _notes(c, name)) == ["alerts@example.com",
                                                                "ops@example.com"]
    mail = smtp_server.mailbox.to("alerts@example.com")[0]
    body = _text(mail)
    assert "reason: exit code 4\n" in body
    assert "exit code: 4\n" in body
    assert "records:" not in body  # the job wrote no counts
    assert "initiated by: robot-7\n" in body


def test_retry_after_is_honoured_with_the_same_webhook_id(
    notifying: ExecutorProcess, webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.script = [(503, {"Retry-After": "1"})]
    with notifying.client() as c:
        name = _run(c, webhook_receiver.url, "true")
        wait_for(lambda: any(n["kind"] == "webhook" and n["state"] == "sent"
                             for n in _notes(c, name)), 10, message="webhook sent")
        webhook = next(n for n in _notes(c, name) if n["kind"] == "webhook")
    first, second = webhook_receiver.received()
    assert second.at - first.at >= 0.9
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    Webhook(WEBHOOK_SECRET).verify(second.body, second.headers)
    assert webhook["attempts"] == 2
    assert [(h["ok"], h["detail"]) for h in webhook["history"]] == [
        (False, "HTTP 503"), (True, "HTTP 200")]


def test_client_error_from_the_receiver_is_not_retried(
    notifying: ExecutorProcess, webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.script = [(404, {})]
    with notifying.client() as c:
        name = _run(c, webhook_receiver.url, "true")
        wait_for(lambda: any(n["kind"] == "webhook" and n["state"] == "failed"
                             for n in _notes(c, name)), 10, message="webhook failed")
        time.sleep(1.2)
        webhook = next(n for n in _notes(c, name) if n["kind"] == "webhook")
    assert (webhook["attempts"], webhook["last_error"]) == (1, "HTTP 404")
    assert len(webhook_receiver.received()) == 1


def test_redirects_are_not_followed(notifying: ExecutorProcess,
                                    webhook_receiver: WebhookReceiver) -> None:
    other = WebhookReceiver()
    try:
        webhook_receiver.script = [(307, {"Location": other.url})]
        with notifying.client() as c:
            name = _run(c, webhook_receiver.url, "true")
            wait_for(lambda: any(n["kind"] == "webhook" and n["state"] == "failed"
                                 for n in _notes(c, name)), 10, message="webhook failed")
            webhook = next(n for n in _notes(c, name) if n["kind"] == "webhook")
        assert webhook["last_error"] == "HTTP 307: redirects are not followed"
        time.sleep(0.3)
        assert other.received() == []
    finally:
        other.close()


def test_ssrf_guard_refuses_loopback_without_the_allow_list(
    start_executor: ExecutorFactory, webhook_receiver: WebhookReceiver,
) -> None:
    server = start_executor()
    with server.client() as c:
        for url in (webhook_receiver.url,
                    webhook_receiver.url.replace("127.0.0.1", "localhost")):
            name = _run(c, url, "true", additional_notification_email=None,
                        additional_error_notification_email=None)
            wait_for(lambda n=name: _notes(c, n)[0]["state"] == "failed", 10,
                     message="the refusal")
        time.sleep(1.5)  # a retry would have happened by now
        for connector in c.list_connectors():
            (note,) = _notes(c, connector["api_name"])
            assert note["state"] == "failed"
            assert note["attempts"] == 1
            assert "refused by the SSRF guard" in note["last_error"]
            assert "loopback" in note["last_error"]
    assert webhook_receiver.received() == []


def test_mail_server_down_then_up_loses_nothing(start_executor: ExecutorFactory) -> None:
    port = free_port()
    server = start_executor("--smtp-host", "127.0.0.1", "--smtp-port", str(port),
                            env=base_env(SCSYNC_DELIVERY_SCHEDULE="0.5"))
    with server.client() as c:
        name = _run(c, None, "true", additional_error_notification_email=None)
        wait_for(lambda: _notes(c, name)[0]["attempts"] >= 1, 10, message="a failed attempt")
        note = _notes(c, name)[0]
        assert note["state"] == "pending"
        assert "unreachable" in note["last_error"]
        late = SmtpServer(port, Mailbox()).start()
        try:
            wait_for(lambda: late.mailbox.to("ops@example.com"), 15, message="the late mail")
            wait_for(lambda: _notes(c, name)[0]["state"] == "sent", 5, message="marked sent")
        finally:
            late.stop()


def test_default_schedule_retries_for_about_a_day() -> None:
    # Standard Webhooks' schedule: an endpoint down overnight still gets its webhooks.
    assert len(DELIVERY_SCHEDULE) + 1 == 8
    assert 24 * 3600 <= sum(DELIVERY_SCHEDULE) <= 30 * 3600


def test_a_long_outage_loses_nothing_and_only_exhaustion_fails(
    start_executor: ExecutorFactory, webhook_receiver: WebhookReceiver,
) -> None:
    # Ten quick retries stand in for the day-long default: more than the 8 attempts
    # after which a down endpoint used to lose its webhook for good.
    server = start_executor("--allow-webhook-host", "127.0.0.1",
                            env=base_env(SCSYNC_DELIVERY_SCHEDULE=",".join(["0.05"] * 10)))
    webhook_receiver.script = [(503, {})] * 10
    down = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: connection refused
    quiet = {"additional_notification_email": None, "additional_error_notification_email": None}
    with server.client() as c:
        recovered = _run(c, webhook_receiver.url, "true", **quiet)
        wait_for(lambda: _notes(c, recovered)[0]["state"] == "sent", 5,
                 message="delivery on the 11th attempt")
        note = _notes(c, recovered)[0]
        assert note["attempts"] == 11
        assert [h["ok"] for h in note["history"]] == [False] * 10 + [True]

        lost = _run(c, down, "true", **quiet)
        wait_for(lambda: _notes(c, lost)[0]["state"] == "failed", 5,
                 message="failure once the schedule is used up")
        note = _notes(c, lost)[0]
        assert note["attempts"] == 11
        assert note["last_error"] == "ConnectionError: connection failed"


def test_pending_webhook_survives_a_kill(start_executor: ExecutorFactory,
                                         webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.script = [(503, {"Retry-After": "2"})]
    server = start_executor("--allow-webhook-host", "127.0.0.1")
    with server.client() as c:
        name = _run(c, webhook_receiver.url, "true", additional_notification_email=None,
                    additional_error_notification_email=None)
        wait_for(lambda: _notes(c, name)[0]["attempts"] == 1, 10, message="first attempt")
    server.kill()
    server.start()
    with server.client() as c:
        wait_for(lambda: _notes(c, name)[0]["state"] == "sent", 10, message="delivery")
    first, second = webhook_receiver.received()
    assert "webhook-signature" not in first.headers  # no secret configured: unsigned
    assert first.json() == second.json()


@pytest.mark.sqlite_only  # writes the bad URL into the SQLite file
def test_a_stored_malformed_url_fails_at_once_instead_of_retrying(
    start_executor: ExecutorFactory,
) -> None:
    # The API refuses such URLs now; a database from before may still hold one.
    server = start_executor(env=base_env(SCSYNC_DELIVERY_SCHEDULE="0.05,0.05"))
    with server.client() as c:
        c.create_connector({"api_name": "old_hook", "name": "Old", "status": "operational",
                            "execution_ended_webhook_url": "https://example.com/h",
                            "job": sh_job("true")})
    server.stop()
    with sqlite3.connect(server.db) as db:
        db.execute("UPDATE connectors SET execution_ended_webhook_url = ?",
                   ("https://example.com:99999/h",))
    db.close()
    server.start()
    with server.client() as c:
        wait_execution(c, "old_hook", c.start_flow("old_hook"))
        wait_for(lambda: _notes(c, "old_hook")[0]["state"] != "pending", 5,
                 message="the delivery decided")
        time.sleep(0.3)  # a retry would have happened by now
        (note,) = _notes(c, "old_hook")
    assert (note["state"], note["attempts"]) == ("failed", 1)
    assert note["last_error"] == "invalid URL: must be a URL with a port number from 1 to 65535"


def test_without_smtp_emails_are_recorded_as_skipped(client: ExecutorClient) -> None:
    name = _run(client, None, "exit 1")
    notes = _notes(client, name)
    assert [(n["state"], n["last_error"]) for n in notes] == [
        ("skipped", "no SMTP server configured (--smtp-host)")] * 2
