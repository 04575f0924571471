"""Revoked access tokens, by ``jti``, in Valkey.

Access tokens are short-lived and verified without calling the users service, so logout
cannot take a token back; it puts the token's ``jti`` here instead, and every verifier
checks this list. An entry lives exactly as long as the token could still be accepted,
so the list never grows beyond the tokens that are live right now.
"""

from __future__ import annotations

import math
from datetime import datetime

from redis.asyncio import Redis

from spotilike.kit.auth.verifier import MAX_LEEWAY_SECONDS

__all__ = ["DENYLIST_KEY_PREFIX", "TokenDenylist"]

DENYLIST_KEY_PREFIX = "auth:denylist:"


class TokenDenylist:
    """Reads and writes ``auth:denylist:<jti>`` keys.

    Timeouts and retries are the Valkey client's to configure (``socket_timeout``); a
    failing call raises the client's ``RedisError``.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @staticmethod
    def key(jti: str) -> str:
        return DENYLIST_KEY_PREFIX + jti

    async def deny(self, jti: str, expires_at: datetime) -> None:
        """Rejects the token ``jti`` from now until it expires.

        ``expires_at`` is the token's ``exp``. The entry outlives it by the largest leeway a
        verifier may grant, because a verifier with leeway still accepts the token that long.
        """
        if not jti:
            raise ValueError("jti must not be empty")
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        # EXAT in the past makes Valkey drop the key at once, which is right: the token is
        # already refused for being expired.
        until = math.ceil(expires_at.timestamp()) + MAX_LEEWAY_SECONDS
        await self._redis.set(self.key(jti), b"1", exat=until)

    async def is_denied(self, jti: str) -> bool:
        return bool(await self._redis.exists(self.key(jti)))
