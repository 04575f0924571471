"""Who a provider says the signed-in user is."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ExternalIdentity"]


@dataclass(frozen=True)
class ExternalIdentity:
    provider: str
    subject: str
    """The provider's stable id of the user (``sub``; GitHub's numeric user id)."""
    email: str | None
    email_verified: bool
    display_name: str | None
