"""The notification service's API models."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from spotilike.notifications.models import EmailStatus

__all__ = ["EmailPage", "EmailView"]


class EmailView(BaseModel):
    """One queued email as admins see it; the rendered body is not kept, only its data."""

    id: UUID
    template: str
    recipient: str
    locale: str
    status: EmailStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    provider_message_id: str | None
    created_at: datetime
    sent_at: datetime | None


class EmailPage(BaseModel):
    items: list[EmailView]
    next_cursor: str | None
    """Pass as ``cursor`` for the next (older) page; None on the last page."""
