"""Load balancing, passive ejection, retries and the circuit breaker, against upstreams
served for real on loopback."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest
from gateway_support import RunningUpstream, free_port, gateway_client, make_settings
from gateway_upstream import UpstreamApp

from spotilike.gateway.balancing import Upstream
from spotilike.gateway.proxy import Gateway
from spotilike.kit.http import CircuitState
from spotilike.tools.pytest_plugin import served_in_thread

pytestmark = pytest.mark.integration


@pytest.fixture
def second_upstream() -> Iterator[RunningUpstream]:
    app = UpstreamApp("b")
    with served_in_thread(app) as url:
        yield RunningUpstream(url=url, app=app)


def _gateway(client: object) -> Gateway:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert isinstance(gateway, Gateway)
    return gateway


@pytest.mark.parametrize("strategy", ["round-robin", "least-outstanding"])
async def test_traffic_spreads_over_two_instances(
    upstream: RunningUpstream, second_upstream: RunningUpstream, redis_url: str, strategy: str
) -> None:
    settings = make_settings(
        {"echo": [upstream.url, second_upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
        load_balancing=strategy,
    )
    async with gateway_client(settings) as client:
        answers = [await client.get("/unlimited/x") for _ in range(20)]
    served = Counter(answer.json()["instance"] for answer in answers)
    assert served == {"a": 10, "b": 10}


async def test_a_dead_instance_is_retried_around_then_ejected_and_readmitted(
    upstream: RunningUpstream, redis_url: str
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(
        {"echo": [dead, upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
        load_balancing="round-robin",
        eject_after_failures=2,
        eject_seconds=0.5,
        breaker_minimum_calls=20,
    )
    async with gateway_client(settings) as client:
        gateway = _gateway(client)
        balancer = gateway.upstreams.balancer
        answers = [await client.get("/unlimited/x") for _ in range(10)]
        assert [a.status_code for a in answers] == [200] * 10
        assert balancer.is_ejected(Upstream(dead, dead))
        # POST is not idempotent: once the dead instance is back in rotation, a POST
        # that lands on it fails instead of being sent twice.
        await asyncio.sleep(0.6)
        assert not balancer.is_ejected(Upstream(dead, dead))
        posts = [await client.post("/unlimited/x", content=b"once") for _ in range(2)]
    assert sorted(p.status_code for p in posts) == [200, 502]


async def test_a_failing_upstream_opens_the_breaker_then_recovery_closes_it(
    upstream: RunningUpstream, redis_url: str
) -> None:
    settings = make_settings(
        {"echo": [upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
        breaker_minimum_calls=4,
        breaker_window_size=4,
        breaker_open_seconds=0.5,
        breaker_half_open_calls=2,
        eject_after_failures=100,
    )
    async with gateway_client(settings) as client:
        breaker = _gateway(client).upstreams.breaker("echo")
        failing = [await client.get("/unlimited/status/500") for _ in range(4)]
        assert [a.status_code for a in failing] == [500] * 4
        assert breaker.state is CircuitState.OPEN
        reached = upstream.app.stats.requests
        fast = [await client.get("/unlimited/x") for _ in range(5)]
        assert [a.status_code for a in fast] == [503] * 5
        assert all(a.json()["type"].endswith("upstream-unavailable") for a in fast)
        assert all(int(a.headers["retry-after"]) >= 1 for a in fast)
        assert upstream.app.stats.requests == reached
        await asyncio.sleep(0.6)
        assert breaker.state is CircuitState.HALF_OPEN
        trials = [await client.get("/unlimited/x") for _ in range(2)]
        assert [a.status_code for a in trials] == [200, 200]
        assert breaker.state is CircuitState.CLOSED
        after = await client.get("/unlimited/x")
    assert after.status_code == 200


async def test_client_errors_do_not_open_the_breaker(
    upstream: RunningUpstream, redis_url: str
) -> None:
    settings = make_settings(
        {"echo": [upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
        breaker_minimum_calls=4,
        breaker_window_size=4,
    )
    async with gateway_client(settings) as client:
        answers = [await client.get("/unlimited/status/404") for _ in range(8)]
        breaker = _gateway(client).upstreams.breaker("echo")
    assert [a.status_code for a in answers] == [404] * 8
    assert breaker.state is CircuitState.CLOSED


async def test_503_is_retried_for_idempotent_requests_only(
    upstream: RunningUpstream, second_upstream: RunningUpstream, redis_url: str
) -> None:
    settings = make_settings(
        {"echo": [upstream.url, second_upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
        load_balancing="round-robin",
        breaker_minimum_calls=20,
        eject_after_failures=100,
    )
    async with gateway_client(settings) as client:
        before = upstream.app.stats.requests + second_upstream.app.stats.requests
        get = await client.get("/unlimited/status/503")
        middle = upstream.app.stats.requests + second_upstream.app.stats.requests
        post = await client.post("/unlimited/status/503", content=b"x")
        after = upstream.app.stats.requests + second_upstream.app.stats.requests
    assert get.status_code == 503
    assert post.status_code == 503
    assert middle - before == 2  # the GET went to both instances
    assert after - middle == 1  # the POST was sent once


async def test_the_retry_budget_caps_retries(upstream: RunningUpstream, redis_url: str) -> None:
    settings = make_settings(
        {"echo": [upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
        retry_budget_ratio=0.0,
        retry_budget_min=3,
        breaker_minimum_calls=20,
        eject_after_failures=100,
    )
    async with gateway_client(settings) as client:
        before = upstream.app.stats.requests
        answers = [await client.get("/unlimited/status/503") for _ in range(10)]
    assert [a.status_code for a in answers] == [503] * 10
    assert upstream.app.stats.requests - before == 10 + 3
