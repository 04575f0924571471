"""Rate limits shared by every instance of a service, counted in Valkey.

The counting is the ``limits`` library's moving window: each request is an entry in a
Valkey list, trimmed and checked by one Lua script, so N concurrent requests spread over
any number of instances let exactly ``limit`` through per window and no boundary burst
doubles it (a fixed window would allow 2x at the edge). We add what that library leaves
to its callers: a rule type with a name, the decision a response needs (remaining, reset,
retry-after), the RateLimit header fields of the IETF draft
(draft-ietf-httpapi-ratelimit-headers), a 429 problem, and one clear error when Valkey
cannot be reached, so each caller decides whether to fail open or closed.

One thing is our own: the script that counts. ``limits`` answers a hit with a boolean
and needs a second script for the remaining count and the reset time, so every request
paid two round trips and the remaining count could be read after other hits had landed.
:data:`_HIT_AND_READ` does ``limits``' acquire and its window read in one script, on the
same list under the same key, so ``limits`` still clears it and a mixed deployment
counts into one window. It takes the time from Valkey, so instances whose clocks
disagree still count one window.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Final

import structlog
from limits import (
    RateLimitItem,
    RateLimitItemPerDay,
    RateLimitItemPerHour,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)
from limits.aio.storage import RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import Counter
from redis.asyncio import BlockingConnectionPool, Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from spotilike.kit.errors import TooManyRequests

__all__ = [
    "RateLimitDecision",
    "RateLimitRule",
    "RateLimiter",
    "RateLimiterUnavailable",
    "rate_limited",
]

_log = structlog.get_logger(__name__)

_ITEMS: Final[dict[str, type[RateLimitItem]]] = {
    "second": RateLimitItemPerSecond,
    "minute": RateLimitItemPerMinute,
    "hour": RateLimitItemPerHour,
    "day": RateLimitItemPerDay,
}
_RULE_PATTERN: Final = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")
_POLICY_NAME: Final = re.compile(r"^[a-z][a-z0-9-]{0,31}$")

_HIT_AND_READ: Final = """
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2])
local clock = redis.call('time')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local since = now - expiry
local allowed = 0
-- The list holds the newest entries first and never more than `limit` of them.
local boundary = redis.call('lindex', KEYS[1], limit - 1)
if not boundary or tonumber(boundary) < since then
    redis.call('lpush', KEYS[1], now)
    redis.call('ltrim', KEYS[1], 0, limit - 1)
    redis.call('expire', KEYS[1], expiry)
    allowed = 1
end
-- The entries still inside the window are a prefix of the list; find its end.
local low, high, last = 0, redis.call('llen', KEYS[1]) - 1, -1
while low <= high do
    local middle = math.floor((low + high) / 2)
    if tonumber(redis.call('lindex', KEYS[1], middle)) >= since then
        last = middle
        low = middle + 1
    else
        high = middle - 1
    end
end
local oldest = now
if last >= 0 then
    oldest = tonumber(redis.call('lindex', KEYS[1], last))
