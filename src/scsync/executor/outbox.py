"""Notifications: what an ending writes to the outbox, and the worker that delivers it.

Rows are written in the transaction that ends the execution (see `Store.finish`),
so a crash can never end an execution without its notifications.  The worker
reads due rows, sends each from a worker thread (smtplib and requests block),
and records every attempt.  Delivery is at least once: an attempt cut short by a
restart is made again, with the same `webhook-id` so receivers can deduplicate.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import random
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import requests

from scsync import __version__, cadence
from scsync.client import parse_retry_after
from scsync.executor.models import webhook_url_problem
from scsync.executor.records import Connector, Delivery, Ending, Execution, Notification
from scsync.executor.settings import ExecutorSettings, Secret
from scsync.executor.ssrf import find_refusal, guarded_session
from scsync.executor.store import Store, parse_iso
from scsync.hosting import wait_for_wakeup

log = logging.getLogger("scsync.executor.outbox")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result; `retry_after` is the delay the receiver asked for, if any."""

    ok: bool
    detail: str
    permanent: bool = False
    retry_after: float | None = None


def plan(execution: Execution, connector: Connector, settings: ExecutorSettings,
         ending: Ending) -> list[Notification]:
    """The outbox rows for one ending, in the order a reader would expect them."""
    report_url = (f"{settings.base_url}/api/files/{ending.report.file_id}/download"
                  if ending.report else None)
    started_at = execution.started_at
    duration = ((parse_iso(ending.ended_at) - parse_iso(started_at)).total_seconds()
                if started_at else None)
    payload = {
        "execution_id": execution.id,
        "api_name": connector.api_name,
        "connector_id": connector.id,
        "status": ending.status,
        "started_at": started_at,
        "ended_at": ending.ended_at,
        "initiated_by": execution.initiated_by,
        "trigger_type": execution.trigger_type,
        "scheduled_for": (cadence.iso(execution.scheduled_for)
                          if execution.scheduled_for is not None else None),
        "diff_check": execution.diff_check,
        "is_dry_run": execution.is_dry_run,
        "record_counts": ending.record_counts,
        "report_url": report_url,
        "metadata": {
            "duration_seconds": duration,
            "exit_code": ending.exit_code,
            "reason": ending.reason,
            "attempt": execution.attempt,
            "executor_version": __version__,
        },
    }
    recipients: list[str] = []
    for address, wanted in (
        (execution.initiator_email, True),
        (connector.additional_notification_email, True),
        (connector.additional_error_notification_email, ending.status == "error"),
    ):
        if address and wanted and address.lower() not in {r.lower() for r in recipients}:
            recipients.append(address)
    notes = [_email(to, payload, settings) for to in recipients]
    if url := connector.execution_ended_webhook_url:
        notes.append(Notification(
            "webhook", url, {"id": f"msg_{execution.id.replace('-', '')}", "body": payload},
        ))
    return notes


def _email(to: str, payload: dict[str, Any], settings: ExecutorSettings) -> Notification:
    subject = f"SmartConnector {payload['api_name']}: execution {payload['status']}"
    message = {"to": to, "subject": subject, "body": _email_body(payload)}
    if settings.smtp_host is None:
        return Notification("email", to, message, state="skipped",
                            last_error="no SMTP server configured (--smtp-host)")
    return Notification("email", to, message)


def _email_body(payload: dict[str, Any]) -> str:
    """The webhook's facts for a person: words rather than Python reprs, nothing empty."""
    metadata = payload["metadata"]
    counts = payload["record_counts"]
    duration = metadata["duration_seconds"]
    lines = [
        ("connector", f"{payload['api_name']} ({payload['connector_id']})"),
        ("execution", payload["execution_id"]),
        ("status", payload["status"]),
        ("reason", metadata["reason"]),
        ("records", ", ".join(f"{key} {value}" for key, value in counts.items())
         if counts is not None else None),
        ("started", payload["started_at"]),
        ("ended", payload["ended_at"]),
        ("duration", f"{duration:.1f} s" if duration is not None else None),
        ("exit code", metadata["exit_code"]),
        ("initiated by", payload["initiated_by"]),
        ("scheduled for", payload["scheduled_for"]),
        ("diff check", "on" if payload["diff_check"] else "off"),
        ("dry run", "yes" if payload["is_dry_run"] else "no"),
        ("report", payload["report_url"]),
        ("executor", f"scsync {metadata['executor_version']}"),
    ]
    return "".join(f"{label}: {value}\n" for label, value in lines
                   if value is not None and value != "")


