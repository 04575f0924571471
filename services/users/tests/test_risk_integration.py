"""Velocity counters in the real Valkey: exact limits, sliding windows, and Valkey outages.

Each test counts under a key prefix of its own and deletes only those keys: the Valkey is
shared with the rest of the suite.
"""

from __future__ import annotations

import dataclasses
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from structlog.testing import capture_logs

from spotilike.users.risk import (
    REASON_WEIGHTS,
    ClientSignals,
    Decision,
    FormTokens,
    Reason,
    RiskAssessor,
)
from spotilike.users.settings import UsersSettings

pytestmark = pytest.mark.integration

HOUR = 3600.0
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"  # a real browser
)


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def token_clock() -> FakeClock:
    """The form tokens' clock, apart from the velocity clock so that each can be moved alone."""
    return FakeClock()


@pytest.fixture
def form_tokens(token_clock: FakeClock) -> FormTokens:
    return FormTokens("integration-test-form-secret", clock=token_clock)


@pytest.fixture
async def valkey(redis_url: str) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def key_prefix(valkey: redis.Redis) -> AsyncIterator[str]:
    prefix = f"users:risk:test-{uuid.uuid4().hex}:"
    yield prefix
    stale = [key async for key in valkey.scan_iter(match=prefix + "*")]
    if stale:
        await valkey.delete(*stale)


@pytest.fixture
def make_assessor(
    valkey: redis.Redis, form_tokens: FormTokens, clock: FakeClock, key_prefix: str
) -> Callable[..., RiskAssessor]:
    def make(**settings: Any) -> RiskAssessor:
        return RiskAssessor(
            valkey,
            UsersSettings(**settings),
            form_tokens=form_tokens,
            clock=clock,
            key_prefix=key_prefix,
        )

    return make


@pytest.fixture
def signals(form_tokens: FormTokens, token_clock: FakeClock) -> Callable[..., ClientSignals]:
    """Builds a person's request; every call is a new device, address and domain by default."""

    def make(**overrides: Any) -> ClientSignals:
        token = form_tokens.issue()
        token_clock.advance(20)
        unique = uuid.uuid4().hex[:12]
        fields: dict[str, Any] = {
            "action": "register",
            "ip": f"198.51.{int(unique[:2], 16)}.{int(unique[2:4], 16)}",
            "email": f"person@{unique}.example.org",
            "user_agent": BROWSER_UA,
            "accept_language": "de-DE,de;q=0.9,en;q=0.5",
            "fingerprint": f"fp-{unique}",
            "honeypot": None,
            "form_token": token,
        }
        fields.update(overrides)
        return ClientSignals(**fields)

    return make


@pytest.mark.parametrize(
    ("reason", "setting", "shared_field", "shared_value"),
    [
        (Reason.IP_VELOCITY, "risk_ip_registrations_per_hour", "ip", "192.0.2.10"),
        (
            Reason.FINGERPRINT_VELOCITY,
            "risk_fingerprint_registrations_per_hour",
            "fingerprint",
            "one-device",
        ),
        (
            Reason.DOMAIN_VELOCITY,
            "risk_domain_registrations_per_hour",
            "email",
            "{n}@Farm.Example.NET",
        ),
    ],
)
async def test_registrations_cross_the_limit_exactly_at_limit_plus_one(
    make_assessor: Callable[..., RiskAssessor],
    signals: Callable[..., ClientSignals],
    reason: Reason,
    setting: str,
    shared_field: str,
    shared_value: str,
) -> None:
    limit = 4
    assessor = make_assessor(**{setting: limit})
    # Without an Accept-Language a request already scores 15, so even the weakest velocity
    # signal (the domain's 30) takes it past the challenge score of 40.
    results = [
        await assessor.assess(
            signals(accept_language=None, **{shared_field: shared_value.format(n=n)})
        )
        for n in range(limit + 2)
    ]

    flagged = [reason.value in result.reasons for result in results]
    assert flagged == [False] * limit + [True, True]
    assert {result.decision for result in results[:limit]} == {Decision.ALLOW}
    assert results[limit].decision is Decision.CHALLENGE
    assert results[limit].score == results[0].score + REASON_WEIGHTS[reason]
    assert all("velocity-unavailable" not in result.reasons for result in results)


async def test_logins_are_counted_per_address_per_minute(
    make_assessor: Callable[..., RiskAssessor], signals: Callable[..., ClientSignals]
) -> None:
    limit = 3
    assessor = make_assessor(risk_ip_logins_per_minute=limit)
    ip = "192.0.2.20"
    logins = [await assessor.assess(signals(action="login", ip=ip)) for _ in range(limit + 1)]

    assert ["ip-velocity" in login.reasons for login in logins] == [False] * limit + [True]
    assert logins[-1].decision is Decision.CHALLENGE


