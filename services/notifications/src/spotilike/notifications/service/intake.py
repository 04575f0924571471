"""From the events that owe someone an email to rows in the email queue.

Each function runs in the consumer's transaction, beside the ``processed_events`` row of
its event, and the queue's unique ``event_id`` makes a second copy of the event a no-op
even outside the consumer. Links the users service built are checked against our own
``public_url``: a link elsewhere is not sent but kept as a dead email with the reason,
and reported on ``notifications.dlq`` like every other email that cannot be delivered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import structlog
import uuid_utils
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts.events.notifications import EmailDeadV1
from spotilike.contracts.events.users import (
    EmailVerificationRequestedV1,
    PasswordResetRequestedV1,
    SubscriptionFailedV1,
    UserRegisteredV1,
    UserUpdatedV1,
)
from spotilike.kit.db import after_commit
from spotilike.notifications import repository
from spotilike.notifications.models import EmailStatus
from spotilike.notifications.service.rendering import TEMPLATES, locale_for
from spotilike.notifications.service.runtime import Runtime

__all__ = [
    "email_verification_requested",
    "password_reset_requested",
    "queue_email",
    "subscription_failed",
    "user_deleted",
    "user_registered",
    "user_updated",
]

_log = structlog.get_logger(__name__)


def _new_id() -> UUID:
    return UUID(bytes=uuid_utils.uuid7().bytes)


def _foreign_link(runtime: Runtime, url: str) -> str | None:
    """Why ``url`` may not go in an email, or None when it is under ``public_url``."""
    allowed = urlsplit(runtime.renderer.public_url)
    link = urlsplit(url)
    same_origin = (link.scheme, link.netloc.lower()) == (allowed.scheme, allowed.netloc.lower())
    base_path = allowed.path.rstrip("/") + "/"
    if not same_origin or not (link.path + "/").startswith(base_path) or link.username:
        return f"link {url[:200]!r} is not under the configured public_url {allowed.geturl()!r}"
    return None


async def queue_email(
    runtime: Runtime,
    session: AsyncSession,
    *,
    event_id: UUID | None,
    template: str,
    user_id: UUID | None,
    recipient: str,
    language: str | None,
    data: dict[str, Any],
    links: tuple[str, ...] = (),
) -> UUID | None:
    """Queues one email; None when ``event_id`` has already queued one."""
    kind = TEMPLATES[template]
    status, error = EmailStatus.QUEUED, None
    for link in links:
        error = _foreign_link(runtime, link)
        if error is not None:
            status = EmailStatus.DEAD
            break
    if status is EmailStatus.QUEUED and not kind.transactional and user_id is not None:
        known = await repository.recipient(session, user_id)
        if known is not None and known.unsubscribed_at is not None:
            status, error = EmailStatus.SKIPPED, "the recipient unsubscribed"
    email_id = _new_id()
    added = await repository.add_email(
        session,
        email_id=email_id,
        event_id=event_id,
        template=template,
        user_id=user_id,
        recipient=recipient,
        locale=locale_for(language),
        data=data,
        status=status,
        last_error=error,
    )
    if not added:
        return None
    if status is EmailStatus.DEAD:
        assert error is not None
        _log.error("email_refused", email_id=str(email_id), template=template, error=error)
        await runtime.outbox.add(
            session,
            EmailDeadV1(email_id=email_id, template=template, attempts=1, last_error=error),
            key=str(email_id),
        )
    elif status is EmailStatus.QUEUED:

        async def wake() -> None:
            runtime.nudge_delivery()

        after_commit(session, wake)
    return email_id


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def user_registered(
    runtime: Runtime, session: AsyncSession, *, event_id: UUID, event: UserRegisteredV1
) -> None:
    await repository.add_registered_recipient(
        session, user_id=event.user_id, email=event.email, language=event.language
    )
    await queue_email(
        runtime,
        session,
        event_id=event_id,
        template="welcome",
        user_id=event.user_id,
        recipient=event.email,
        language=event.language,
        data={"display_name": event.display_name},
    )


async def user_updated(runtime: Runtime, session: AsyncSession, *, event: UserUpdatedV1) -> None:
    await repository.apply_user_update(
        session,
        user_id=event.user_id,
        revision=event.revision,
        email=event.email,
        language=event.language,
        marketing_emails=event.marketing_emails,
    )


async def user_deleted(runtime: Runtime, session: AsyncSession, *, user_id: UUID) -> None:
    await repository.erase_user(session, user_id)


async def password_reset_requested(
    runtime: Runtime, session: AsyncSession, *, event_id: UUID, event: PasswordResetRequestedV1
) -> None:
    await queue_email(
        runtime,
        session,
        event_id=event_id,
        template="password_reset",
        user_id=event.user_id,
        recipient=event.email,
        language=event.language,
        data={"reset_url": event.reset_url, "expires_at": _iso(event.expires_at)},
        links=(event.reset_url,),
    )


async def email_verification_requested(
    runtime: Runtime,
    session: AsyncSession,
    *,
    event_id: UUID,
    event: EmailVerificationRequestedV1,
) -> None:
    await queue_email(
        runtime,
        session,
        event_id=event_id,
        template="email_verification",
        user_id=event.user_id,
        recipient=event.email,
        language=event.language,
        data={"verification_url": event.verification_url, "expires_at": _iso(event.expires_at)},
        links=(event.verification_url,),
    )


async def subscription_failed(
    runtime: Runtime, session: AsyncSession, *, event_id: UUID, event: SubscriptionFailedV1
) -> None:
    await queue_email(
        runtime,
        session,
        event_id=event_id,
        template="payment_reminder",
        user_id=event.user_id,
        recipient=event.email,
        language=event.language,
        data={
            "amount": event.amount_cents,
            "currency": event.currency,
            "retry_at": _iso(event.retry_at),
            "billing_url": runtime.renderer.link("/account/billing"),
        },
    )
