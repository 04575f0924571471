"""Administration: finding users, roles, disabling accounts, risk signals."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from spotilike.kit.db import ReadSession, WriteSession
from spotilike.users.api.deps import AdminPrincipal, RuntimeDep
from spotilike.users.api.problems import problem_responses
from spotilike.users.api.views import admin_view
from spotilike.users.models import Role
from spotilike.users.schemas import AdminUser, RiskSignal, RoleGrant, UserPage
from spotilike.users.service import admin

__all__ = ["router"]

router = APIRouter(
    prefix="/admin/users",
    tags=["admin"],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)


@router.get("", summary="List or search users by email or display name")
async def list_users(
    _admin: AdminPrincipal,
    session: ReadSession,
    query: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
    after: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=admin.MAX_PAGE_SIZE)] = 50,
) -> UserPage:
    users, next_cursor = await admin.search_users(session, query=query, after=after, limit=limit)
    return UserPage(items=[admin_view(user) for user in users], next_cursor=next_cursor)


@router.get("/{user_id}", summary="One user")
async def get_user(user_id: UUID, _admin: AdminPrincipal, session: ReadSession) -> AdminUser:
    return admin_view(await admin.user_by_id(session, user_id=user_id))


@router.post("/{user_id}/roles", summary="Grant a role (ARTIST needs artist_id)")
async def grant_role(
    user_id: UUID,
    grant: RoleGrant,
    caller: AdminPrincipal,
    runtime: RuntimeDep,
    session: WriteSession,
) -> AdminUser:
    user = await admin.grant_role(
        runtime,
        session,
        admin_id=caller.subject,
        user_id=user_id,
        role=grant.role,
        artist_id=grant.artist_id,
    )
    return admin_view(user)


@router.delete("/{user_id}/roles/{role}", summary="Revoke a role; the user's sessions end")
async def revoke_role(
    user_id: UUID, role: Role, caller: AdminPrincipal, runtime: RuntimeDep, session: WriteSession
) -> AdminUser:
    user = await admin.revoke_role(
        runtime, session, admin_id=caller.subject, user_id=user_id, role=role
    )
    return admin_view(user)


@router.post("/{user_id}/disable", summary="Disable the account and sign it out everywhere")
async def disable(
    user_id: UUID, caller: AdminPrincipal, runtime: RuntimeDep, session: WriteSession
) -> AdminUser:
    return admin_view(
        await admin.disable_user(runtime, session, admin_id=caller.subject, user_id=user_id)
    )


@router.post("/{user_id}/enable", summary="Enable a disabled account")
async def enable(
    user_id: UUID, caller: AdminPrincipal, runtime: RuntimeDep, session: WriteSession
) -> AdminUser:
    return admin_view(
        await admin.enable_user(runtime, session, admin_id=caller.subject, user_id=user_id)
    )


@router.get("/{user_id}/signals", summary="What the bot check saw and decided for this user")
async def signals(
    user_id: UUID,
    _admin: AdminPrincipal,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=admin.MAX_PAGE_SIZE)] = 50,
) -> list[RiskSignal]:
    devices = await admin.signals_of(session, user_id=user_id, limit=limit)
    return [RiskSignal.model_validate(device) for device in devices]
