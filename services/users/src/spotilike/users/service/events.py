"""The events the users service publishes, built from the user row in one place."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts.events.users import UserRoleChangedV1, UserUpdatedV1
from spotilike.users.models import User
from spotilike.users.service.runtime import Runtime

__all__ = ["publish_role_changed", "publish_user_updated"]


async def publish_user_updated(runtime: Runtime, session: AsyncSession, user: User) -> None:
    """Bumps the revision and adds ``user.updated`` to this transaction's outbox."""
    user.revision += 1
    await runtime.outbox.add(
        session,
        UserUpdatedV1(
            user_id=user.id,
            revision=user.revision,
            email=user.email,
            display_name=user.display_name,
            language=user.language,
            country=user.country,
            streaming_quality_kbps=user.streaming_quality_kbps,
            explicit_content_allowed=user.explicit_content_allowed,
            private_session=user.private_session,
            disabled=user.disabled_at is not None,
        ),
        key=str(user.id),
        subject=str(user.id),
    )


async def publish_role_changed(runtime: Runtime, session: AsyncSession, user: User) -> None:
    user.revision += 1
    await runtime.outbox.add(
        session,
        UserRoleChangedV1(
            user_id=user.id,
            revision=user.revision,
            roles=tuple(sorted(user.roles)),
            artist_id=user.artist_id,
        ),
        key=str(user.id),
        subject=str(user.id),
    )