async def test_logins_and_registrations_have_separate_counters(
    make_assessor: Callable[..., RiskAssessor], signals: Callable[..., ClientSignals]
) -> None:
    assessor = make_assessor(risk_ip_logins_per_minute=2, risk_ip_registrations_per_hour=2)
    ip = "192.0.2.30"
    logins = [await assessor.assess(signals(action="login", ip=ip)) for _ in range(3)]
    registration = await assessor.assess(signals(action="register", ip=ip))

    assert "ip-velocity" in logins[-1].reasons
    assert "ip-velocity" not in registration.reasons


async def test_the_window_slides_so_old_attempts_stop_counting(
    make_assessor: Callable[..., RiskAssessor],
    signals: Callable[..., ClientSignals],
    clock: FakeClock,
) -> None:
    assessor = make_assessor(risk_ip_registrations_per_hour=2)
    ip = "192.0.2.40"
    start = clock.now

    first = await assessor.assess(signals(ip=ip))
    second = await assessor.assess(signals(ip=ip))
    clock.now = start + HOUR - 0.001
    third = await assessor.assess(signals(ip=ip))
    clock.now = start + HOUR
    fourth = await assessor.assess(signals(ip=ip))
    clock.now = start + 2 * HOUR - 0.002
    fifth = await assessor.assess(signals(ip=ip))

    assert "ip-velocity" not in first.reasons
    assert "ip-velocity" not in second.reasons
    # Both earlier attempts are still inside the hour: three in the window.
    assert "ip-velocity" in third.reasons
    assert third.decision is Decision.CHALLENGE
    # One hour after the first two they have left the window; the third and this one remain.
    assert "ip-velocity" not in fourth.reasons
    assert fourth.decision is Decision.ALLOW
    # Just under an hour after the third, which is still in the window with the fourth.
    assert "ip-velocity" in fifth.reasons


async def test_a_counter_keeps_no_more_entries_than_it_needs_to_decide(
    make_assessor: Callable[..., RiskAssessor],
    signals: Callable[..., ClientSignals],
    valkey: redis.Redis,
    key_prefix: str,
) -> None:
    limit = 3
    assessor = make_assessor(risk_ip_registrations_per_hour=limit)
    results = [await assessor.assess(signals(ip="192.0.2.50")) for _ in range(20)]

    key = f"{key_prefix}register:ip:192.0.2.50"
    assert await valkey.zcard(key) == limit + 1
    assert all("ip-velocity" in result.reasons for result in results[limit:])
    assert 0 < await valkey.ttl(key) <= HOUR


async def test_ipv6_addresses_of_one_subscriber_prefix_share_a_counter(
    make_assessor: Callable[..., RiskAssessor],
    signals: Callable[..., ClientSignals],
) -> None:
    assessor = make_assessor(risk_ip_registrations_per_hour=2)
    same_64 = ["2001:db8:1:2::1", "2001:db8:1:2:aaaa::5", "2001:DB8:1:2:ffff:ffff:ffff:ffff"]
    from_one_subscriber = [await assessor.assess(signals(ip=ip)) for ip in same_64]
    next_subscriber = await assessor.assess(signals(ip="2001:db8:1:3::1"))

    assert "ip-velocity" in from_one_subscriber[-1].reasons
    assert "ip-velocity" not in next_subscriber.reasons


async def test_counter_keys_are_bounded_whatever_the_client_sends(
    make_assessor: Callable[..., RiskAssessor],
    signals: Callable[..., ClientSignals],
    valkey: redis.Redis,
    key_prefix: str,
) -> None:
    huge = "x" * 100_000
    await make_assessor().assess(
        signals(ip=huge, fingerprint=huge, email=f"someone@{huge}.example.org")
    )

    keys = [key async for key in valkey.scan_iter(match=key_prefix + "*")]
    assert len(keys) == 3
    assert max(len(key) for key in keys) < len(key_prefix) + 100


async def test_an_unreachable_valkey_skips_velocity_and_still_decides(
    signals: Callable[..., ClientSignals], form_tokens: FormTokens, clock: FakeClock
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = redis.Redis(host="127.0.0.1", port=closed_port, retry=Retry(NoBackoff(), 0))
    assessor = RiskAssessor(
        unreachable, UsersSettings(), form_tokens=form_tokens, clock=clock, key_prefix="unused:"
    )
    try:
        with capture_logs() as logs:
            person = await assessor.assess(signals())
            script = await assessor.assess(dataclasses.replace(signals(), user_agent="curl/8"))
    finally:
        await unreachable.aclose()

    assert person.reasons == ("velocity-unavailable",)
    assert person.decision is Decision.ALLOW
    assert script.reasons == ("automation-user-agent", "velocity-unavailable")
    assert script.decision is Decision.CHALLENGE
    warnings = [entry for entry in logs if entry["event"] == "risk_velocity_unavailable"]
    assert len(warnings) == 2
    assert {entry["log_level"] for entry in warnings} == {"warning"}
