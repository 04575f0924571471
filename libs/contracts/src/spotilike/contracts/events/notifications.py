"""Events of the notification service."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from spotilike.contracts.events.base import EventData

__all__ = ["EmailDeadV1"]


class EmailDeadV1(EventData):
    topic = "notifications.dlq"
    email_id: UUID
    template: str
    attempts: int = Field(ge=1)
    last_error: str
