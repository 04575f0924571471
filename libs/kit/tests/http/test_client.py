from __future__ import annotations

import itertools

import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY

from spotilike.kit.context import request_id_var
from spotilike.kit.http import (
    CircuitBreaker,
    CircuitOpenError,
    CircuitState,
    RetryPolicy,
    ServiceClient,
    UpstreamConnectionError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)

pytestmark = pytest.mark.integration

_names = (f"it-upstream-{n}" for n in itertools.count())
FAST_RETRY = RetryPolicy(backoff_base=0.001, max_backoff=0.01)
NO_RETRY = RetryPolicy(max_attempts=1)


def breaker(clock, **overrides: float) -> CircuitBreaker:
    settings: dict[str, float] = {
        "window_size": 4,
        "minimum_calls": 4,
        "failure_rate_threshold": 0.5,
        "open_seconds": 10.0,
        "half_open_max_calls": 1,
    }
    settings.update(overrides)
    return CircuitBreaker(next(_names), clock=clock, **settings)  # type: ignore[arg-type]


def client(url: str, **kwargs) -> ServiceClient:
    kwargs.setdefault("retry", FAST_RETRY)
    name = kwargs["breaker"].name if "breaker" in kwargs else next(_names)
    return ServiceClient(name, url, **kwargs)


async def test_breaker_opens_at_threshold_then_fails_fast_without_calling(upstream, clock) -> None:
    async with client(upstream.url, breaker=breaker(clock), retry=NO_RETRY) as catalog:
        for _ in range(4):
            assert (await catalog.get("/status/500")).status == 500
        assert catalog.breaker.state is CircuitState.OPEN
        assert upstream.hits["/status/500"] == 4

        for _ in range(3):
            with pytest.raises(CircuitOpenError) as caught:
                await catalog.get("/status/500")
        assert upstream.hits["/status/500"] == 4
        assert caught.value.upstream == catalog.name
        assert caught.value.retry_in == pytest.approx(10.0)
        assert catalog.name in str(caught.value)
        sample = {"upstream": catalog.name}
        assert REGISTRY.get_sample_value("spotilike_circuit_state", sample) == 1


async def test_half_opens_after_the_wait_and_closes_on_a_successful_trial(upstream, clock) -> None:
    async with client(upstream.url, breaker=breaker(clock), retry=NO_RETRY) as catalog:
        for _ in range(4):
            await catalog.get("/status/503")
        clock.advance(9.9)
        with pytest.raises(CircuitOpenError):
            await catalog.get("/ok")
        assert upstream.hits["/ok"] == 0

        clock.advance(0.1)
        assert catalog.breaker.state is CircuitState.HALF_OPEN
        assert (await catalog.get("/ok")).status == 200
        assert catalog.breaker.state is CircuitState.CLOSED
        assert (await catalog.get("/ok")).status == 200
        assert upstream.hits["/ok"] == 2


async def test_a_failed_trial_reopens_the_circuit(upstream, clock) -> None:
    async with client(upstream.url, breaker=breaker(clock), retry=NO_RETRY) as catalog:
        for _ in range(4):
            await catalog.get("/status/502")
        clock.advance(10.0)
        assert (await catalog.get("/status/502")).status == 502
        assert catalog.breaker.state is CircuitState.OPEN
        with pytest.raises(CircuitOpenError) as caught:
            await catalog.get("/ok")
        assert caught.value.retry_in == pytest.approx(10.0)
        assert upstream.hits["/status/502"] == 5
        assert upstream.hits["/ok"] == 0


@pytest.mark.parametrize("status", [400, 404, 409, 422, 429])
async def test_client_errors_do_not_open_the_circuit(upstream, clock, status: int) -> None:
    async with client(upstream.url, breaker=breaker(clock), retry=NO_RETRY) as catalog:
        for _ in range(10):
            assert (await catalog.get(f"/status/{status}")).status == status
        assert catalog.breaker.state is CircuitState.CLOSED
        assert catalog.breaker.failure_rate() == 0.0
        assert upstream.hits[f"/status/{status}"] == 10


async def test_timeouts_count_as_failures(upstream, clock) -> None:
    async with client(
        upstream.url, breaker=breaker(clock, minimum_calls=2), retry=NO_RETRY
    ) as catalog:
        for _ in range(2):
            with pytest.raises(UpstreamTimeoutError) as caught:
                await catalog.get("/slow", attempt_timeout=0.05)
            assert caught.value.upstream == catalog.name
        assert catalog.breaker.state is CircuitState.OPEN
        assert "timed out" in str(caught.value)
        assert catalog.name in str(caught.value)
        with pytest.raises(CircuitOpenError):
            await catalog.get("/slow", attempt_timeout=0.05)
        assert upstream.hits["/slow"] == 2


async def test_connection_errors_are_retried_counted_and_named(closed_port_url, clock) -> None:
    async with client(closed_port_url, breaker=breaker(clock, window_size=10)) as catalog:
        with pytest.raises(UpstreamConnectionError) as caught:
            await catalog.get("/ok")
    assert caught.value.attempts == 3
    assert catalog.name in str(caught.value)
    assert catalog.breaker.failure_rate() == 1.0