def sign(secret: Secret, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks `webhook-signature` value for one attempt."""
    key = base64.b64decode(secret.value.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class Sender:
    """Performs one attempt; runs in a worker thread."""

    def __init__(self, settings: ExecutorSettings) -> None:
        self._settings = settings
        self._session = guarded_session(settings.allow_webhook_hosts)

    def close(self) -> None:
        self._session.close()

    def send(self, row: Delivery) -> Outcome:
        if row.kind == "webhook":
            return self._webhook(row.target, row.payload)
        return self._email(row.payload)

    def _webhook(self, url: str, payload: dict[str, Any]) -> Outcome:
        if (problem := webhook_url_problem(url)) is not None:
            return Outcome(False, f"invalid URL: {problem}", permanent=True)
        body = json.dumps(payload["body"], separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json",
                   "User-Agent": f"scsync-executor/{__version__}"}
        if self._settings.webhook_secret is not None:
            timestamp = int(time.time())
            headers |= {
                "webhook-id": payload["id"],
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(self._settings.webhook_secret, payload["id"],
                                          timestamp, body),
            }
        try:
            response = self._session.post(url, data=body, headers=headers,
                                          timeout=self._settings.delivery_timeout,
                                          allow_redirects=False, stream=True)
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                requests.exceptions.MissingSchema) as exc:
            # No retry can fix a URL that does not parse.
            return Outcome(False, f"invalid URL: {type(exc).__name__}", permanent=True)
        except requests.RequestException as exc:
            if (refused := find_refusal(exc)) is not None:
                return Outcome(False, f"refused by the SSRF guard: {refused}", permanent=True)
            return Outcome(False, f"{type(exc).__name__}: connection failed")
        with response:  # closed unread: a receiver cannot make us download anything
            code = response.status_code
            if 200 <= code < 300:
                return Outcome(True, f"HTTP {code}")
            if 300 <= code < 400:
                return Outcome(False, f"HTTP {code}: redirects are not followed", permanent=True)
            retryable = code in (408, 425, 429) or code >= 500
            return Outcome(False, f"HTTP {code}", permanent=not retryable,
                           retry_after=parse_retry_after(response.headers.get("Retry-After")))

    def _email(self, message: dict[str, Any]) -> Outcome:
        settings = self._settings
        assert settings.smtp_host is not None
        email = EmailMessage()
        email["From"] = settings.mail_from
        email["To"] = message["to"]
        email["Subject"] = message["subject"]
        email["Date"] = formatdate(usegmt=True)  # RFC 5322 requires it
        email["Message-ID"] = make_msgid(domain="scsync.local")
        email.set_content(message["body"])
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                              timeout=settings.delivery_timeout) as smtp:
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return Outcome(False, f"recipient refused (SMTP {codes[0]})",
                           permanent=all(code >= 500 for code in codes))
        except smtplib.SMTPResponseException as exc:
            return Outcome(False, f"SMTP {exc.smtp_code}", permanent=exc.smtp_code >= 500)
        except (OSError, smtplib.SMTPException) as exc:
            return Outcome(False, f"{type(exc).__name__}: mail server unreachable")
        return Outcome(True, "accepted by the mail server")


class DeliveryWorker:
    """One asyncio task feeding due outbox rows to worker threads."""

    def __init__(self, store: Store, settings: ExecutorSettings,
                 on_attempt: Callable[[str, bool], None]) -> None:
        self._store = store
        self._settings = settings
        self._sender = Sender(settings)
        self._on_attempt = on_attempt
        self._wakeup = asyncio.Event()
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wakeup.set()

    async def stop(self) -> None:
        """Abandon attempts in flight; their rows stay pending and are sent after a restart."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def run(self) -> None:
        try:
            while True:
                self._wakeup.clear()
                free = self._settings.delivery_concurrency - len(self._in_flight)
                if free > 0:
                    for row in self._store.due_deliveries(time.time(), free,
                                                          sorted(self._in_flight)):
                        self._in_flight.add(row.id)
                        task = asyncio.create_task(self._deliver(row))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                await self._sleep()
        finally:
            self._sender.close()

    async def _sleep(self) -> None:
        full = len(self._in_flight) >= self._settings.delivery_concurrency
        due = None if full else self._store.next_delivery_at(sorted(self._in_flight))
        delay = 5.0 if due is None else min(5.0, due - time.time())
        if delay > 0:
            await wait_for_wakeup(self._wakeup, delay)

    async def _deliver(self, row: Delivery) -> None:
        try:
            outcome = await asyncio.to_thread(self._sender.send, row)
        except Exception:  # a bug in a sender must not kill the worker
            log.exception("delivery %s failed unexpectedly", row.id)
            outcome = Outcome(False, "internal error while sending")
        attempts = row.attempts + 1
        retry_at: float | None = None
        if not outcome.ok and not outcome.permanent:
            delay = self._delay(attempts, outcome.retry_after)
            retry_at = None if delay is None else time.time() + delay
        self._store.record_attempt(row.id, ok=outcome.ok, detail=outcome.detail,
                                   retry_at=retry_at)
        self._on_attempt(row.kind, outcome.ok)
        if not outcome.ok:
            log.warning("%s delivery %s attempt %d: %s%s", row.kind, row.id, attempts,
                        outcome.detail, "" if retry_at else " (giving up)")
        self._in_flight.discard(row.id)
        self.wake()

    def _delay(self, attempts: int, retry_after: float | None) -> float | None:
        """Seconds until the next attempt after `attempts` failed ones; None: give up."""
        settings = self._settings
        if attempts > len(settings.delivery_schedule):
            return None
        if retry_after is not None:
            return min(settings.delivery_retry_after_max, retry_after)
        # Jitter keeps the rows of one outage from all retrying in the same second.
        jitter: float = random.uniform(0.8, 1.0)  # noqa: S311 - not for security
        return settings.delivery_schedule[attempts - 1] * jitter
