"""Emailed single-use tokens: email verification and password reset.

The raw token exists only in the event that carries the link to the notification service;
the database keeps its SHA-256. Issuing a token deletes the user's older ones of the same
purpose, so only the newest link works. Links are built from ``web_url`` in the settings,
never from the request's Host header, so a forged Host cannot send a reset link elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts.events.users import EmailVerificationRequestedV1, PasswordResetRequestedV1
from spotilike.kit.errors import UnprocessableContent
from spotilike.users import opaque, repository
from spotilike.users.email_address import normalize_email
from spotilike.users.models import AccountToken, TokenPurpose, User
from spotilike.users.service.events import publish_user_updated
from spotilike.users.service.policy import enforce_password_policy
from spotilike.users.service.runtime import Runtime
from spotilike.users.service.sessions import ClientInfo, revoke_all_sessions

__all__ = [
    "forgot_password",
    "request_email_verification",
    "reset_password",
    "verify_email",
]

_log = structlog.get_logger(__name__)


async def _issue(
    runtime: Runtime, session: AsyncSession, *, user: User, purpose: TokenPurpose, ttl: int
) -> tuple[str, datetime]:
    await repository.supersede_account_tokens(session, user_id=user.id, purpose=purpose.value)
    token = opaque.new_token()
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl)
    await repository.add(
        session,
        AccountToken(
            token_hash=opaque.digest(token),
            user_id=user.id,
            purpose=purpose.value,
            expires_at=expires_at,
        ),
    )
    return token, expires_at


def _link(runtime: Runtime, path: str, token: str) -> str:
    return runtime.settings.web_url.rstrip("/") + path + "?" + urlencode({"token": token})


async def request_email_verification(
    runtime: Runtime, session: AsyncSession, *, user: User
) -> None:
    if user.email_verified:
        return
    token, expires_at = await _issue(
        runtime,
        session,
        user=user,
        purpose=TokenPurpose.EMAIL_VERIFICATION,
        ttl=runtime.settings.email_verification_ttl_seconds,
    )
    await runtime.outbox.add(
        session,
        EmailVerificationRequestedV1(
            user_id=user.id,
            email=user.email,
            language=user.language,
            verification_url=_link(runtime, "/verify-email", token),
            expires_at=expires_at,
        ),
        key=str(user.id),
        subject=str(user.id),
    )


def _invalid_token(what: str) -> UnprocessableContent:
    return UnprocessableContent(
        f"this {what} link is invalid, used or expired; ask for a new one",
        code="token-invalid",
        extensions={"errors": [{"pointer": "/token", "detail": "invalid, used or expired"}]},
    )


async def verify_email(runtime: Runtime, session: AsyncSession, *, token: str) -> UUID:
    user_id = await repository.spend_account_token(
        session,
        token_hash=opaque.digest(token),
        purpose=TokenPurpose.EMAIL_VERIFICATION.value,
        now=datetime.now(UTC),
    )
    user = await repository.user_for_update(session, user_id) if user_id else None
    if user is None:
        raise _invalid_token("verification")
    if not user.email_verified:
        user.email_verified = True
        await publish_user_updated(runtime, session, user)
    return user.id


async def forgot_password(runtime: Runtime, *, email: str, client: ClientInfo) -> None:
    """Answers alike for known and unknown emails; only a known one gets an email."""
    email = normalize_email(email)
    await runtime.resets_per_ip.hit(client.ip)
    await runtime.resets_per_email.hit(email)
    async with runtime.database.transaction() as session:
        user = await repository.user_by_email(session, email)
        if user is None or user.disabled_at is not None:
            return
        token, expires_at = await _issue(
            runtime,
            session,
            user=user,
            purpose=TokenPurpose.PASSWORD_RESET,
            ttl=runtime.settings.password_reset_ttl_seconds,
        )
        await runtime.outbox.add(
            session,
            PasswordResetRequestedV1(
                user_id=user.id,
                email=user.email,
                language=user.language,
                reset_url=_link(runtime, "/reset-password", token),
                expires_at=expires_at,
            ),
            key=str(user.id),
            subject=str(user.id),
        )
    _log.info("password_reset_requested", user_id=str(user.id))


async def reset_password(
    runtime: Runtime, session: AsyncSession, *, token: str, password: str
) -> None:
    """Sets the password and signs the user out everywhere."""
    user_id = await repository.spend_account_token(
        session,
        token_hash=opaque.digest(token),
        purpose=TokenPurpose.PASSWORD_RESET.value,
        now=datetime.now(UTC),
    )
    user = await repository.user_for_update(session, user_id) if user_id else None
    if user is None:
        raise _invalid_token("password reset")
    enforce_password_policy(password, email=user.email_normalized)
    user.password_hash = await runtime.hasher.hash(password)
    # Following the link proves the mailbox, as a verification link would.
    user.email_verified = True
    user.updated_at = datetime.now(UTC)
    revoked = await revoke_all_sessions(runtime, session, user_id=user.id, reason="password-reset")
    _log.info("password_reset", user_id=str(user.id), sessions_revoked=revoked)