async def test_post_is_sent_once_even_on_503(upstream) -> None:
    async with client(upstream.url) as playlists:
        result = await playlists.post("/status/503", json={"name": "road trip"})
    assert result.status == 503
    assert result.attempts == 1
    assert upstream.hits["/status/503"] == 1


async def test_post_with_an_idempotency_key_is_retried(upstream) -> None:
    upstream.failures_left = 2
    async with client(upstream.url) as playlists:
        result = await playlists.post(
            "/flaky", json={"name": "road trip"}, headers={"Idempotency-Key": "key-1"}
        )
    assert result.status == 200
    assert upstream.hits["/flaky"] == 3


async def test_get_is_retried_and_succeeds_when_the_upstream_recovers(upstream) -> None:
    upstream.failures_left = 2
    async with client(upstream.url) as catalog:
        result = await catalog.get("/flaky")
    assert result.status == 200
    assert result.json() == {"ok": True}
    assert result.attempts == 3
    assert upstream.hits["/flaky"] == 3


async def test_get_stops_after_three_attempts_and_returns_the_last_response(upstream) -> None:
    upstream.failures_left = 10
    async with client(upstream.url) as catalog:
        result = await catalog.get("/flaky")
    assert result.status == 503
    assert upstream.hits["/flaky"] == 3


async def test_get_is_not_retried_on_500(upstream) -> None:
    async with client(upstream.url) as catalog:
        result = await catalog.get("/status/500")
    assert result.status == 500
    assert upstream.hits["/status/500"] == 1


async def test_timed_out_gets_are_retried_up_to_three_attempts(upstream) -> None:
    async with client(upstream.url, attempt_timeout=0.05) as catalog:
        with pytest.raises(UpstreamTimeoutError) as caught:
            await catalog.get("/slow")
    assert caught.value.attempts == 3
    assert upstream.hits["/slow"] == 3


async def test_attempt_is_cut_at_the_deadline_and_not_retried(upstream) -> None:
    async with client(upstream.url, attempt_timeout=5.0) as catalog:
        with pytest.raises(UpstreamTimeoutError) as caught:
            await catalog.get("/slow", deadline=0.2)
    assert caught.value.attempts == 1
    assert upstream.hits["/slow"] == 1


async def test_retry_after_past_the_deadline_is_not_waited_for(upstream) -> None:
    async with client(upstream.url, retry=RetryPolicy(max_backoff=30.0)) as catalog:
        result = await catalog.get("/retry-after/20", deadline=2.0)
    assert result.status == 503
    assert upstream.hits["/retry-after/20"] == 1


async def test_retry_after_within_the_deadline_is_honoured(upstream) -> None:
    async with client(upstream.url) as catalog:
        result = await catalog.get("/retry-after/0", deadline=5.0)
    assert result.status == 503
    assert upstream.hits["/retry-after/0"] == 3


async def test_spent_deadline_sends_nothing(upstream) -> None:
    async with client(upstream.url) as catalog:
        with pytest.raises(UpstreamTimeoutError) as caught:
            await catalog.get("/ok", deadline=0.0)
    assert caught.value.attempts == 0
    assert upstream.hits["/ok"] == 0


async def test_request_id_and_traceparent_reach_the_upstream(upstream) -> None:
    tracer = TracerProvider().get_tracer("test")
    token = request_id_var.set("req-123")
    try:
        async with client(upstream.url) as catalog:
            with tracer.start_as_current_span("incoming") as span:
                await catalog.get("/ok")
    finally:
        request_id_var.reset(token)
    headers = upstream.seen_headers[-1]
    assert headers["X-Request-ID"] == "req-123"
    version, trace_id, _parent_id, _flags = headers["traceparent"].split("-")
    assert version == "00"
    assert trace_id == format(span.get_span_context().trace_id, "032x")


async def test_caller_request_id_wins_and_none_is_invented(upstream) -> None:
    async with client(upstream.url) as catalog:
        await catalog.get("/ok")
        await catalog.get("/ok", headers={"x-request-id": "explicit"})
    first, second = upstream.seen_headers
    assert "X-Request-ID" not in first
    assert second["X-Request-ID"] == "explicit"


async def test_bodies_params_and_status_errors(upstream) -> None:
    async with client(upstream.url) as catalog:
        echoed = await catalog.put("/echo", json={"a": 1}, params={"q": "jazz"})
        assert echoed.json() == {"body": '{"a":1}', "query": {"q": "jazz"}}
        with pytest.raises(UpstreamStatusError) as caught:
            await catalog.get("/status/404", raise_for_status=True)
    assert caught.value.status == 404
    assert caught.value.response.json() == {"status": "forced"}
    assert "404" in str(caught.value)


async def test_calling_a_client_that_is_not_open_says_how_to_open_it(upstream) -> None:
    catalog = client(upstream.url)
    with pytest.raises(RuntimeError, match="async with"):
        await catalog.get("/ok")
    assert upstream.hits["/ok"] == 0
