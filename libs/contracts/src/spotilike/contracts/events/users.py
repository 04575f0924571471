"""Events of the users service: accounts, roles, emails owed and failed payments.

They never carry a password, a token hash or any other secret. A reset or verification
event carries the link the notification service puts in the email, because only the
users service knows the raw token, and only until it has handed it over.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from spotilike.contracts.events.base import EventData

__all__ = [
    "EmailVerificationRequestedV1",
    "PasswordResetRequestedV1",
    "SubscriptionFailedV1",
    "UserDeletedV1",
    "UserRegisteredV1",
    "UserRoleChangedV1",
    "UserUpdatedV1",
]


class UserRegisteredV1(EventData):
    topic = "user.registered"
    user_id: UUID
    email: str
    display_name: str
    language: str = "en"
    country: str | None = None


class UserUpdatedV1(EventData):
    topic = "user.updated"
    user_id: UUID
    revision: int = Field(ge=0)
    email: str
    display_name: str
    language: str = "en"
    country: str | None = None
    streaming_quality_kbps: int = 320
    explicit_content_allowed: bool = True
    private_session: bool = False
    marketing_emails: bool = False
    disabled: bool = False


class UserDeletedV1(EventData):
    topic = "user.deleted"
    user_id: UUID
    """Every service erases what it holds about this user (GDPR right to erasure)."""


class UserRoleChangedV1(EventData):
    topic = "user.role_changed"
    user_id: UUID
    revision: int = Field(ge=0)
    roles: tuple[str, ...]
    artist_id: UUID | None = None
    """The catalog artist the user manages while they hold ARTIST."""


class PasswordResetRequestedV1(EventData):
    topic = "user.password_reset_requested"
    user_id: UUID
    email: str
    language: str = "en"
    reset_url: str
    expires_at: datetime


class EmailVerificationRequestedV1(EventData):
    topic = "user.email_verification_requested"
    user_id: UUID
    email: str
    language: str = "en"
    verification_url: str
    expires_at: datetime


class SubscriptionFailedV1(EventData):
    topic = "subscription.failed"
    user_id: UUID
    email: str
    language: str = "en"
    amount_cents: int = Field(ge=0)
    currency: str
    retry_at: datetime | None = None
