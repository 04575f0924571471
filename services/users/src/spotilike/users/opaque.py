"""Opaque bearer secrets: refresh, password-reset and email-verification tokens.

Each is 256 random bits; only its SHA-256 is stored, so a copy of the database lets
nobody sign in or reset a password. A plain hash suffices (no slow hash, no salt) because
the secret is random, not chosen by a person.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["MAX_TOKEN_LENGTH", "digest", "new_token"]

MAX_TOKEN_LENGTH = 128
"""Longer than any token we issue; anything longer is refused before it is hashed."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