end
return {allowed, last + 1, tostring(oldest), tostring(now)}
"""
"""Counts one hit if the window has room, then reads the window: ``{allowed, count,
oldest entry, now}``, the oldest entry being ``now`` in an empty window."""

RATE_LIMIT_DECISIONS = Counter(
    "spotilike_rate_limit_decisions_total",
    "Rate-limit checks by rule and outcome (allowed, limited, unavailable).",
    ["rule", "outcome"],
)


class RateLimiterUnavailable(Exception):  # noqa: N818 - names the state, like Unavailable
    """Valkey did not answer a rate-limit check; the caller chooses to allow or refuse."""


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    """``limit`` requests per ``per`` ``unit``s (``50/second``, ``100/minute``, ``5/10 minutes``).

    ``name`` identifies the policy in the RateLimit headers and the Valkey keys, so two rules
    never share a counter.
    """

    name: str
    limit: int
    per: int
    unit: str
    item: RateLimitItem = field(init=False, repr=False, compare=False)
    """The ``limits`` item the rule counts with."""

    def __post_init__(self) -> None:
        if not _POLICY_NAME.match(self.name):
            raise ValueError(
                f"rate-limit rule name {self.name!r} must match {_POLICY_NAME.pattern}"
            )
        if self.limit < 1 or self.per < 1:
            raise ValueError(f"rate-limit rule {self.name!r} needs a limit and a period of >= 1")
        if self.unit not in _ITEMS:
            raise ValueError(f"rate-limit unit {self.unit!r} is not one of {sorted(_ITEMS)}")
        # Built once: every hit needs it, and a rule never changes.
        object.__setattr__(
            self, "item", _ITEMS[self.unit](self.limit, self.per, namespace=self.name)
        )

    @classmethod
    def parse(cls, name: str, text: str) -> RateLimitRule:
        """Reads ``"50/second"`` or ``"5/10 minutes"``; a bad string says what it expected."""
        match = _RULE_PATTERN.match(text.lower())
        if match is None:
            raise ValueError(
                f"rate limit {text!r} for {name!r} is not of the form '<count>/<unit>' or "
                "'<count>/<n> <unit>' with unit second, minute, hour or day"
            )
        count, per, unit = match.groups()
        return cls(name=name, limit=int(count), per=int(per or 1), unit=unit)

    @property
    def window_seconds(self) -> int:
        return self.item.get_expiry()

    def __str__(self) -> str:
        return f"{self.limit}/{self.per} {self.unit}"


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    rule: RateLimitRule
    allowed: bool
    remaining: int
    """What the window had left the moment this hit was counted (or refused)."""
    reset_seconds: int
    """Seconds until the oldest counted request leaves the window (at least 1)."""

    @property
    def retry_after_seconds(self) -> int | None:
        return None if self.allowed else self.reset_seconds

    def headers(self) -> dict[str, str]:
        """``RateLimit-Policy`` and ``RateLimit`` fields, plus ``Retry-After`` when refused."""
        name = self.rule.name
        fields = {
            "RateLimit-Policy": f'"{name}";q={self.rule.limit};w={self.rule.window_seconds}',
            "RateLimit": f'"{name}";r={self.remaining};t={self.reset_seconds}',
        }
        if not self.allowed:
            fields["Retry-After"] = str(self.reset_seconds)
        return fields


def rate_limited(decision: RateLimitDecision, *, detail: str | None = None) -> TooManyRequests:
    """The 429 problem for a refused decision, carrying every header the client needs."""
    problem = TooManyRequests(
        detail
        or f"Too many requests: the limit is {decision.rule}. Retry after "
        f"{decision.reset_seconds} s.",
        retry_after_seconds=decision.reset_seconds,
        code="rate-limited",
        extensions={"limit": decision.rule.limit, "window_seconds": decision.rule.window_seconds},
    )
    problem.headers.update(decision.headers())
    return problem


class RateLimiter:
    """Counts hits per ``(rule, key)`` in Valkey; one instance per process, shared by routes."""

    def __init__(
        self,
        redis_url: str,
        *,
        namespace: str,
        timeout_seconds: float = 1.0,
        max_connections: int = 64,
    ) -> None:
        # A blocking pool: under a burst, checks wait up to timeout_seconds for a free
        # connection instead of failing at once (redis-py's default pool raises), which
        # would turn a busy moment into "Valkey unavailable".
        self._pool = BlockingConnectionPool.from_url(
            redis_url,
            max_connections=max_connections,
            timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
        )
        self._storage = RedisStorage(
            f"async+{redis_url}",
            implementation="redispy",
            key_prefix=f"spotilike:ratelimit:{namespace}",
            wrap_exceptions=True,
            connection_pool=self._pool,  # type: ignore[arg-type]
        )
        self._strategy = MovingWindowRateLimiter(self._storage)
        bridge = self._storage.bridge
        if not isinstance(bridge, RedispyBridge):
            raise TypeError(f"expected the redis-py bridge of limits, got {type(bridge).__name__}")
        self._bridge = bridge
        client = bridge.get_connection()
        if not isinstance(client, Redis):
            raise TypeError(f"expected a redis-py client from limits, got {type(client).__name__}")
        self._client: Redis = client
        self._hit_and_read: AsyncScript = client.register_script(_HIT_AND_READ)

    async def hit(self, rule: RateLimitRule, key: str) -> RateLimitDecision:
        """Counts one request for ``key`` and says whether it may go ahead.

        Raises :class:`RateLimiterUnavailable` when Valkey does not answer.
        """
        item = rule.item
        expiry = item.get_expiry()
        try:
            answer = await self._hit_and_read(
                keys=[self._bridge.prefixed_key(item.key_for(key))], args=[item.amount, expiry]
            )
        except RedisError as exc:
            cause = type(exc).__name__
            RATE_LIMIT_DECISIONS.labels(rule.name, "unavailable").inc()
            _log.warning("rate_limit.unavailable", rule=rule.name, error=cause)
            raise RateLimiterUnavailable(
                f"the rate-limit store (Valkey) did not answer: {cause}; "
                "check that Valkey is running and SPOTILIKE_*_REDIS_URL points at it"
            ) from exc
        allowed = answer[0] == 1
        count = int(answer[1])
        oldest, now = float(answer[2]), float(answer[3])
        RATE_LIMIT_DECISIONS.labels(rule.name, "allowed" if allowed else "limited").inc()
        return RateLimitDecision(
            rule=rule,
            allowed=allowed,
            remaining=max(0, item.amount - count),
            reset_seconds=max(1, math.ceil(oldest + expiry - now)),
        )

    async def reset(self, rule: RateLimitRule, key: str) -> None:
        await self._strategy.clear(rule.item, key)

    async def aclose(self) -> None:
        # limits never closes its client; the client and the pool are ours to release.
        await self._client.aclose()
        await self._pool.aclose()
