"""Rows to API models, where a field is computed rather than copied."""

from __future__ import annotations

from spotilike.users.models import User
from spotilike.users.schemas import AdminUser, UserView

__all__ = ["admin_view", "user_view"]


def user_view(user: User) -> UserView:
    return UserView.model_validate(
        {**_fields(user), "has_password": user.password_hash is not None}
    )


def admin_view(user: User) -> AdminUser:
    return AdminUser.model_validate(
        {
            **_fields(user),
            "has_password": user.password_hash is not None,
            "disabled": user.disabled_at is not None,
            "stripe_customer_id": user.stripe_customer_id,
            "revision": user.revision,
        }
    )


def _fields(user: User) -> dict[str, object]:
    return {name: getattr(user, name) for name in UserView.model_fields if name != "has_password"}
