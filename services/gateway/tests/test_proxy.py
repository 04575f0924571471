"""Forwarding through the gateway: headers both ways, identity, paths, limits, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gateway_support import (
    RunningUpstream,
    free_port,
    gateway_client,
    make_settings,
    raw_request,
)

from spotilike.gateway.app import create_gateway_app
from spotilike.gateway.settings import GatewaySettings
from spotilike.tools.pytest_plugin import TokenIssuer, served_in_thread

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(upstream: RunningUpstream, redis_url: str) -> GatewaySettings:
    return make_settings(
        {"echo": [upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
    )


def _headers(echo: dict[str, Any]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, value in echo["headers"]:
        seen.setdefault(name, []).append(value)
    return seen


async def test_request_headers_are_cleaned_and_identity_is_forwarded(
    settings: GatewaySettings, token_issuer: TokenIssuer
) -> None:
    token = token_issuer.token("user-42", roles=("USER", "ARTIST"))
    async with gateway_client(settings) as client:
        response = await client.get(
            "/private/thing?x=1&y=%2F",
            headers={
                "Authorization": f"Bearer {token}",
                "X-User-Id": "admin",
                "X-User-Roles": "ADMIN",
                "x-user-anything": "forged",
                "Connection": "keep-alive, X-Secret-Hop",
                "X-Secret-Hop": "must not pass",
                "Keep-Alive": "timeout=5",
                "Proxy-Authorization": "Basic abc",
                "X-Request-ID": "req-123",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "Accept-Encoding": "gzip",
            },
        )
    assert response.status_code == 200
    echo = response.json()
    seen = _headers(echo)
    assert seen["x-user-id"] == ["user-42"]
    assert seen["x-user-roles"] == ["ARTIST,USER"]
    assert "x-user-anything" not in seen
    assert seen["authorization"] == [f"Bearer {token}"]
    for hop in ("x-secret-hop", "keep-alive", "proxy-authorization", "te", "upgrade"):
        assert hop not in seen
    assert seen["x-request-id"] == ["req-123"]
    trace_id = seen["traceparent"][0].split("-")[1]
    assert trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert seen["x-forwarded-for"] == ["127.0.0.1"]
    assert seen["x-forwarded-proto"] == ["http"]
    assert seen["x-forwarded-host"] == ["test"]
    assert seen["forwarded"] == ['for=127.0.0.1;proto=http;host="test"']
    assert seen["accept-encoding"] == ["gzip"]
    assert "user-agent" in seen  # httpx's, passed on; aiohttp adds none of its own
    assert not seen["user-agent"][0].startswith("Python/")
    assert echo["query"] == "x=1&y=%2F"
    assert echo["path"] == "/private/thing"


async def test_response_headers_lose_hop_by_hop_and_keep_the_rest(
    settings: GatewaySettings,
) -> None:
    async with gateway_client(settings) as client:
        response = await client.get("/open/x")
    assert response.status_code == 200
    assert "x-hop" not in response.headers
    assert response.headers["x-upstream"] == "a"
    assert response.headers["set-cookie"] == "session=upstream"
    assert response.headers["x-request-id"]
    assert response.headers["ratelimit-policy"] == '"default";q=100;w=60'
    assert response.headers["ratelimit"].startswith('"default";r=99;')


async def test_upstream_cookies_are_not_kept_for_other_requests(
    settings: GatewaySettings,
) -> None:
    async with gateway_client(settings) as client:
        await client.get("/open/first")
        client.cookies.clear()
        second = await client.get("/open/second")
    assert "cookie" not in _headers(second.json())


async def test_a_public_route_needs_no_token_and_gets_no_identity(
    settings: GatewaySettings,
) -> None:
    async with gateway_client(settings) as client:
        response = await client.get("/open/x", headers={"X-User-Id": "forged"})
    assert response.status_code == 200
    assert "x-user-id" not in _headers(response.json())


async def test_public_methods_of_a_protected_route(
    settings: GatewaySettings, token_issuer: TokenIssuer
) -> None:
    async with gateway_client(settings) as client:
        read = await client.get("/catalog/albums")
        write = await client.post("/catalog/albums", json={"title": "x"})
        authorised = await client.post(
            "/catalog/albums", json={"title": "x"}, headers=token_issuer.headers("u1")
        )
    assert read.status_code == 200
    assert write.status_code == 401
    assert write.headers["content-type"] == "application/problem+json"
    assert write.json()["type"].endswith("auth/missing-token")
    assert authorised.status_code == 200
    assert authorised.json()["body_bytes"] == len(b'{"title":"x"}')


async def test_strip_prefix_sends_the_service_its_own_paths(
    settings: GatewaySettings, token_issuer: TokenIssuer
) -> None:
    async with gateway_client(settings) as client:
        anonymous = await client.get("/audio/uploads/abc")
        response = await client.get("/audio/uploads/a%20b", headers=token_issuer.headers())
    assert anonymous.status_code == 401
    assert response.json()["raw_path"] == "/uploads/a%20b"


@pytest.mark.parametrize(
    "path",
    [
        "/catalog/%2e%2e/private/x",
        "/catalog/%2E%2E%2Fprivate",
        "/catalog/..%5cprivate",
        "/open/a%00",
        "/open/x%0A",
        "/open/x%0D%0AX-User-Id:%20admin",
        "/open/x%7F",
    ],
)
async def test_dot_segments_and_control_characters_are_refused(
    settings: GatewaySettings, path: str
) -> None:
    async with gateway_client(settings) as client:
        response = await client.get(path)
    assert response.status_code == 400
    assert response.json()["type"].endswith("bad-path")


async def test_a_double_encoded_dot_dot_goes_upstream_still_encoded(
    settings: GatewaySettings,
) -> None:
    """``%252e`` decodes once to the text ``%2e``, not a dot: the gateway routes on that and
    forwards the path as received, so no second decoding can turn it into ``..``."""
    async with gateway_client(settings) as client:
        response = await client.get("/open/%252e%252e/private/x")
    assert response.status_code == 200
    assert response.json()["raw_path"] == "/open/%252e%252e/private/x"


async def test_invented_methods_do_not_grow_the_metrics(settings: GatewaySettings) -> None:
    """A method may be any token to an ASGI server; each new one must not be a new set of series."""
    async with gateway_client(settings) as client:
        for index in range(20):
            await client.request(f"M{index:05d}", "/nothing-routes-here")
            await client.request(f"X{index:05d}", "/open/x")
        metrics = (await client.get("/metrics")).text
    assert 'method="M00000"' not in metrics
    assert 'method="X00019"' not in metrics
    assert 'method="OTHER",route="unmatched",service="gateway",status="404"' in metrics
    assert 'method="OTHER",route="/open/*",service="gateway"' in metrics


async def test_a_connection_header_cannot_strip_the_bodys_framing(
    settings: GatewaySettings, upstream: RunningUpstream
) -> None:
    """``Connection: Content-Length`` names a header for the gateway to drop. Dropping it
    sent the body without framing, and the upstream read the body as a second request
    that no admission, rate limit or path check had seen."""
    smuggled = b"GET /open/smuggled HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n"
    before = len(upstream.app.stats.paths)
    async with gateway_client(settings) as client:
        response = await client.post(
            "/open/echo", content=smuggled, headers={"Connection": "Content-Length"}
        )
        after = await client.get("/open/after")
    assert response.status_code == 200
    assert response.json()["body_bytes"] == len(smuggled)
    assert after.json()["path"] == "/open/after"
    reached = [p for p in upstream.app.stats.paths[before:] if p != "/.well-known/jwks.json"]
    assert reached == ["/open/echo", "/open/after"]


def test_a_literal_dot_dot_path_is_refused(settings: GatewaySettings) -> None:
    # httpx normalises "../" away on the client side; a raw request keeps it.
    with served_in_thread(create_gateway_app(settings)) as url:
        answer = raw_request(url, b"GET /catalog/../private/x HTTP/1.1\r\nHost: t\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")


async def test_an_unknown_path_is_a_problem_404(settings: GatewaySettings) -> None:
    async with gateway_client(settings) as client:
        response = await client.get("/nowhere")
        prefix_lookalike = await client.get("/opener")
    assert response.status_code == 404
    assert response.json()["type"].endswith("no-route")
    assert prefix_lookalike.status_code == 404


async def test_oversized_headers_are_refused(settings: GatewaySettings) -> None:
    async with gateway_client(settings) as client:
        response = await client.get("/open/x", headers={"X-Big": "a" * 40_000})
    assert response.status_code == 431


async def test_a_body_over_the_cap_is_refused_from_its_declared_length(
    upstream: RunningUpstream, redis_url: str
) -> None:
    settings = make_settings(
        {"echo": [upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
        max_body_bytes=4096,
    )
    before = upstream.app.stats.requests
    async with gateway_client(settings) as client:
        response = await client.post("/open/upload", content=b"x" * 5000)
        small = await client.post("/open/upload", content=b"x" * 4000)
    assert response.status_code == 413
    assert small.json()["body_bytes"] == 4000
    assert upstream.app.stats.requests == before + 1


async def test_an_unreachable_upstream_is_a_502(redis_url: str, upstream: RunningUpstream) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(
        {"echo": [dead]}, redis_url=redis_url, jwks_url=upstream.url + "/.well-known/jwks.json"
    )
    async with gateway_client(settings) as client:
        response = await client.post("/open/x", content=b"abc")
    assert response.status_code == 502
    assert response.json()["type"].endswith("upstream-unreachable")


async def test_a_slow_upstream_is_a_504_after_the_route_timeout(
    settings: GatewaySettings,
) -> None:
    async with gateway_client(settings) as client:
        response = await client.get("/slowpoke/slow/3")
    assert response.status_code == 504
    assert response.json()["type"].endswith("upstream-timeout")


async def test_a_service_without_instances_is_a_503(settings: GatewaySettings) -> None:
    changed = settings.model_copy(update={"upstreams": {}})
    async with gateway_client(changed) as client:
        response = await client.get("/open/x")
    assert response.status_code == 503
    assert response.json()["type"].endswith("no-upstream-instance")


async def test_gateway_health_is_its_own(settings: GatewaySettings) -> None:
    async with gateway_client(settings) as client:
        response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_streamed_response_arrives_whole(settings: GatewaySettings) -> None:
    async with gateway_client(settings) as client:
        response = await client.get("/open/bytes/1000000")
    assert response.status_code == 200
    assert len(response.content) == 1_000_000


async def test_httpx_transport_error_free(settings: GatewaySettings) -> None:
    async with gateway_client(settings) as client:
        response = await client.request("OPTIONS", "/open/x")
    assert response.status_code == 200
    assert response.json()["method"] == "OPTIONS"
    assert isinstance(client, httpx.AsyncClient)
