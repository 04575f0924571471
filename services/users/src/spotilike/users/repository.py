"""Named queries of the users service. They flush, never commit: the caller's
transaction decides."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.users.models import (
    AccountToken,
    Device,
    ExternalAccount,
    IssuedAccessToken,
    RefreshToken,
    Session,
    SigningKey,
    User,
)

__all__ = [
    "add",
    "delete_user",
    "devices_of",
    "external_account",
    "live_access_tokens",
    "live_sessions_of",
    "lock_signing_keys",
    "prune_expired_access_tokens",
    "published_signing_keys",
    "refresh_token_for_update",
    "retire_signing_keys",
    "revoke_sessions",
    "search_users",
    "session_of",
    "signing_key_for_signing",
    "spend_account_token",
    "supersede_account_tokens",
    "user",
    "user_by_email",
    "user_for_update",
]


async def add(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
    await session.flush()


async def user(session: AsyncSession, user_id: UUID) -> User | None:
    return await session.get(User, user_id)


async def user_for_update(session: AsyncSession, user_id: UUID) -> User | None:
    return await session.get(User, user_id, with_for_update=True)


async def user_by_email(session: AsyncSession, email_normalized: str) -> User | None:
    return await session.scalar(select(User).where(User.email_normalized == email_normalized))


async def search_users(
    session: AsyncSession, *, query: str | None, after: UUID | None, limit: int
) -> Sequence[User]:
    """Keyset pagination on the id (UUIDv7, so in sign-up order)."""
    statement = select(User).order_by(User.id).limit(limit)
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        statement = statement.where(
            or_(
                User.email_normalized.ilike(pattern, escape="\\"),
                User.display_name.ilike(pattern, escape="\\"),
            )
        )
    if after is not None:
        statement = statement.where(User.id > after)
    return (await session.scalars(statement)).all()


async def delete_user(session: AsyncSession, user_id: UUID) -> None:
    await session.execute(delete(User).where(User.id == user_id))


async def external_account(
    session: AsyncSession, *, provider: str, subject: str
) -> ExternalAccount | None:
    return await session.get(ExternalAccount, (provider, subject))


async def session_of(session: AsyncSession, *, user_id: UUID, session_id: UUID) -> Session | None:
    """The user's session with that id, or None: someone else's session is not found."""
    return await session.scalar(
        select(Session).where(Session.id == session_id, Session.user_id == user_id)
    )


async def live_sessions_of(
    session: AsyncSession, user_id: UUID, *, now: datetime
) -> Sequence[Session]:
    return (
        await session.scalars(
            select(Session)
            .where(
                Session.user_id == user_id, Session.revoked_at.is_(None), Session.expires_at > now
            )
            .order_by(Session.last_used_at.desc())
        )
    ).all()


async def revoke_sessions(
    session: AsyncSession,
    *,
    user_id: UUID,
    reason: str,
    now: datetime,
    session_ids: Sequence[UUID] | None = None,
) -> list[UUID]:
    """Revokes the user's live sessions (all, or those listed); returns the ones revoked."""
    statement = (
        update(Session)
        .where(Session.user_id == user_id, Session.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .returning(Session.id)
    )
    if session_ids is not None:
        statement = statement.where(Session.id.in_(session_ids))
    return list((await session.scalars(statement)).all())


async def refresh_token_for_update(session: AsyncSession, token_hash: bytes) -> RefreshToken | None:
    """Locks the row, so two concurrent refreshes with one token cannot both succeed."""
    return await session.get(RefreshToken, token_hash, with_for_update=True)


async def live_access_tokens(
    session: AsyncSession, session_ids: Sequence[UUID], *, now: datetime
) -> Sequence[IssuedAccessToken]:
    if not session_ids:
        return []
    return (
        await session.scalars(
            select(IssuedAccessToken).where(
                IssuedAccessToken.session_id.in_(session_ids), IssuedAccessToken.expires_at > now
            )
        )
    ).all()


async def prune_expired_access_tokens(
    session: AsyncSession, session_id: UUID, *, now: datetime
) -> None:
    await session.execute(
        delete(IssuedAccessToken).where(
            IssuedAccessToken.session_id == session_id, IssuedAccessToken.expires_at <= now
        )
    )


async def supersede_account_tokens(session: AsyncSession, *, user_id: UUID, purpose: str) -> None:
    """A newer emailed token invalidates every older one of the same purpose."""
    await session.execute(
        delete(AccountToken).where(AccountToken.user_id == user_id, AccountToken.purpose == purpose)
    )


async def spend_account_token(
    session: AsyncSession, *, token_hash: bytes, purpose: str, now: datetime
) -> UUID | None:
    """Marks a live, unused token of that purpose used; returns its user, or None."""
    return await session.scalar(
        update(AccountToken)
        .where(
            AccountToken.token_hash == token_hash,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(AccountToken.user_id)
    )


async def published_signing_keys(
    session: AsyncSession, *, retired_after: datetime
) -> Sequence[SigningKey]:
    """Keys still in the JWKS: the current ones and those retired after ``retired_after``."""
    return (
        await session.scalars(
            select(SigningKey)
            .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > retired_after))
            .order_by(SigningKey.created_at.desc())
        )
    ).all()


async def signing_key_for_signing(session: AsyncSession) -> SigningKey | None:
    """The newest key that is not retired: the one new tokens are signed with."""
    return await session.scalar(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())
        .limit(1)
    )


async def retire_signing_keys(session: AsyncSession, *, keep: str, now: datetime) -> int:
    result = await session.execute(
        update(SigningKey)
        .where(SigningKey.kid != keep, SigningKey.retired_at.is_(None))
        .values(retired_at=now)
        .returning(SigningKey.kid)
    )
    return len(result.all())


async def devices_of(session: AsyncSession, user_id: UUID, *, limit: int) -> Sequence[Device]:
    return (
        await session.scalars(
            select(Device)
            .where(Device.user_id == user_id)
            .order_by(Device.created_at.desc())
            .limit(limit)
        )
    ).all()


async def lock_signing_keys(session: AsyncSession) -> None:
    """Serialises key creation across replicas for the rest of the transaction."""
    await session.execute(select(func.pg_advisory_xact_lock(0x5357_4B45_5953)))
