"""Signed unsubscribe tokens: ``<user id, base64url>.<HMAC-SHA256, base64url>``.

Our own few lines of ``hmac`` rather than a library: the token carries one UUID and
never expires (RFC 8058 one-click links must keep working in an old email), so there is
no payload format, expiry or key rotation for a library to handle. The signature is
domain-separated, so no other HMAC made with the same secret can pass as one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from uuid import UUID

__all__ = ["UnsubscribeTokens"]

_DOMAIN = b"spotilike-notifications-unsubscribe-v1:"
_MAX_TOKEN_LENGTH = 128


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UnsubscribeTokens:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the unsubscribe secret is empty")
        self._key = secret.encode()

    def _mac(self, user_id: UUID) -> bytes:
        return hmac.new(self._key, _DOMAIN + user_id.bytes, hashlib.sha256).digest()

    def issue(self, user_id: UUID) -> str:
        return f"{_b64(user_id.bytes)}.{_b64(self._mac(user_id))}"

    def verify(self, token: str) -> UUID | None:
        """The user the token was issued for; None for anything we did not sign."""
        if len(token) > _MAX_TOKEN_LENGTH or token.count(".") != 1:
            return None
        encoded_user, encoded_mac = token.split(".")
        try:
            user_id = UUID(bytes=_unb64(encoded_user))
            mac = _unb64(encoded_mac)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(mac, self._mac(user_id)):
            return None
        return user_id
