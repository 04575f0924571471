"""Event → queue → SMTP through the whole service: Kafka in, a real SMTP server out."""

# Russian text is what these tests check; its letters only look like Latin ones.
# ruff: noqa: RUF001

from __future__ import annotations

import uuid
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from notifications_support import (
    PUBLIC_URL,
    cloud_event,
    create_topics,
    dead_letters,
    fetch,
    publish,
    registered_event,
    reset_event,
    serve,
    unique_email,
    until,
)

from spotilike.contracts.events.notifications import EmailDeadV1
from spotilike.contracts.events.users import SubscriptionFailedV1, UserUpdatedV1
from spotilike.notifications.settings import NotificationsSettings
from spotilike.tools.pytest_plugin import (
    ScratchDatabase,
    ScratchTopics,
    SmtpTestServer,
    TokenIssuer,
)

pytestmark = pytest.mark.integration

Settings = Callable[..., NotificationsSettings]


def to(sink: SmtpTestServer, recipient: str) -> list[EmailMessage]:
    return [m for m in sink.messages() if m["To"] == recipient]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


async def test_a_redelivered_event_sends_one_email(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    kafka_topics: ScratchTopics,
    token_issuer: TokenIssuer,
) -> None:
    await create_topics(kafka_topics)
    recipient, later = unique_email(), unique_email("sentinel")
    reset = reset_event(recipient)
    event = cloud_event(reset)
    topic = kafka_topics.name(reset.topic)
    async with serve(settings_factory(), token_issuer, topic_prefix=kafka_topics.prefix):
        bootstrap = settings_factory().kafka_bootstrap_servers
        await publish(bootstrap, topic, event, key=str(reset.user_id), times=3)
        # One partition, in order: once the sentinel's email is out, every copy was seen.
        sentinel = reset_event(later)
        await publish(bootstrap, topic, cloud_event(sentinel), key=str(sentinel.user_id))

        async def sentinel_arrived() -> bool:
            return bool(to(smtp_sink, later))

        await until(sentinel_arrived)

    [message] = to(smtp_sink, recipient)
    assert reset.reset_url in text_of(message)
    assert smtp_sink.deliveries == 2


async def test_a_dead_email_is_announced_on_notifications_dlq(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    kafka_topics: ScratchTopics,
    token_issuer: TokenIssuer,
) -> None:
    await create_topics(kafka_topics)
    smtp_sink.refuse("550 5.1.1 No such user", times=5)
    reset = reset_event(unique_email())
    settings = settings_factory()
    async with serve(settings, token_issuer, topic_prefix=kafka_topics.prefix):
        await publish(
            settings.kafka_bootstrap_servers,
            kafka_topics.name(reset.topic),
            cloud_event(reset),
            key=str(reset.user_id),
        )
        [event] = await dead_letters(
            settings.kafka_bootstrap_servers, kafka_topics.name("notifications.dlq"), wanted=1
        )
    payload = event.payload()
    assert isinstance(payload, EmailDeadV1)
    assert payload.template == "password_reset"
    assert payload.attempts == 1
    assert "550 5.1.1 No such user" in payload.last_error


async def test_a_template_renders_user_supplied_names_escaped(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    kafka_topics: ScratchTopics,
    token_issuer: TokenIssuer,
) -> None:
    await create_topics(kafka_topics)
    recipient = unique_email()
    name = '<script>alert("x")</script> & <b>Bob</b>'
    welcome = registered_event(recipient, display_name=name)
    settings = settings_factory()
    async with serve(settings, token_issuer, topic_prefix=kafka_topics.prefix):
        await publish(
            settings.kafka_bootstrap_servers,
            kafka_topics.name(welcome.topic),
            cloud_event(welcome),
            key=str(welcome.user_id),
        )

        async def arrived() -> list[EmailMessage]:
            return to(smtp_sink, recipient)

        [message] = await until(arrived)

    html = html_of(message)
    assert "<script>" not in html
    assert "<b>Bob</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Bob&lt;/b&gt;" in html
    # The plain-text part is not HTML: the name is there as the user typed it.
    assert name in text_of(message)
    assert message["Subject"] == f"Welcome to Spotilike, {name}"


