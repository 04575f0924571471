"""What admins do with the queue: look at emails (the dead ones above all) and retry."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from spotilike.kit.errors import Conflict, NotFound, invalid_field
from spotilike.kit.pagination import decode_cursor, encode_cursor
from spotilike.notifications import repository
from spotilike.notifications.models import Email, EmailStatus
from spotilike.notifications.schemas import EmailPage, EmailView
from spotilike.notifications.service.runtime import Runtime

__all__ = ["list_emails", "retry_email", "view"]


def view(email: Email) -> EmailView:
    return EmailView(
        id=email.id,
        template=email.template,
        recipient=email.recipient,
        locale=email.locale,
        status=EmailStatus(email.status),
        attempts=email.attempts,
        next_attempt_at=email.next_attempt_at,
        last_error=email.last_error,
        provider_message_id=email.provider_message_id,
        created_at=email.created_at,
        sent_at=email.sent_at,
    )


async def list_emails(
    runtime: Runtime,
    *,
    status: EmailStatus | None,
    recipient: str | None,
    cursor: str | None,
    limit: int,
) -> EmailPage:
    before = None
    if cursor is not None:
        created, email_id = decode_cursor(cursor, arity=2)
        try:
            before = (datetime.fromisoformat(str(created)), UUID(str(email_id)))
        except ValueError:
            raise invalid_field(
                "/cursor", "not a cursor this endpoint issued", location="query"
            ) from None
    async with runtime.database.transaction() as session:
        rows = await repository.list_emails(
            session, status=status, recipient=recipient, before=before, limit=limit + 1
        )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor([last.created_at.isoformat(), str(last.id)])
    return EmailPage(items=[view(row) for row in page], next_cursor=next_cursor)


async def retry_email(runtime: Runtime, *, email_id: UUID) -> EmailView:
    async with runtime.database.transaction() as session:
        row = await repository.email(session, email_id, lock=True)
        if row is None:
            raise NotFound(f"no email {email_id}", code="notifications/email-not-found")
        if row.status != EmailStatus.DEAD.value:
            raise Conflict(
                f"email {email_id} is {row.status}; only dead emails are retried",
                code="notifications/email-not-dead",
            )
        requeued = await repository.requeue(session, email_id)
        assert requeued is not None, "the row is locked and dead"
        result = view(requeued)
    runtime.nudge_delivery()
    return result
