"""The queue against a real SMTP server on loopback: what arrives, retries, dead letters."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

import pytest
from notifications_support import (
    PUBLIC_URL,
    delivering,
    email_row,
    fetch,
    service_runtime,
    settled,
    unique_email,
    until,
)

from spotilike.kit.events.envelope import CloudEvent
from spotilike.notifications.service import intake
from spotilike.notifications.service.delivery import DeliveryWorker
from spotilike.notifications.service.runtime import Runtime
from spotilike.notifications.settings import NotificationsSettings
from spotilike.tools.pytest_plugin import ScratchDatabase, SmtpTestServer

pytestmark = pytest.mark.integration

Settings = Callable[..., NotificationsSettings]


async def queue(runtime: Runtime, **fields: Any) -> uuid.UUID:
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "template": "password_reset",
        "user_id": uuid.uuid4(),
        "recipient": unique_email(),
        "language": "en",
        "data": {
            "reset_url": f"{PUBLIC_URL}/reset-password?token=abc",
            "expires_at": "2030-01-01T10:00:00+00:00",
        },
    }
    values.update(fields)
    async with runtime.database.transaction() as session:
        email_id = await intake.queue_email(runtime, session, **values)
    assert email_id is not None
    return email_id


def kept_for(sink: SmtpTestServer, recipient: str) -> list[EmailMessage]:
    return [m for m in sink.messages() if m["To"] == recipient]


async def dead_letter_events(database: ScratchDatabase) -> list[CloudEvent]:
    rows = await fetch(database, "SELECT topic, headers, payload FROM outbox ORDER BY id")
    events = []
    for row in rows:
        if row["topic"].endswith("notifications.dlq"):
            stored = row["headers"]
            pairs = json.loads(stored) if isinstance(stored, str) else stored
            headers = [(name, value.encode()) for name, value in pairs]
            events.append(CloudEvent.from_kafka(headers, row["payload"]))
    return events


async def test_an_email_arrives_with_both_parts_and_correct_headers(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    notifications_database: ScratchDatabase,
) -> None:
    recipient = unique_email()
    async with service_runtime(settings_factory()) as runtime, delivering(runtime):
        email_id = await queue(runtime, recipient=recipient)
        row = await until(lambda: settled(notifications_database, email_id))

    assert row["status"] == "sent"
    assert row["attempts"] == 1
    [message] = kept_for(smtp_sink, recipient)
    assert parseaddr(message["From"])[1] == "no-reply@spotilike.dev"
    assert message["Subject"] == "Reset your Spotilike password"
    assert message["Message-ID"] == f"<{email_id}@spotilike.dev>"
    assert message["Content-Language"] == "en"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"] is not None
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert f"{PUBLIC_URL}/reset-password?token=abc" in text.get_content()
    assert f'href="{PUBLIC_URL}/reset-password?token=abc"' in html.get_content()
    # A reset email is transactional: no unsubscribe link or header.
    assert message["List-Unsubscribe"] is None
    assert "unsubscribe" not in text.get_content().lower()
    assert row["provider_message_id"] == message["Message-ID"]


async def test_a_4xx_refusal_is_retried_and_then_delivered(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    notifications_database: ScratchDatabase,
) -> None:
    smtp_sink.refuse("451 4.3.0 Mailbox busy, try again later", times=2)
    recipient = unique_email()
    async with service_runtime(settings_factory(max_attempts=5)) as runtime, delivering(runtime):
        email_id = await queue(runtime, recipient=recipient)
        row = await until(lambda: settled(notifications_database, email_id))

    assert row["status"] == "sent"
    assert row["attempts"] == 3
    assert smtp_sink.deliveries == 3
    assert len(kept_for(smtp_sink, recipient)) == 1
    assert row["last_error"] is None
    assert all(
        event.payload().email_id != email_id  # type: ignore[attr-defined]
        for event in await dead_letter_events(notifications_database)
    )


async def test_a_permanent_5xx_ends_dead_at_once_and_emits_the_dead_letter_event(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    notifications_database: ScratchDatabase,
) -> None:
    smtp_sink.refuse("554 5.7.1 Message rejected", times=10)
    recipient = unique_email()
    async with service_runtime(settings_factory(max_attempts=4)) as runtime, delivering(runtime):
        email_id = await queue(runtime, recipient=recipient)
        row = await until(lambda: settled(notifications_database, email_id))

    assert row["status"] == "dead"
    # 5xx is permanent (RFC 5321): sending again would only be refused again.
    assert row["attempts"] == 1
    assert smtp_sink.deliveries == 1
    assert "554" in row["last_error"]
    assert kept_for(smtp_sink, recipient) == []
    [event] = [
        e
        for e in await dead_letter_events(notifications_database)
        if e.payload().email_id == email_id  # type: ignore[attr-defined]
    ]
    payload = event.payload()
    assert event.type == "notifications.dlq.v1"
    assert payload.template == "password_reset"  # type: ignore[attr-defined]
    assert payload.attempts == 1  # type: ignore[attr-defined]
    assert "554 5.7.1 Message rejected" in payload.last_error  # type: ignore[attr-defined]


async def test_a_permanent_5xx_ends_dead_after_the_configured_attempts(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    notifications_database: ScratchDatabase,
) -> None:
    smtp_sink.refuse("550 5.2.2 Mailbox full", times=10)
    recipient = unique_email()
    settings = settings_factory(max_attempts=8, permanent_failure_attempts=3)
    async with service_runtime(settings) as runtime, delivering(runtime):
        email_id = await queue(runtime, recipient=recipient)
        row = await until(lambda: settled(notifications_database, email_id))

    assert row["status"] == "dead"
    assert row["attempts"] == 3
    assert smtp_sink.deliveries == 3
    assert kept_for(smtp_sink, recipient) == []
    [event] = [
        e
        for e in await dead_letter_events(notifications_database)
        if e.payload().email_id == email_id  # type: ignore[attr-defined]
    ]
    assert event.payload().attempts == 3  # type: ignore[attr-defined]


async def test_refusals_every_time_end_dead_after_the_configured_attempts(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    notifications_database: ScratchDatabase,
) -> None:
    smtp_sink.refuse("421 4.7.0 Try again later", times=50)
    async with service_runtime(settings_factory(max_attempts=4)) as runtime, delivering(runtime):
        email_id = await queue(runtime)
        row = await until(lambda: settled(notifications_database, email_id))

    assert row["status"] == "dead"
    assert row["attempts"] == 4
    assert smtp_sink.deliveries == 4
    assert "421" in row["last_error"]
    [event] = [
        e
        for e in await dead_letter_events(notifications_database)
        if e.payload().email_id == email_id  # type: ignore[attr-defined]
    ]
    assert event.payload().attempts == 4  # type: ignore[attr-defined]


async def test_an_unreachable_server_is_a_transient_failure(
    settings_factory: Settings, notifications_database: ScratchDatabase
) -> None:
    closed_port = 9  # discard: nothing listens on loopback
    settings = settings_factory(smtp_port=closed_port, max_attempts=2)
    async with service_runtime(settings) as runtime, delivering(runtime):
        email_id = await queue(runtime)
        row = await until(lambda: settled(notifications_database, email_id))
    assert row["status"] == "dead"
    assert row["attempts"] == 2
    assert "SMTP" in row["last_error"]


async def test_a_reset_link_outside_the_public_url_is_never_sent(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    notifications_database: ScratchDatabase,
) -> None:
    recipient = unique_email()
    async with service_runtime(settings_factory()) as runtime:
        email_id = await queue(
            runtime,
            recipient=recipient,
            links=("http://localhost:8080.evil.example/reset-password?token=abc",),
        )
        claimed = await DeliveryWorker(runtime).run_once()
    assert claimed == 0
    row = await email_row(notifications_database, email_id)
    assert row["status"] == "dead"
    assert "not under the configured public_url" in row["last_error"]
    assert kept_for(smtp_sink, recipient) == []
    assert any(
        event.payload().email_id == email_id  # type: ignore[attr-defined]
        for event in await dead_letter_events(notifications_database)
    )


async def test_two_workers_claim_each_email_once(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    notifications_database: ScratchDatabase,
) -> None:
    async with service_runtime(settings_factory(delivery_batch=3)) as runtime:
        ids = [await queue(runtime) for _ in range(12)]
        workers = [DeliveryWorker(runtime), DeliveryWorker(runtime)]
        while True:
            claimed = await asyncio.gather(*(worker.run_once() for worker in workers))
            if sum(claimed) == 0:
                break
    rows = await fetch(
        notifications_database, "SELECT status, attempts FROM emails WHERE id = ANY($1)", ids
    )
    assert {(row["status"], row["attempts"]) for row in rows} == {("sent", 1)}
    ids_kept = [m["X-Spotilike-Email-Id"] for m in smtp_sink.messages()]
    assert sorted(ids_kept) == sorted(str(i) for i in ids)
