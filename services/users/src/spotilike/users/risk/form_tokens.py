"""Signed, timestamped tokens a rendered form carries, which tell how fast it was filled."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from itsdangerous import BadData, URLSafeSerializer

__all__ = ["FORM_TOKEN_MAX_AGE_SECONDS", "FormTokens"]

FORM_TOKEN_MAX_AGE_SECONDS = 3600.0
"""Past this a form token counts as invalid: the form would have been filled long ago."""

_FORM_TOKEN_SALT = "spotilike.users.form-token"  # noqa: S105 - a namespace, not a secret
_MAX_FORM_TOKEN_LENGTH = 512
"""Far above any token :meth:`FormTokens.issue` makes; longer input is not worth verifying."""


class FormTokens:
    """Signed, timestamped tokens that a rendered form carries back with its submission.

    A token proves the form was served by us and tells how long ago, which measures how
    fast it was filled. The issue time is in the signed payload with sub-second precision
    (``TimestampSigner`` keeps whole seconds only, too coarse for a two-second threshold).
    """

    def __init__(
        self,
        secret: str,
        *,
        clock: Callable[[], float] = time.time,
        max_age_seconds: float = FORM_TOKEN_MAX_AGE_SECONDS,
    ) -> None:
        if not secret:
            raise ValueError("the form token secret must not be empty")
        if max_age_seconds <= 0:
            raise ValueError("max_age_seconds must be positive")
        self._serializer = URLSafeSerializer(secret, salt=_FORM_TOKEN_SALT)
        self._clock = clock
        self._max_age_seconds = max_age_seconds

    def issue(self) -> str:
        # The nonce makes every token distinct, so two forms served in the same instant
        # cannot be told apart by nothing but their token.
        return self._serializer.dumps({"n": secrets.token_urlsafe(12), "t": self._clock()})

    def age_seconds(self, token: str | None) -> float | None:
        """Seconds since ``token`` was issued; None when it is missing, invalid or too old."""
        if not token or len(token) > _MAX_FORM_TOKEN_LENGTH:
            return None
        try:
            payload = self._serializer.loads(token)
        except BadData:
            return None
        issued_at = payload.get("t") if isinstance(payload, dict) else None
        if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
            return None
        # A token from an instance whose clock runs slightly ahead would come out negative;
        # it is still ours and still fresh.
        age = max(0.0, self._clock() - float(issued_at))
        if age > self._max_age_seconds:
            return None
        return age
