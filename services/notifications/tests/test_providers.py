"""SendGrid against a small server of ours speaking its API, SES against moto's server."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Callable

import pytest
from aiobotocore.session import get_session
from notifications_support import (
    FakeSendGrid,
    MotoSes,
    delivering,
    service_runtime,
    settled,
    unique_email,
    until,
)

from spotilike.notifications.providers import (
    OutgoingEmail,
    PermanentDeliveryError,
    SendGridProvider,
    SesProvider,
    TransientDeliveryError,
    provider_from_settings,
)
from spotilike.notifications.service import intake
from spotilike.notifications.settings import NotificationsSettings
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

Settings = Callable[..., NotificationsSettings]


def outgoing(
    recipient: str = "ada@example.com", sender: str = "Spotilike <no-reply@spotilike.dev>"
) -> OutgoingEmail:
    return OutgoingEmail(
        sender=sender,
        recipient=recipient,
        subject="Добро пожаловать",
        text="Hello, Ada\n",
        html="<p>Hello, Ada</p>",
        message_id=f"<{uuid.uuid4()}@spotilike.dev>",
        language="ru",
        headers={"List-Unsubscribe": "<http://localhost:8080/u?token=t>"},
    )


async def test_sendgrid_gets_both_parts_our_headers_and_the_key(sendgrid: FakeSendGrid) -> None:
    provider = SendGridProvider(api_url=sendgrid.url, api_key=sendgrid.api_key, timeout=5)
    await provider.start()
    try:
        message_id = await provider.send(outgoing())
    finally:
        await provider.aclose()
    assert message_id
    [request] = sendgrid.requests
    assert request.authorization == f"Bearer {sendgrid.api_key}"
    body = request.body
    assert body["personalizations"] == [{"to": [{"email": "ada@example.com"}]}]
    assert body["from"] == {"email": "no-reply@spotilike.dev", "name": "Spotilike"}
    assert body["subject"] == "Добро пожаловать"
    assert [part["type"] for part in body["content"]] == ["text/plain", "text/html"]
    assert body["headers"]["List-Unsubscribe"] == "<http://localhost:8080/u?token=t>"
    assert body["headers"]["Content-Language"] == "ru"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, TransientDeliveryError),
        (500, TransientDeliveryError),
        (503, TransientDeliveryError),
        (400, PermanentDeliveryError),
        (413, PermanentDeliveryError),
    ],
)
async def test_sendgrid_refusals_are_classified(
    sendgrid: FakeSendGrid, status: int, error: type[Exception]
) -> None:
    sendgrid.scripted.append(status)
    provider = SendGridProvider(api_url=sendgrid.url, api_key=sendgrid.api_key, timeout=5)
    await provider.start()
    try:
        with pytest.raises(error, match=str(status)):
            await provider.send(outgoing())
        assert await provider.send(outgoing())  # the next one goes through
    finally:
        await provider.aclose()


async def test_sendgrid_unreachable_is_transient() -> None:
    provider = SendGridProvider(api_url="http://127.0.0.1:9", api_key="k", timeout=2)
    await provider.start()
    try:
        with pytest.raises(TransientDeliveryError):
            await provider.send(outgoing())
    finally:
        await provider.aclose()


async def verify_identity(moto: MotoSes, identity: str) -> None:
    async with get_session().create_client(
        "sesv2",
        endpoint_url=moto.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=moto.access_key,
        aws_secret_access_key=moto.secret_key,
    ) as client:
        await client.create_email_identity(EmailIdentity=identity)


def ses_provider(moto: MotoSes) -> SesProvider:
    return SesProvider(
        region="us-east-1",
        endpoint_url=moto.endpoint_url,
        access_key_id=moto.access_key,
        secret_access_key=moto.secret_key,
        timeout=5,
    )


async def test_ses_sends_our_mime_message_raw(moto_ses: MotoSes) -> None:
    await verify_identity(moto_ses, "spotilike.dev")
    recipient = unique_email()
    provider = ses_provider(moto_ses)
    await provider.start()
    try:
        sent = outgoing(recipient)
        message_id = await provider.send(sent)
    finally:
        await provider.aclose()
    [kept] = [m for m in moto_ses.sent() if m["id"] == message_id]
    assert recipient in kept["destinations"]
    message = email.message_from_string(kept["raw_data"], policy=email.policy.default)
    assert message["Message-ID"] == sent.message_id
    assert message["List-Unsubscribe"] == "<http://localhost:8080/u?token=t>"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


async def test_ses_refusing_an_unverified_sender_is_permanent(moto_ses: MotoSes) -> None:
    provider = ses_provider(moto_ses)
    await provider.start()
    try:
        with pytest.raises(PermanentDeliveryError, match="MessageRejected"):
            await provider.send(outgoing(sender="someone@not-verified.example"))
    finally:
        await provider.aclose()


async def test_the_settings_choose_ses_and_the_queue_delivers_through_it(
    settings_factory: Settings, moto_ses: MotoSes, notifications_database: ScratchDatabase
) -> None:
    await verify_identity(moto_ses, "spotilike.dev")
    settings = settings_factory(
        provider="ses",
        ses_endpoint_url=moto_ses.endpoint_url,
        ses_access_key_id=moto_ses.access_key,
        ses_secret_access_key=moto_ses.secret_key,
    )
    provider = provider_from_settings(settings)
    assert isinstance(provider, SesProvider)
    recipient = unique_email()
    async with service_runtime(settings, provider) as runtime:
        async with runtime.database.transaction() as session:
            email_id = await intake.queue_email(
                runtime,
                session,
                event_id=uuid.uuid4(),
                template="welcome",
                user_id=uuid.uuid4(),
                recipient=recipient,
                language="en",
                data={"display_name": "Ada"},
            )
        assert email_id is not None
        async with delivering(runtime):
            row = await until(lambda: settled(notifications_database, email_id))
    assert row["status"] == "sent"
    [kept] = [m for m in moto_ses.sent() if m["id"] == row["provider_message_id"]]
    assert recipient in kept["destinations"]


def test_the_settings_choose_sendgrid(settings_factory: Settings) -> None:
    provider = provider_from_settings(
        settings_factory(provider="sendgrid", sendgrid_api_key="SG.x")
    )
    assert isinstance(provider, SendGridProvider)
