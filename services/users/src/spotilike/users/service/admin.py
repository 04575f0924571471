"""What administrators do: find users, grant and revoke roles, disable accounts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.kit.errors import Conflict, NotFound, UnprocessableContent
from spotilike.users import repository
from spotilike.users.models import Device, Role, User
from spotilike.users.service.events import publish_role_changed, publish_user_updated
from spotilike.users.service.runtime import Runtime
from spotilike.users.service.sessions import revoke_all_sessions

__all__ = [
    "MAX_PAGE_SIZE",
    "disable_user",
    "enable_user",
    "grant_role",
    "revoke_role",
    "search_users",
    "signals_of",
    "user_by_id",
]

_log = structlog.get_logger(__name__)
MAX_PAGE_SIZE = 100


async def user_by_id(session: AsyncSession, *, user_id: UUID) -> User:
    user = await repository.user(session, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", code="user-not-found")
    return user


async def _locked(session: AsyncSession, user_id: UUID) -> User:
    user = await repository.user_for_update(session, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", code="user-not-found")
    return user


async def search_users(
    session: AsyncSession, *, query: str | None, after: UUID | None, limit: int
) -> tuple[Sequence[User], UUID | None]:
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    rows = await repository.search_users(session, query=query, after=after, limit=limit + 1)
    page = rows[:limit]
    return page, (page[-1].id if len(rows) > limit else None)


async def grant_role(
    runtime: Runtime,
    session: AsyncSession,
    *,
    admin_id: str,
    user_id: UUID,
    role: Role,
    artist_id: UUID | None,
) -> User:
    if role is Role.ARTIST and artist_id is None:
        raise UnprocessableContent(
            "granting ARTIST needs the catalog artist the user manages",
            extensions={"errors": [{"pointer": "/artist_id", "detail": "required for ARTIST"}]},
        )
    user = await _locked(session, user_id)
    changed = role.value not in user.roles or (role is Role.ARTIST and user.artist_id != artist_id)
    if role.value not in user.roles:
        user.roles = sorted({*user.roles, role.value})
    if role is Role.ARTIST:
        user.artist_id = artist_id
    if changed:
        user.updated_at = datetime.now(UTC)
        await publish_role_changed(runtime, session, user)
        _log.info("role_granted", admin_id=admin_id, user_id=str(user.id), role=role.value)
    return user


async def revoke_role(
    runtime: Runtime, session: AsyncSession, *, admin_id: str, user_id: UUID, role: Role
) -> User:
    if role is Role.USER:
        raise Conflict(
            "every account keeps the USER role; disable the account instead", code="role-required"
        )
    if role is Role.ADMIN and str(user_id) == admin_id:
        raise Conflict("administrators cannot remove their own ADMIN role", code="self-demotion")
    user = await _locked(session, user_id)
    if role.value in user.roles:
        user.roles = [existing for existing in user.roles if existing != role.value]
        if role is Role.ARTIST:
            user.artist_id = None
        user.updated_at = datetime.now(UTC)
        await publish_role_changed(runtime, session, user)
        # Tokens carry roles: the old ones must stop working now, not in 15 minutes.
        await revoke_all_sessions(runtime, session, user_id=user.id, reason="role-revoked")
        _log.info("role_revoked", admin_id=admin_id, user_id=str(user.id), role=role.value)
    return user


async def disable_user(
    runtime: Runtime, session: AsyncSession, *, admin_id: str, user_id: UUID
) -> User:
    if str(user_id) == admin_id:
        raise Conflict("administrators cannot disable themselves", code="self-disable")
    user = await _locked(session, user_id)
    if user.disabled_at is None:
        user.disabled_at = datetime.now(UTC)
        user.updated_at = user.disabled_at
        await publish_user_updated(runtime, session, user)
        revoked = await revoke_all_sessions(runtime, session, user_id=user.id, reason="disabled")
        _log.info("user_disabled", admin_id=admin_id, user_id=str(user.id), sessions=revoked)
    return user


async def enable_user(
    runtime: Runtime, session: AsyncSession, *, admin_id: str, user_id: UUID
) -> User:
    user = await _locked(session, user_id)
    if user.disabled_at is not None:
        user.disabled_at = None
        user.updated_at = datetime.now(UTC)
        await publish_user_updated(runtime, session, user)
        _log.info("user_enabled", admin_id=admin_id, user_id=str(user.id))
    return user


async def signals_of(session: AsyncSession, *, user_id: UUID, limit: int) -> Sequence[Device]:
    await user_by_id(session, user_id=user_id)
    return await repository.devices_of(session, user_id, limit=max(1, min(limit, MAX_PAGE_SIZE)))
