"""Counting failures and requests in Valkey: login lockout and reset-request limits.

Failed logins are counted per account and per IP over a window; crossing a limit locks
that key out for ``lockout_seconds``. The account key is the normalised email whether or
not such an account exists, so the lockout itself reveals nothing about who has signed up.
Counting is a plain fixed window (INCR, then EXPIRE on the first hit): these are abuse
brakes, not quotas, so the window's edge effect does not matter and nothing heavier is
worth its weight.
"""

from __future__ import annotations

import hashlib
import math

from redis.asyncio import Redis

from spotilike.kit.errors import TooManyRequests

__all__ = ["AttemptLimiter", "LoginThrottle"]

_PREFIX = "users:throttle:"


def _key(kind: str, value: str) -> str:
    # Hashed, so keys have a bounded length and an email never sits in Valkey in clear.
    return _PREFIX + kind + ":" + hashlib.sha256(value.encode()).hexdigest()[:32]


async def _count(redis: Redis, key: str, window_seconds: int) -> tuple[int, int]:
    """One more hit on a fixed-window counter: the count, and milliseconds until it resets."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_seconds, nx=True)
        pipe.pttl(key)
        count, _, ttl_ms = await pipe.execute()
    return int(count), int(ttl_ms)


class AttemptLimiter:
    """At most ``limit`` attempts per ``window_seconds`` per key."""

    def __init__(self, redis: Redis, *, name: str, limit: int, window_seconds: int) -> None:
        self._redis = redis
        self._name = name
        self._limit = limit
        self._window = window_seconds

    async def hit(self, value: str) -> None:
        """Counts one attempt; raises 429 once the key is over its limit."""
        count, ttl_ms = await _count(self._redis, _key(self._name, value), self._window)
        if count > self._limit:
            raise TooManyRequests(
                "too many attempts; try again later",
                retry_after_seconds=max(1, math.ceil(ttl_ms / 1000)),
                code="rate-limited",
            )


class LoginThrottle:
    def __init__(
        self,
        redis: Redis,
        *,
        per_account: int,
        per_ip: int,
        window_seconds: int,
        lockout_seconds: int,
    ) -> None:
        self._redis = redis
        self._limits = {"account": per_account, "ip": per_ip}
        self._window = window_seconds
        self._lockout = lockout_seconds

    def _keys(self, email: str, ip: str) -> dict[str, str]:
        return {"account": email, "ip": ip}

    async def check(self, *, email: str, ip: str) -> None:
        """Raises 429 with Retry-After while the account or the IP is locked out."""
        locks = [_key("lock-" + kind, value) for kind, value in self._keys(email, ip).items()]
        async with self._redis.pipeline(transaction=False) as pipe:
            for lock in locks:
                pipe.pttl(lock)
            ttls = await pipe.execute()
        remaining = max(int(ttl) for ttl in ttls)
        if remaining > 0:
            raise TooManyRequests(
                "too many failed sign-ins; try again later",
                retry_after_seconds=max(1, math.ceil(remaining / 1000)),
                code="auth/locked-out",
            )

    async def record_failure(self, *, email: str, ip: str) -> None:
        for kind, value in self._keys(email, ip).items():
            key = _key("fail-" + kind, value)
            count, _ = await _count(self._redis, key, self._window)
            if count >= self._limits[kind]:
                await self._redis.set(_key("lock-" + kind, value), b"1", ex=self._lockout)
                await self._redis.delete(key)

    async def record_success(self, *, email: str) -> None:
        await self._redis.delete(_key("fail-account", email))
