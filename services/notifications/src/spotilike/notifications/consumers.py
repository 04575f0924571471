"""The Kafka consumer of the notification service.

Group ``notifications``: the events that owe someone an email (``user.registered`` →
welcome, ``user.email_verification_requested``, ``user.password_reset_requested``,
``subscription.failed`` → payment reminder) become queue rows, and the users' events keep
the small recipient projection (address, language, marketing consent). Each event is
applied in one transaction with its ``processed_events`` row, so a redelivery adds
nothing; the queue's unique ``event_id`` says the same a second time.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts.events.base import EventData
from spotilike.contracts.events.users import (
    EmailVerificationRequestedV1,
    PasswordResetRequestedV1,
    SubscriptionFailedV1,
    UserDeletedV1,
    UserRegisteredV1,
    UserUpdatedV1,
)
from spotilike.kit.events import CloudEvent, ConsumerRunner
from spotilike.notifications.models import messaging
from spotilike.notifications.service import intake
from spotilike.notifications.service.runtime import Runtime

__all__ = ["GROUP", "TOPICS", "email_consumer"]

GROUP = "notifications"
TOPICS = tuple(
    model.topic
    for model in (
        UserRegisteredV1,
        UserUpdatedV1,
        UserDeletedV1,
        EmailVerificationRequestedV1,
        PasswordResetRequestedV1,
        SubscriptionFailedV1,
    )
)


def email_consumer(
    runtime: Runtime, *, bootstrap_servers: str, topic_prefix: str = ""
) -> ConsumerRunner:
    async def registered(session: AsyncSession, event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, UserRegisteredV1)
        await intake.user_registered(runtime, session, event_id=event.id, event=payload)

    async def updated(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, UserUpdatedV1)
        await intake.user_updated(runtime, session, event=payload)

    async def deleted(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, UserDeletedV1)
        await intake.user_deleted(runtime, session, user_id=payload.user_id)

    async def verification(session: AsyncSession, event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, EmailVerificationRequestedV1)
        await intake.email_verification_requested(
            runtime, session, event_id=event.id, event=payload
        )

    async def reset(session: AsyncSession, event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, PasswordResetRequestedV1)
        await intake.password_reset_requested(runtime, session, event_id=event.id, event=payload)

    async def payment(session: AsyncSession, event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, SubscriptionFailedV1)
        await intake.subscription_failed(runtime, session, event_id=event.id, event=payload)

    return ConsumerRunner(
        group=topic_prefix + GROUP,
        bootstrap_servers=bootstrap_servers,
        database=runtime.database,
        tables=messaging,
        handlers={
            topic_prefix + UserRegisteredV1.topic: registered,
            topic_prefix + UserUpdatedV1.topic: updated,
            topic_prefix + UserDeletedV1.topic: deleted,
            topic_prefix + EmailVerificationRequestedV1.topic: verification,
            topic_prefix + PasswordResetRequestedV1.topic: reset,
            topic_prefix + SubscriptionFailedV1.topic: payment,
        },
    )