@pytest.mark.parametrize(
    ("language", "locale", "subject"),
    [
        ("ru", "ru", "Сброс пароля Spotilike"),
        ("ru-RU", "ru", "Сброс пароля Spotilike"),
        ("en-GB", "en", "Reset your Spotilike password"),
        ("de", "en", "Reset your Spotilike password"),
    ],
)
async def test_the_locale_follows_the_users_language(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    kafka_topics: ScratchTopics,
    token_issuer: TokenIssuer,
    language: str,
    locale: str,
    subject: str,
) -> None:
    await create_topics(kafka_topics)
    recipient = unique_email()
    reset = reset_event(recipient, language=language)
    settings = settings_factory()
    async with serve(settings, token_issuer, topic_prefix=kafka_topics.prefix):
        await publish(
            settings.kafka_bootstrap_servers,
            kafka_topics.name(reset.topic),
            cloud_event(reset),
            key=str(reset.user_id),
        )

        async def arrived() -> list[EmailMessage]:
            return to(smtp_sink, recipient)

        [message] = await until(arrived)
    assert message["Subject"] == subject
    assert message["Content-Language"] == locale
    assert f'<html lang="{locale}">' in html_of(message)


async def test_welcome_carries_a_working_unsubscribe_link_and_account_mail_still_arrives(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    kafka_topics: ScratchTopics,
    token_issuer: TokenIssuer,
    notifications_database: ScratchDatabase,
) -> None:
    await create_topics(kafka_topics)
    recipient = unique_email()
    user_id = uuid.uuid4()
    settings = settings_factory()
    bootstrap = settings.kafka_bootstrap_servers
    async with serve(settings, token_issuer, topic_prefix=kafka_topics.prefix) as service:
        update = UserUpdatedV1(
            user_id=user_id, revision=3, email=recipient, display_name="Вера", language="ru"
        )
        await publish(
            bootstrap, kafka_topics.name(update.topic), cloud_event(update), key=str(user_id)
        )
        welcome = registered_event(recipient, user_id=user_id, language="ru")
        await publish(
            bootstrap, kafka_topics.name(welcome.topic), cloud_event(welcome), key=str(user_id)
        )

        async def arrived() -> list[EmailMessage]:
            return to(smtp_sink, recipient)

        [message] = await until(arrived)
        header = message["List-Unsubscribe"]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = header.strip("<>")
        prefix = f"{PUBLIC_URL}/api/notifications/notifications/unsubscribe?token="
        assert link.startswith(prefix)
        assert link in text_of(message)
        assert f'href="{link}"' in html_of(message)

        page = await service.http.get(link.removeprefix(PUBLIC_URL + "/api/notifications"))
        assert page.status_code == 200
        assert "Вы отписались" in page.text  # the user's language, from the projection
        forged = await service.http.get(
            "/notifications/unsubscribe", params={"token": link.rsplit("=", 1)[1][:-2] + "AA"}
        )
        assert forged.status_code == 400

        # Unsubscribed: a second welcome is skipped, a payment reminder still arrives.
        again = registered_event(recipient, user_id=user_id, language="ru")
        await publish(
            bootstrap, kafka_topics.name(again.topic), cloud_event(again), key=str(user_id)
        )
        failed = SubscriptionFailedV1(
            user_id=user_id, email=recipient, language="ru", amount_cents=999, currency="eur"
        )
        await publish(
            bootstrap, kafka_topics.name(failed.topic), cloud_event(failed), key=str(user_id)
        )

        async def reminder_arrived() -> list[EmailMessage]:
            return [m for m in to(smtp_sink, recipient) if "оплат" in str(m["Subject"]).lower()]

        [reminder] = await until(reminder_arrived)

        async def skipped() -> list[object]:
            return await fetch(
                notifications_database,
                "SELECT id FROM emails WHERE user_id = $1 AND status = 'skipped'",
                user_id,
            )

        await until(skipped)
    assert len(to(smtp_sink, recipient)) == 2
    assert "9,99 EUR" in text_of(reminder)
    assert reminder["List-Unsubscribe"] is None
    assert f"{PUBLIC_URL}/account/billing" in text_of(reminder)
