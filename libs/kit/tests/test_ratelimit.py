import asyncio
import socket
import uuid

import pytest
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from spotilike.kit.ratelimit import (
    RateLimitDecision,
    RateLimiter,
    RateLimiterUnavailable,
    RateLimitRule,
    rate_limited,
)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "limit", "per", "unit", "window"),
    [
        ("50/second", 50, 1, "second", 1),
        ("100/minute", 100, 1, "minute", 60),
        ("5/10 minutes", 5, 10, "minute", 600),
        (" 3 / hour ", 3, 1, "hour", 3600),
        ("1/day", 1, 1, "day", 86400),
    ],
)
def test_rules_parse_count_and_period(
    text: str, limit: int, per: int, unit: str, window: int
) -> None:
    rule = RateLimitRule.parse("per-user", text)
    assert (rule.limit, rule.per, rule.unit, rule.window_seconds) == (limit, per, unit, window)


@pytest.mark.unit
@pytest.mark.parametrize(
    "text", ["", "50", "fifty/second", "50/fortnight", "-1/second", "0/minute"]
)
def test_bad_rule_strings_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"rate limit|limit and a period"):
        RateLimitRule.parse("per-user", text)


@pytest.mark.unit
@pytest.mark.parametrize("name", ["", "Upper", "has space", "x" * 40, '"quoted"'])
def test_rule_names_must_be_header_safe(name: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        RateLimitRule(name=name, limit=1, per=1, unit="second")


@pytest.mark.unit
def test_a_refused_decision_carries_retry_after_and_the_draft_headers() -> None:
    rule = RateLimitRule.parse("per-ip", "100/minute")
    decision = RateLimitDecision(rule=rule, allowed=False, remaining=0, reset_seconds=17)
    assert decision.retry_after_seconds == 17
    assert decision.headers() == {
        "RateLimit-Policy": '"per-ip";q=100;w=60',
        "RateLimit": '"per-ip";r=0;t=17',
        "Retry-After": "17",
    }
    problem = rate_limited(decision)
    assert problem.status == 429
    assert problem.code == "rate-limited"
    assert problem.headers["Retry-After"] == "17"
    assert problem.headers["RateLimit"] == '"per-ip";r=0;t=17'
    assert problem.extensions == {"limit": 100, "window_seconds": 60}


@pytest.mark.unit
def test_an_allowed_decision_has_no_retry_after() -> None:
    rule = RateLimitRule.parse("per-user", "50/second")
    decision = RateLimitDecision(rule=rule, allowed=True, remaining=49, reset_seconds=1)
    assert decision.retry_after_seconds is None
    assert "Retry-After" not in decision.headers()


@pytest.mark.integration
async def test_concurrent_hits_through_two_limiters_let_exactly_the_limit_through(
    redis_url: str,
) -> None:
    # Two limiters with their own connection pools stand for two service instances.
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    first = RateLimiter(redis_url, namespace=namespace)
    second = RateLimiter(redis_url, namespace=namespace)
    rule = RateLimitRule.parse("exactness", "25/minute")
    try:
        decisions = await asyncio.gather(
            *((first if index % 2 else second).hit(rule, "listener-1") for index in range(120))
        )
        other_key = await first.hit(rule, "listener-2")
    finally:
        await first.aclose()
        await second.aclose()
    allowed = [decision for decision in decisions if decision.allowed]
    refused = [decision for decision in decisions if not decision.allowed]
    assert len(allowed) == 25
    assert len(refused) == 95
    assert all(decision.remaining == 0 for decision in refused)
    assert all(1 <= (decision.retry_after_seconds or 0) <= 60 for decision in refused)
    assert other_key.allowed
    assert other_key.remaining == 24


@pytest.mark.integration
async def test_each_allowed_hit_reports_the_room_left_at_its_own_count(redis_url: str) -> None:
    # The count and the read are one script, so no other hit can land between them: the
    # allowed hits see every remaining value once, however they interleave.
    limiter = RateLimiter(redis_url, namespace=f"test-{uuid.uuid4().hex[:8]}")
    rule = RateLimitRule.parse("room", "30/minute")
    try:
        decisions = await asyncio.gather(*(limiter.hit(rule, "k") for _ in range(45)))
    finally:
        await limiter.aclose()
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(30))
    refused = [d for d in decisions if not d.allowed]
    assert len(refused) == 15
    assert all(d.remaining == 0 and 59 <= d.reset_seconds <= 60 for d in refused)


@pytest.mark.integration
async def test_the_window_is_the_one_the_limits_library_reads(redis_url: str) -> None:
    # Same list, same key: limits' own strategy (and an instance still running it) sees
    # exactly the hits we counted.
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    limiter = RateLimiter(redis_url, namespace=namespace)
    storage = RedisStorage(
        f"async+{redis_url}",
        implementation="redispy",
        key_prefix=f"spotilike:ratelimit:{namespace}",
    )
    theirs = MovingWindowRateLimiter(storage)
    rule = RateLimitRule.parse("shared", "5/minute")
    try:
        for _ in range(3):
            await limiter.hit(rule, "k")
        stats = await theirs.get_window_stats(rule.item, "k")
        assert stats.remaining == 2
        assert await theirs.hit(rule.item, "k")
        assert (await limiter.hit(rule, "k")).remaining == 0
        assert not await theirs.hit(rule.item, "k")
        assert not (await limiter.hit(rule, "k")).allowed
    finally:
        await limiter.aclose()
        await storage.bridge.get_connection().aclose()


@pytest.mark.integration
async def test_two_rules_never_share_a_counter(redis_url: str) -> None:
    limiter = RateLimiter(redis_url, namespace=f"test-{uuid.uuid4().hex[:8]}")
    strict = RateLimitRule.parse("strict", "1/minute")
    loose = RateLimitRule.parse("loose", "10/minute")
    try:
        assert (await limiter.hit(strict, "k")).allowed
        assert not (await limiter.hit(strict, "k")).allowed
        assert (await limiter.hit(loose, "k")).remaining == 9
        await limiter.reset(strict, "k")
        assert (await limiter.hit(strict, "k")).allowed
    finally:
        await limiter.aclose()


@pytest.mark.integration
async def test_an_unreachable_store_raises_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    limiter = RateLimiter(
        f"redis://127.0.0.1:{closed_port}/0", namespace="test", timeout_seconds=0.5
    )
    try:
        with pytest.raises(RateLimiterUnavailable, match="Valkey"):
            await limiter.hit(RateLimitRule.parse("any", "1/second"), "k")
    finally:
        await limiter.aclose()


@pytest.mark.integration
async def test_a_burst_larger_than_the_pool_waits_for_connections_instead_of_failing(
    redis_url: str,
) -> None:
    limiter = RateLimiter(
        redis_url, namespace=f"test-{uuid.uuid4().hex[:8]}", max_connections=4, timeout_seconds=5
    )
    rule = RateLimitRule.parse("burst", "50/minute")
    try:
        decisions = await asyncio.gather(*(limiter.hit(rule, "k") for _ in range(200)))
    finally:
        await limiter.aclose()
    assert sum(decision.allowed for decision in decisions) == 50
