"""CORS, the client address behind trusted and untrusted peers, and rate limits."""

from __future__ import annotations

import pytest
from gateway_support import RunningUpstream, free_port, gateway_client, make_settings

from spotilike.gateway.settings import GatewaySettings

pytestmark = pytest.mark.integration

ALLOWED = "https://player.spotilike.dev"


def _settings(upstream: RunningUpstream, redis_url: str, **overrides: object) -> GatewaySettings:
    return make_settings(
        {"echo": [upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
        **overrides,
    )


def _forwarded_for(response_json: dict[str, object]) -> list[str]:
    headers = response_json["headers"]
    assert isinstance(headers, list)
    return [value for name, value in headers if name == "x-forwarded-for"]


async def test_cors_preflight_from_an_allowed_origin(
    upstream: RunningUpstream, redis_url: str
) -> None:
    settings = _settings(
        upstream,
        redis_url,
        cors_origins=[ALLOWED],
        cors_allow_credentials=True,
        cors_max_age_seconds=900,
    )
    before = upstream.app.stats.requests
    async with gateway_client(settings) as client:
        response = await client.options(
            "/private/x",
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "900"
    assert "PATCH" in response.headers["access-control-allow-methods"]
    # Answered at the edge: no token was needed and the upstream never saw it.
    assert upstream.app.stats.requests == before


async def test_cors_preflight_and_requests_from_other_origins_are_refused(
    upstream: RunningUpstream, redis_url: str
) -> None:
    settings = _settings(upstream, redis_url, cors_origins=[ALLOWED])
    async with gateway_client(settings) as client:
        preflight = await client.options(
            "/open/x",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        simple = await client.get("/open/x", headers={"Origin": "https://evil.example"})
        allowed = await client.get("/open/x", headers={"Origin": ALLOWED})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    exposed = allowed.headers["access-control-expose-headers"].lower()
    assert "ratelimit" in exposed
    assert "retry-after" in exposed


async def test_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(
    upstream: RunningUpstream, redis_url: str
) -> None:
    settings = _settings(upstream, redis_url, trusted_proxies=["10.0.0.0/8"])
    async with gateway_client(settings, client_address=("203.0.113.9", 5000)) as client:
        first = await client.get("/open/x", headers={"X-Forwarded-For": "198.51.100.1"})
        second = await client.get("/open/x", headers={"X-Forwarded-For": "198.51.100.2"})
    assert _forwarded_for(first.json()) == ["203.0.113.9"]
    assert _forwarded_for(second.json()) == ["203.0.113.9"]
    # One counter: the peer's, whatever the header claimed.
    assert first.headers["ratelimit"].startswith('"default";r=99;')
    assert second.headers["ratelimit"].startswith('"default";r=98;')


async def test_forwarded_for_from_a_trusted_proxy_is_honoured(
    upstream: RunningUpstream, redis_url: str
) -> None:
    settings = _settings(upstream, redis_url, trusted_proxies=["10.0.0.0/8"])
    async with gateway_client(settings, client_address=("10.0.0.5", 5000)) as client:
        one = await client.get(
            "/open/x", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.0.0.2"}
        )
        same = await client.get("/open/x", headers={"X-Forwarded-For": "198.51.100.7"})
        other = await client.get("/open/x", headers={"X-Forwarded-For": "198.51.100.8"})
    assert _forwarded_for(one.json()) == ["6.6.6.6, 198.51.100.7, 10.0.0.2, 10.0.0.5"]
    # 198.51.100.7 is the client both times (the rightmost untrusted entry); .8 is another.
    assert one.headers["ratelimit"].startswith('"default";r=99;')
    assert same.headers["ratelimit"].startswith('"default";r=98;')
    assert other.headers["ratelimit"].startswith('"default";r=99;')


async def test_over_the_limit_is_429_with_retry_after_and_ratelimit_headers(
    upstream: RunningUpstream, redis_url: str
) -> None:
    settings = _settings(
        upstream, redis_url, rate_limits={"default": "3/minute", "auth": "3/minute"}
    )
    before = upstream.app.stats.requests
    async with gateway_client(settings) as client:
        answers = [await client.get("/open/x") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    refused = answers[3]
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-policy"] == '"default";q=3;w=60'
    assert refused.headers["ratelimit"].startswith('"default";r=0;')
    assert upstream.app.stats.requests == before + 3


async def test_a_route_without_a_class_is_not_limited(
    upstream: RunningUpstream, redis_url: str
) -> None:
    settings = _settings(
        upstream, redis_url, rate_limits={"default": "2/minute", "auth": "2/minute"}
    )
    async with gateway_client(settings) as client:
        answers = [await client.get("/unlimited/x") for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert "ratelimit" not in answers[0].headers


async def test_valkey_down_fails_auth_routes_closed_and_others_open(
    upstream: RunningUpstream,
) -> None:
    settings = _settings(upstream, f"redis://127.0.0.1:{free_port()}/0")
    async with gateway_client(settings) as client:
        login = await client.post("/auth/login", json={"email": "a@b.c"})
        browse = await client.get("/open/x")
    assert login.status_code == 503
    assert login.json()["type"].endswith("rate-limit-unavailable")
    assert browse.status_code == 200
    assert "ratelimit" not in browse.headers


@pytest.mark.parametrize(
    ("peer", "readable"),
    [
        ("127.0.0.1", True),
        ("192.168.3.4", True),
        ("203.0.113.9", False),
        # The trusted proxy's own address: what comes through it came from outside.
        ("10.0.0.5", False),
    ],
)
async def test_metrics_are_for_scrapers_next_to_the_gateway_only(
    upstream: RunningUpstream, redis_url: str, peer: str, readable: bool
) -> None:
    settings = _settings(upstream, redis_url, trusted_proxies=["10.0.0.0/8"])
    async with gateway_client(settings, client_address=(peer, 5000)) as client:
        response = await client.get("/metrics")
    if readable:
        assert response.status_code == 200
        assert "spotilike_http_requests_total" in response.text
    else:
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert "spotilike_" not in response.text
