"""The signed-in user's own account: profile, settings, sessions, deletion."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from spotilike.kit.auth import CurrentPrincipal
from spotilike.kit.db import ReadSession, WriteSession
from spotilike.kit.errors import NotFound
from spotilike.users.api.deps import RuntimeDep, UserId
from spotilike.users.api.problems import problem_responses
from spotilike.users.api.views import user_view
from spotilike.users.models import User
from spotilike.users.schemas import (
    AccountDeletion,
    ProfileUpdate,
    PublicProfile,
    SessionView,
    Settings,
    SettingsUpdate,
    UserView,
)
from spotilike.users.service import accounts, sessions, verification

__all__ = ["router"]

router = APIRouter(
    prefix="/users",
    tags=["me"],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
)


def _settings(user: User) -> Settings:
    return Settings(
        language=user.language,
        explicit_content_allowed=user.explicit_content_allowed,
        streaming_quality_kbps=user.streaming_quality_kbps,
        private_session=user.private_session,
    )


@router.get("/me", summary="The signed-in user's profile")
async def me(user_id: UserId, session: ReadSession) -> UserView:
    return user_view(await accounts.profile(session, user_id=user_id))


@router.patch("/me", summary="Change the profile; roles and verification are not fields here")
async def update_me(
    changes: ProfileUpdate, user_id: UserId, runtime: RuntimeDep, session: WriteSession
) -> UserView:
    user = await accounts.update_profile(runtime, session, user_id=user_id, changes=changes)
    return user_view(user)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete the account; every service erases the user's data",
)
async def delete_me(
    request: AccountDeletion, user_id: UserId, runtime: RuntimeDep, session: WriteSession
) -> None:
    await accounts.delete_account(runtime, session, user_id=user_id, password=request.password)


@router.get("/me/settings", summary="Playback and privacy settings")
async def get_settings(user_id: UserId, session: ReadSession) -> Settings:
    return _settings(await accounts.profile(session, user_id=user_id))


@router.patch("/me/settings", summary="Change playback and privacy settings")
async def update_settings(
    changes: SettingsUpdate, user_id: UserId, runtime: RuntimeDep, session: WriteSession
) -> Settings:
    user = await accounts.update_settings(runtime, session, user_id=user_id, changes=changes)
    return _settings(user)


@router.post(
    "/me/email/verification",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send the email verification link again",
)
async def resend_verification(
    user_id: UserId, runtime: RuntimeDep, session: WriteSession
) -> dict[str, str]:
    user = await accounts.profile(session, user_id=user_id)
    await runtime.resets_per_email.hit("verify:" + str(user.id))
    await verification.request_email_verification(runtime, session, user=user)
    return {
        "status": "a verification link is on its way"
        if not user.email_verified
        else "already verified"
    }


@router.get("/me/sessions", summary="Where this account is signed in")
async def my_sessions(
    principal: CurrentPrincipal, user_id: UserId, session: ReadSession
) -> list[SessionView]:
    sid = principal.claims.get("sid")
    return await sessions.list_sessions(
        session, user_id=user_id, current_session_id=sid if isinstance(sid, str) else None
    )


@router.delete(
    "/me/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out one session (only your own)",
)
async def revoke_my_session(
    session_id: UUID, user_id: UserId, runtime: RuntimeDep, session: WriteSession
) -> None:
    await sessions.revoke_session(runtime, session, user_id=user_id, session_id=session_id)


@router.get("/{user_id}/profile", summary="Another user's public profile")
async def public_profile(
    user_id: UUID, _caller: CurrentPrincipal, session: ReadSession
) -> PublicProfile:
    user = await accounts.profile(session, user_id=user_id)
    if user.disabled_at is not None:
        raise NotFound(f"no user {user_id}", code="user-not-found")
    return PublicProfile.model_validate(user)
