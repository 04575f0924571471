"""Named queries of the notification service. They flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.notifications.models import Email, EmailStatus, Recipient

__all__ = [
    "add_email",
    "add_registered_recipient",
    "apply_user_update",
    "claim_due",
    "email",
    "erase_user",
    "list_emails",
    "mark_dead",
    "mark_sent",
    "recipient",
    "requeue",
    "schedule_retry",
    "unsubscribe",
]

_DUE = (EmailStatus.QUEUED.value, EmailStatus.SENDING.value)


async def add_email(
    session: AsyncSession,
    *,
    email_id: UUID,
    event_id: UUID | None,
    template: str,
    user_id: UUID | None,
    recipient: str,
    locale: str,
    data: dict[str, Any],
    status: EmailStatus = EmailStatus.QUEUED,
    last_error: str | None = None,
) -> bool:
    """Queues the email; False when its event already queued one (a redelivery)."""
    result = await session.execute(
        insert(Email)
        .values(
            id=email_id,
            event_id=event_id,
            template=template,
            user_id=user_id,
            recipient=recipient,
            locale=locale,
            data=data,
            status=status.value,
            attempts=0,
            last_error=last_error,
        )
        .on_conflict_do_nothing(index_elements=[Email.event_id])
        .returning(Email.id)
    )
    return result.first() is not None


async def claim_due(session: AsyncSession, *, lease: timedelta, limit: int) -> Sequence[Email]:
    """Takes up to ``limit`` due emails for this worker and counts the attempt.

    ``SKIP LOCKED`` lets every worker claim at once without waiting on, or taking, each
    other's rows. A claim is a lease: a ``sending`` row whose worker died becomes due
    again when ``next_attempt_at`` (now + lease) passes.
    """
    due = (
        select(Email.id)
        .where(Email.status.in_(_DUE), Email.next_attempt_at <= func.now())
        .order_by(Email.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.scalars(
        update(Email)
        .where(Email.id.in_(due))
        .values(
            status=EmailStatus.SENDING.value,
            attempts=Email.attempts + 1,
            next_attempt_at=func.now() + lease,
            updated_at=func.now(),
        )
        .returning(Email)
        .execution_options(synchronize_session=False)
    )
    return result.all()


def _claimed(email_id: UUID, attempt: int) -> Any:
    # Only the worker holding this attempt may settle it: a lease that expired and was
    # claimed again belongs to the newer attempt.
    return (
        Email.id == email_id,
        Email.status == EmailStatus.SENDING.value,
        Email.attempts == attempt,
    )


async def mark_sent(
    session: AsyncSession, *, email_id: UUID, attempt: int, provider_message_id: str | None
) -> bool:
    result = await session.execute(
        update(Email)
        .where(*_claimed(email_id, attempt))
        .values(
            status=EmailStatus.SENT.value,
            provider_message_id=provider_message_id,
            last_error=None,
            sent_at=func.now(),
            updated_at=func.now(),
        )
        .returning(Email.id)
    )
    return result.first() is not None


async def schedule_retry(
    session: AsyncSession, *, email_id: UUID, attempt: int, error: str, delay: timedelta
) -> bool:
    result = await session.execute(
        update(Email)
        .where(*_claimed(email_id, attempt))
        .values(
            status=EmailStatus.QUEUED.value,
            last_error=error,
            next_attempt_at=func.now() + delay,
            updated_at=func.now(),
        )
        .returning(Email.id)
    )
    return result.first() is not None


async def mark_dead(session: AsyncSession, *, email_id: UUID, attempt: int, error: str) -> bool:
    result = await session.execute(
        update(Email)
        .where(*_claimed(email_id, attempt))
        .values(status=EmailStatus.DEAD.value, last_error=error, updated_at=func.now())
        .returning(Email.id)
    )
    return result.first() is not None


async def email(session: AsyncSession, email_id: UUID, *, lock: bool = False) -> Email | None:
    return await session.get(Email, email_id, with_for_update=lock)


async def requeue(session: AsyncSession, email_id: UUID) -> Email | None:
    """A fresh start for a dead email: all its attempts again, from now."""
    result = await session.scalars(
        update(Email)
        .where(Email.id == email_id, Email.status == EmailStatus.DEAD.value)
        .values(
            status=EmailStatus.QUEUED.value,
            attempts=0,
            next_attempt_at=func.now(),
            updated_at=func.now(),
        )
        .returning(Email)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return result.one_or_none()


async def list_emails(
    session: AsyncSession,
    *,
    status: EmailStatus | None,
    recipient: str | None,
    before: tuple[datetime, UUID] | None,
    limit: int,
) -> Sequence[Email]:
    """Newest first; ``before`` is the (created_at, id) of the last row already shown."""
    query = select(Email).order_by(Email.created_at.desc(), Email.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Email.status == status.value)
    if recipient is not None:
        query = query.where(func.lower(Email.recipient) == recipient.lower())
    if before is not None:
        query = query.where(tuple_(Email.created_at, Email.id) < tuple_(*before))
    return (await session.scalars(query)).all()


async def recipient(session: AsyncSession, user_id: UUID) -> Recipient | None:
    return await session.get(Recipient, user_id)


async def add_registered_recipient(
    session: AsyncSession, *, user_id: UUID, email: str, language: str
) -> None:
    """A registration never overwrites what a ``user.updated`` (another topic, maybe read
    first) already said."""
    await session.execute(
        insert(Recipient)
        .values(user_id=user_id, email=email, language=language, revision=-1)
        .on_conflict_do_nothing(index_elements=[Recipient.user_id])
    )


async def apply_user_update(
    session: AsyncSession,
    *,
    user_id: UUID,
    revision: int,
    email: str,
    language: str,
    marketing_emails: bool,
) -> None:
    """Keeps the newest revision only: an older update arriving late changes nothing."""
    statement = insert(Recipient).values(
        user_id=user_id,
        email=email,
        language=language,
        revision=revision,
        marketing_emails=marketing_emails,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Recipient.user_id],
            set_={
                "email": statement.excluded.email,
                "language": statement.excluded.language,
                "revision": statement.excluded.revision,
                "marketing_emails": statement.excluded.marketing_emails,
            },
            where=Recipient.revision < statement.excluded.revision,
        )
    )


async def unsubscribe(session: AsyncSession, user_id: UUID) -> Recipient | None:
    row = await session.get(Recipient, user_id, with_for_update=True)
    if row is not None and row.unsubscribed_at is None:
        row.unsubscribed_at = datetime.now(UTC)
        await session.flush()
    return row


async def erase_user(session: AsyncSession, user_id: UUID) -> None:
    """Forgets the user: their address, preferences and every email to them."""
    await session.execute(delete(Recipient).where(Recipient.user_id == user_id))
    await session.execute(delete(Email).where(Email.user_id == user_id))
