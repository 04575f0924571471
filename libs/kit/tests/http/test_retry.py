from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from spotilike.kit.http import (
    RetryPolicy,
    ServiceResponse,
    UpstreamTimeoutError,
    is_retryable_request,
    parse_retry_after,
)
from spotilike.kit.http.retry import call_with_retries

pytestmark = pytest.mark.unit


def response(status: int, **headers: str) -> ServiceResponse:
    return ServiceResponse(status=status, headers=CIMultiDictProxy(CIMultiDict(headers)), body=b"")


class Timeline:
    """A fake clock whose ``sleep`` moves time instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[tuple[float, float]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append((self.now, seconds))
        self.now += seconds


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("GET", {}, True),
        ("head", {}, True),
        ("OPTIONS", {}, True),
        ("PUT", {}, True),
        ("DELETE", {}, True),
        ("POST", {}, False),
        ("PATCH", {}, False),
        ("POST", {"idempotency-key": "k-1"}, True),
        ("PATCH", {"Idempotency-Key": "k-1"}, True),
        ("POST", {"Idempotency-Key": ""}, False),
    ],
)
def test_only_idempotent_requests_are_retryable(
    method: str, headers: dict[str, str], expected: bool
) -> None:
    assert is_retryable_request(method, CIMultiDict(headers)) is expected


def test_parse_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now)
        == 30.0
    )
    assert (
        parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    )
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-3") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    "overrides",
    [{"max_attempts": 0}, {"max_attempts": 4}, {"backoff_base": -1.0}, {"min_attempt_seconds": -1}],
)
def test_policy_rejects_unsafe_settings(overrides: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        RetryPolicy(**overrides)  # type: ignore[arg-type]


async def test_returns_the_last_retryable_response_when_attempts_run_out() -> None:
    timeline = Timeline()
    calls = 0

    async def attempt() -> ServiceResponse:
        nonlocal calls
        calls += 1
        return response(502)

    result = await call_with_retries(
        attempt, policy=RetryPolicy(), deadline_at=None, clock=timeline, sleep=timeline.sleep
    )
    assert result.status == 502
    assert calls == 3
    assert len(timeline.sleeps) == 2


async def test_non_retryable_status_is_returned_at_once() -> None:
    timeline = Timeline()
    calls = 0

    async def attempt() -> ServiceResponse:
        nonlocal calls
        calls += 1
        return response(500)

    result = await call_with_retries(
        attempt, policy=RetryPolicy(), deadline_at=None, clock=timeline, sleep=timeline.sleep
    )
    assert (result.status, calls) == (500, 1)


async def test_retry_after_is_waited_out_when_it_fits() -> None:
    timeline = Timeline()
    statuses = iter([503, 200])

    async def attempt() -> ServiceResponse:
        return response(next(statuses), **{"Retry-After": "1"})

    result = await call_with_retries(
        attempt, policy=RetryPolicy(), deadline_at=5.0, clock=timeline, sleep=timeline.sleep
    )
    assert result.status == 200
    assert timeline.sleeps == [(0.0, 1.0)]


@pytest.mark.parametrize(("retry_after", "deadline_at"), [("2", 1.5), ("10", None)])
async def test_retry_after_past_the_budget_or_the_backoff_cap_ends_the_retries(
    retry_after: str, deadline_at: float | None
) -> None:
    timeline = Timeline()
    calls = 0

    async def attempt() -> ServiceResponse:
        nonlocal calls
        calls += 1
        return response(503, **{"Retry-After": retry_after})

    result = await call_with_retries(
        attempt,
        policy=RetryPolicy(max_backoff=5.0),
        deadline_at=deadline_at,
        clock=timeline,
        sleep=timeline.sleep,
    )
    assert (result.status, calls) == (503, 1)
    assert timeline.sleeps == []


async def test_last_transport_error_is_raised_after_the_attempts() -> None:
    timeline = Timeline()
    calls = 0

    async def attempt() -> ServiceResponse:
        nonlocal calls
        calls += 1
        raise UpstreamTimeoutError("catalog", f"attempt {calls} timed out", attempts=calls)

    with pytest.raises(UpstreamTimeoutError) as caught:
        await call_with_retries(
            attempt, policy=RetryPolicy(), deadline_at=None, clock=timeline, sleep=timeline.sleep
        )
    assert caught.value.attempts == 3


async def test_unexpected_errors_are_not_retried() -> None:
    timeline = Timeline()
    calls = 0

    async def attempt() -> ServiceResponse:
        nonlocal calls
        calls += 1
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await call_with_retries(
            attempt, policy=RetryPolicy(), deadline_at=None, clock=timeline, sleep=timeline.sleep
        )
    assert calls == 1


@settings(max_examples=200)
@given(
    attempt_seconds=st.floats(min_value=0.0, max_value=1.0),
    budget=st.floats(min_value=0.0, max_value=3.0),
    backoff_base=st.floats(min_value=0.0, max_value=1.0),
)
async def test_never_sleeps_or_starts_an_attempt_past_the_deadline(
    attempt_seconds: float, budget: float, backoff_base: float
) -> None:
    timeline = Timeline()
    policy = RetryPolicy(backoff_base=backoff_base, max_backoff=1.0, min_attempt_seconds=0.05)
    starts: list[float] = []

    async def attempt() -> ServiceResponse:
        starts.append(timeline.now)
        timeline.now += attempt_seconds
        return response(504)

    await call_with_retries(
        attempt, policy=policy, deadline_at=budget, clock=timeline, sleep=timeline.sleep
    )
    assert 1 <= len(starts) <= 3
    for started_at, slept in timeline.sleeps:
        assert started_at + slept + policy.min_attempt_seconds <= budget
    assert all(start + policy.min_attempt_seconds <= budget for start in starts[1:])
