"""Tables of the notification service: the email queue and what it knows of each user."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from spotilike.kit.db import service_metadata
from spotilike.kit.events import messaging_tables

__all__ = ["Base", "Email", "EmailStatus", "Recipient", "messaging"]


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = messaging_tables(Base.metadata)


class EmailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    """Claimed by a worker until ``next_attempt_at``; claimable again after that."""
    SENT = "sent"
    SKIPPED = "skipped"
    """Never sent on purpose: the recipient opted out of non-transactional mail."""
    DEAD = "dead"


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Email(Base):
    """One email owed to one person, from the event that asked for it to its outcome."""

    __tablename__ = "emails"
    __table_args__ = (
        # The workers' claim: due rows in send order; sent rows are never looked at again.
        Index(
            "ix_emails_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('queued', 'sending')"),
        ),
        Index("ix_emails_status_created", "status", "created_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    event_id: Mapped[UUID | None] = mapped_column(unique=True)
    """The event that asked for it: a redelivered event finds it and adds nothing."""
    template: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[UUID | None] = mapped_column(index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(8))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """What the template renders with; rendered at send time, so a fixed template helps
    every email still waiting."""
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = _now()
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Recipient(Base):
    """A user as far as email goes: address, language and opt-out, from the users' events."""

    __tablename__ = "recipients"

    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer, default=-1)
    """The newest ``user.updated`` revision applied; -1 until one arrives."""
    marketing_emails: Mapped[bool] = mapped_column(default=False)
    """The users service's marketing consent; no template is marketing yet (see README)."""
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Set by the unsubscribe link: no non-transactional mail from then on."""
