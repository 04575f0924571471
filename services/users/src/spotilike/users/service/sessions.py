"""Sessions: opening one (tokens), refreshing it, listing and revoking.

A session is one sign-in on one device and the family of every refresh token it rotates
through. Each refresh token works once; presenting a used one means it was copied, so the
whole family is revoked and its live access tokens denylisted (OAuth 2.0 Security BCP,
section 4.14).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog
import uuid_utils.compat as uuid_compat
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.kit.errors import NotFound, Unauthorized
from spotilike.users import opaque, repository
from spotilike.users.models import IssuedAccessToken, RefreshToken, Session, User
from spotilike.users.schemas import SessionView, TokenPair
from spotilike.users.service.runtime import Runtime
from spotilike.users.signing import sign_access_token

__all__ = [
    "ClientInfo",
    "list_sessions",
    "open_session",
    "refresh",
    "revoke_all_sessions",
    "revoke_session",
]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ClientInfo:
    """What the request says about the client; none of it is trusted, all of it bounded."""

    ip: str
    user_agent: str | None
    accept_language: str | None
    fingerprint: str | None


def _invalid_refresh() -> Unauthorized:
    return Unauthorized("the refresh token is not valid", code="auth/invalid-refresh-token")


async def _issue(
    runtime: Runtime, session: AsyncSession, *, user: User, login: Session, now: datetime
) -> TokenPair:
    settings = runtime.settings
    key = await runtime.keys.signing_key()
    access = sign_access_token(
        key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        subject=str(user.id),
        roles=list(user.roles),
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        session_id=str(login.id),
        artist_id=str(user.artist_id) if user.artist_id else None,
        now=now,
    )
    refresh_token = opaque.new_token()
    await repository.prune_expired_access_tokens(session, login.id, now=now)
    await repository.add(
        session,
        RefreshToken(
            token_hash=opaque.digest(refresh_token),
            session_id=login.id,
            expires_at=login.expires_at,
        ),
        IssuedAccessToken(jti=access.jti, session_id=login.id, expires_at=access.expires_at),
    )
    return TokenPair(
        access_token=access.token,
        expires_in=settings.access_token_ttl_seconds,
        refresh_token=refresh_token,
        refresh_expires_in=max(0, int((login.expires_at - now).total_seconds())),
    )


async def open_session(
    runtime: Runtime, session: AsyncSession, *, user: User, client: ClientInfo, method: str
) -> TokenPair:
    now = datetime.now(UTC)
    login = Session(
        id=uuid_compat.uuid7(),
        user_id=user.id,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(days=runtime.settings.refresh_token_ttl_days),
        user_agent=(client.user_agent or "")[:512] or None,
        ip=client.ip,
        method=method,
    )
    await repository.add(session, login)
    writers = runtime.database.recent_writers
    if writers is not None:
        # The new token's first reads must see the account on the primary, not miss it
        # on a replica that has not replayed the sign-up yet.
        await writers.mark("sub:" + str(user.id))
    return await _issue(runtime, session, user=user, login=login, now=now)


async def refresh(runtime: Runtime, *, refresh_token: str) -> TokenPair:
    """Exchanges a refresh token for a new pair; reuse revokes the family.

    It runs its own transaction because a detected reuse must commit the revocation and
    still answer 401.
    """
    now = datetime.now(UTC)
    reused_by: UUID | None = None
    async with runtime.database.transaction() as session:
        stored = await repository.refresh_token_for_update(session, opaque.digest(refresh_token))
        if stored is None:
            raise _invalid_refresh()
        login = await session.get(Session, stored.session_id, with_for_update=True)
        if login is None or login.revoked_at is not None or login.expires_at <= now:
            raise _invalid_refresh()
        user = await repository.user(session, login.user_id)
        if user is None:
            raise _invalid_refresh()
        if stored.used_at is not None:
            reused_by = user.id
            await _revoke(
                runtime,
                session,
                user_id=user.id,
                reason="refresh-reuse",
                now=now,
                session_ids=[login.id],
            )
        else:
            if user.disabled_at is not None:
                raise Unauthorized("this account is disabled", code="auth/account-disabled")
            stored.used_at = now
            login.last_used_at = now
            return await _issue(runtime, session, user=user, login=login, now=now)
    _log.warning("refresh_token_reused", user_id=str(reused_by))
    raise Unauthorized(
        "this refresh token was already used; the session has been revoked, sign in again",
        code="auth/refresh-token-reused",
    )


async def _revoke(
    runtime: Runtime,
    session: AsyncSession,
    *,
    user_id: UUID,
    reason: str,
    now: datetime,
    session_ids: list[UUID] | None = None,
) -> int:
    revoked = await repository.revoke_sessions(
        session, user_id=user_id, reason=reason, now=now, session_ids=session_ids
    )
    for token in await repository.live_access_tokens(session, revoked, now=now):
        await runtime.denylist.deny(token.jti, token.expires_at)
    return len(revoked)


async def revoke_all_sessions(
    runtime: Runtime, session: AsyncSession, *, user_id: UUID, reason: str
) -> int:
    """Signs the user out everywhere: every refresh family and every live access token."""
    return await _revoke(runtime, session, user_id=user_id, reason=reason, now=datetime.now(UTC))


async def revoke_session(
    runtime: Runtime, session: AsyncSession, *, user_id: UUID, session_id: UUID
) -> None:
    if await repository.session_of(session, user_id=user_id, session_id=session_id) is None:
        raise NotFound("no such session", code="session-not-found")
    await _revoke(
        runtime,
        session,
        user_id=user_id,
        reason="revoked-by-user",
        now=datetime.now(UTC),
        session_ids=[session_id],
    )


async def list_sessions(
    session: AsyncSession, *, user_id: UUID, current_session_id: str | None
) -> list[SessionView]:
    now = datetime.now(UTC)
    return [
        SessionView(
            id=row.id,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            user_agent=row.user_agent,
            ip=str(row.ip) if row.ip is not None else None,
            method=row.method,
            current=str(row.id) == current_session_id,
        )
        for row in await repository.live_sessions_of(session, user_id, now=now)
    ]
