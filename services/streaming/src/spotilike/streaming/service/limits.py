"""The per-user request limit of every streaming route, counted across instances.

When Valkey cannot answer, the streaming routes stay open (a listener's music must not
stop because a counter is unreachable): the gateway's per-IP limit still bounds abuse,
and every such pass is logged and counted in ``spotilike_rate_limit_decisions_total``.
"""

from __future__ import annotations

from spotilike.kit.ratelimit import RateLimitDecision, RateLimiterUnavailable, rate_limited
from spotilike.streaming.service.runtime import Runtime

__all__ = ["charge"]


async def charge(runtime: Runtime, *, user: str) -> dict[str, str]:
    """Counts one request of ``user``; the RateLimit headers for the response, or a 429."""
    try:
        decision: RateLimitDecision = await runtime.limiter.hit(
            runtime.settings.rate_limit_rule, user
        )
    except RateLimiterUnavailable:
        return {}
    if not decision.allowed:
        raise rate_limited(decision)
    return decision.headers()
