"""The password policy, as the API reports it."""

from __future__ import annotations

from spotilike.kit.errors import UnprocessableContent
from spotilike.users.passwords import PasswordRejected, check_password_policy

__all__ = ["enforce_password_policy"]


def enforce_password_policy(password: str, *, email: str) -> None:
    """Raises a 422 that points at ``/password`` and says which rule it broke."""
    try:
        check_password_policy(password, email=email)
    except PasswordRejected as error:
        raise UnprocessableContent(
            str(error),
            code=error.code,
            extensions={"errors": [{"pointer": "/password", "detail": str(error)}]},
        ) from None
