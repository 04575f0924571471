"""Google (OpenID Connect) and GitHub sign-in against real test providers and the real Valkey.

The OpenID provider is the npm package oidc-provider; GitHub is the small server in
``oauth_servers/github.py``. ``follow_authorization`` plays the browser. Each test deletes
the state keys it created, so the shared Valkey is left as it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis

from spotilike.users.oauth import (
    AuthorizationStart,
    ExternalIdentity,
    OAuthError,
    OAuthFlows,
    safe_next_path,
)
from spotilike.users.settings import UsersSettings

sys.path.insert(0, str(Path(__file__).parent))
from oauth_servers.fixtures import (
    GitHubProvider,
    OidcProvider,
    follow_authorization,
    github_provider,
    oauth_settings,
    oidc_provider,
)

__all__ = ["github_provider", "oidc_provider"]

STATE_KEYS = "users:oauth:state:*"


def state_key(state: str) -> bytes:
    """Where a flow's state is kept: found by its own value, not by what appeared."""
    return ("users:oauth:state:" + hashlib.sha256(state.encode()).hexdigest()).encode()


Providers = tuple[OidcProvider, GitHubProvider]


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    before = {key async for key in client.scan_iter(match=STATE_KEYS)}
    yield client
    created = {key async for key in client.scan_iter(match=STATE_KEYS)} - before
    if created:
        await client.delete(*created)
    await client.aclose()


@pytest.fixture
def providers(oidc_provider: OidcProvider, github_provider: GitHubProvider) -> Providers:
    return oidc_provider, github_provider


@pytest.fixture
def settings(providers: Providers) -> UsersSettings:
    return oauth_settings(*providers)


@pytest.fixture
async def make_flows(
    providers: Providers, redis: Redis
) -> AsyncIterator[Callable[..., OAuthFlows]]:
    made: list[OAuthFlows] = []

    def make(*, clock: Callable[[], float] = time.time, **overrides: Any) -> OAuthFlows:
        flows = OAuthFlows(oauth_settings(*providers, **overrides), redis, clock=clock)
        made.append(flows)
        return flows

    yield make
    for flows in made:
        await flows.aclose()


@pytest.fixture
def flows(make_flows: Callable[..., OAuthFlows]) -> OAuthFlows:
    return make_flows()


def provider_for(name: str, providers: Providers) -> OidcProvider | GitHubProvider:
    oidc, github = providers
    return oidc if name == "google" else github


async def sign_in(
    flows: OAuthFlows,
    providers: Providers,
    provider: str,
    hint: str,
    *,
    next_path: str | None = None,
) -> tuple[AuthorizationStart, str]:
    """Starts a flow and lets the account ``hint`` through it; returns the start and the code."""
    start = await flows.start(provider, next_path=next_path)
    url = provider_for(provider, providers).with_login(start.url, hint)
    callback = await follow_authorization(url, callback_url=flows.redirect_uri(provider))
    assert callback.error is None, callback.url
    assert callback.state == start.state
    assert callback.code is not None
    return start, callback.code


def provider_hint(provider: str) -> str:
    return "alice" if provider == "google" else "octocat"


async def expect_error(code: str, attempt: Any) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        await attempt
    assert caught.value.code == code, caught.value
    return caught.value


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers: a provider that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    host, port = listener.getsockname()
    try:
        yield f"http://{host}:{port}"
    finally:
        listener.close()


ACCOUNTS = [
    pytest.param("google", "alice", id="google-verified"),
    pytest.param("google", "bob", id="google-unverified"),
    pytest.param("github", "octocat", id="github-verified"),
    pytest.param("github", "newbie", id="github-unverified"),
]


@pytest.mark.integration
@pytest.mark.parametrize(("provider", "hint"), ACCOUNTS)
async def test_sign_in_reports_the_providers_identity(
    flows: OAuthFlows, providers: Providers, provider: str, hint: str
) -> None:
    account = provider_for(provider, providers).accounts[hint]
    start, code = await sign_in(flows, providers, provider, hint, next_path="/library?tab=liked")

    identity, next_path = await flows.finish(
        provider, state=start.state, code=code, binding=start.binding
    )

    assert identity == ExternalIdentity(
        provider=provider,
        subject=account.subject,
        email=account.email,
        email_verified=account.email_verified,
        display_name=account.display_name,
    )
    assert next_path == "/library?tab=liked"


@pytest.mark.integration
@pytest.mark.parametrize("provider", ["google", "github"])
async def test_authorization_url_asks_for_a_code_with_pkce_and_our_callback(
    flows: OAuthFlows, providers: Providers, provider: str
) -> None:
    start = await flows.start(provider, next_path=None)

    query = parse_qs(urlsplit(start.url).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [provider_for(provider, providers).client_id]
    assert query["redirect_uri"] == [flows.redirect_uri(provider)]
    assert query["state"] == [start.state]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert ("nonce" in query) is (provider == "google")
    assert start.binding not in start.url
    assert start.state != start.binding


@pytest.mark.unit
async def test_redirect_uri_is_under_the_configured_base() -> None:
    settings = UsersSettings(oauth_redirect_base_url="https://spotilike.example/api/users")
    flows = OAuthFlows(settings, Redis())  # the client connects on first use only

    assert flows.providers == ("google", "github")
    assert (
        flows.redirect_uri("github")
        == "https://spotilike.example/api/users/auth/oauth/github/callback"
    )
    await flows.aclose()


@pytest.mark.integration
async def test_state_lives_in_valkey_for_the_configured_ttl(
    flows: OAuthFlows, redis: Redis, settings: UsersSettings
) -> None:
    start = await flows.start("github", next_path=None)
    key = state_key(start.state)
    assert await redis.exists(key)
    assert 0 < await redis.ttl(key) <= settings.oauth_state_ttl_seconds
    stored = await redis.get(key)
    assert stored is not None
    assert start.state.encode() not in key
    assert start.binding.encode() not in stored


@pytest.mark.integration
@pytest.mark.parametrize("provider", ["google", "github"])
async def test_unknown_state_is_refused(
    flows: OAuthFlows, providers: Providers, provider: str
) -> None:
    start, code = await sign_in(flows, providers, provider, provider_hint(provider))

    await expect_error(
        "oauth/state-mismatch",
        flows.finish(provider, state=start.state + "x", code=code, binding=start.binding),
    )


@pytest.mark.integration
async def test_state_of_another_provider_is_refused(
    flows: OAuthFlows, providers: Providers
) -> None:
    start, code = await sign_in(flows, providers, "github", "octocat")

    await expect_error(
        "oauth/state-mismatch",
        flows.finish("google", state=start.state, code=code, binding=start.binding),
    )


@pytest.mark.integration
@pytest.mark.parametrize("provider", ["google", "github"])
async def test_state_is_consumed_by_the_first_finish(
    flows: OAuthFlows, providers: Providers, provider: str
) -> None:
    start, code = await sign_in(flows, providers, provider, provider_hint(provider))
    await flows.finish(provider, state=start.state, code=code, binding=start.binding)

    await expect_error(
        "oauth/state-mismatch",
        flows.finish(provider, state=start.state, code=code, binding=start.binding),
    )


@pytest.mark.integration
@pytest.mark.parametrize("wrong_binding", [None, "", "another-browser"])
async def test_another_browsers_binding_is_refused_and_burns_the_state(
    flows: OAuthFlows, providers: Providers, wrong_binding: str | None
) -> None:
    start, code = await sign_in(flows, providers, "google", "alice")

    await expect_error(
        "oauth/state-mismatch",
        flows.finish("google", state=start.state, code=code, binding=wrong_binding),
    )
    await expect_error(
        "oauth/state-mismatch",
        flows.finish("google", state=start.state, code=code, binding=start.binding),
    )


@pytest.mark.integration
@pytest.mark.parametrize("provider", ["google", "github"])
async def test_expired_state_is_refused(
    flows: OAuthFlows, providers: Providers, redis: Redis, provider: str
) -> None:
    start, code = await sign_in(flows, providers, provider, provider_hint(provider))
    key = state_key(start.state)
    await redis.pexpire(key, 1)
    for _ in range(1000):
        if not await redis.exists(key):
            break
        await asyncio.sleep(0.005)

    await expect_error(
        "oauth/state-mismatch",
        flows.finish(provider, state=start.state, code=code, binding=start.binding),
    )


@pytest.mark.integration
@pytest.mark.parametrize("provider", ["google", "github"])
async def test_a_code_is_accepted_once_even_with_its_own_verifier(
    flows: OAuthFlows, providers: Providers, redis: Redis, provider: str
) -> None:
    start, code = await sign_in(flows, providers, provider, provider_hint(provider))
    key = state_key(start.state)
    record = await redis.get(key)
    assert record is not None
    await flows.finish(provider, state=start.state, code=code, binding=start.binding)
    # As if the state store had been replayed: only the provider stands in the way now.
    await redis.set(key, record, ex=60)

    await expect_error(
        "oauth/code-rejected",
        flows.finish(provider, state=start.state, code=code, binding=start.binding),
    )


@pytest.mark.integration
@pytest.mark.parametrize("provider", ["google", "github"])
async def test_a_code_from_another_attempt_is_rejected(
    flows: OAuthFlows, providers: Providers, provider: str
) -> None:
    _, stolen_code = await sign_in(flows, providers, provider, provider_hint(provider))
    start = await flows.start(provider, next_path=None)

    await expect_error(
        "oauth/code-rejected",
        flows.finish(provider, state=start.state, code=stolen_code, binding=start.binding),
    )


@pytest.mark.integration
@pytest.mark.parametrize("provider", ["google", "github"])
async def test_a_wrong_client_secret_is_rejected(
    make_flows: Callable[..., OAuthFlows], providers: Providers, provider: str
) -> None:
    flows = make_flows(**{f"{provider}_client_secret": "not-the-secret"})
    start, code = await sign_in(flows, providers, provider, provider_hint(provider))

    error = await expect_error(
        "oauth/code-rejected",
        flows.finish(provider, state=start.state, code=code, binding=start.binding),
    )
    assert "not-the-secret" not in str(error)


@pytest.mark.integration
async def test_an_id_token_for_another_nonce_is_invalid(
    flows: OAuthFlows, providers: Providers
) -> None:
    oidc, _ = providers
    start = await flows.start("google", next_path=None)
    query = parse_qs(urlsplit(start.url).query)
    assert len(query["nonce"]) == 1
    tampered = start.url.replace(f"nonce={query['nonce'][0]}", "nonce=attackers-nonce")
    assert tampered != start.url
    callback = await follow_authorization(
        oidc.with_login(tampered, "alice"), callback_url=flows.redirect_uri("google")
    )
    assert callback.code is not None

    await expect_error(
        "oauth/id-token-invalid",
        flows.finish("google", state=start.state, code=callback.code, binding=start.binding),
    )


@pytest.mark.integration
async def test_an_expired_id_token_is_invalid(
    make_flows: Callable[..., OAuthFlows], providers: Providers
) -> None:
    # oidc-provider's ID tokens live an hour; this clock is a day ahead.
    flows = make_flows(clock=lambda: time.time() + 86_400)
    start, code = await sign_in(flows, providers, "google", "alice")

    await expect_error(
        "oauth/id-token-invalid",
        flows.finish("google", state=start.state, code=code, binding=start.binding),
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    ("next_path", "expected"),
    [("/playlists/42?sort=new", "/playlists/42?sort=new"), ("//evil.example", "/"), (None, "/")],
)
async def test_finish_returns_only_a_safe_next_path(
    flows: OAuthFlows, providers: Providers, next_path: str | None, expected: str
) -> None:
    start, code = await sign_in(flows, providers, "github", "octocat", next_path=next_path)

    _, returned = await flows.finish("github", state=start.state, code=code, binding=start.binding)

    assert returned == expected


@pytest.mark.integration
async def test_unknown_provider_is_refused(flows: OAuthFlows) -> None:
    await expect_error("oauth/unknown-provider", flows.start("myspace", next_path=None))
    await expect_error(
        "oauth/unknown-provider",
        flows.finish("myspace", state="s", code="c", binding="b"),
    )


@pytest.mark.integration
async def test_google_discovery_down_is_provider_unavailable(
    make_flows: Callable[..., OAuthFlows],
) -> None:
    port = closed_port()
    flows = make_flows(
        google_metadata_url=f"http://127.0.0.1:{port}/.well-known/openid-configuration"
    )

    await expect_error("oauth/provider-unavailable", flows.start("google", next_path=None))


@pytest.mark.integration
async def test_github_token_endpoint_down_is_provider_unavailable(
    make_flows: Callable[..., OAuthFlows], providers: Providers
) -> None:
    port = closed_port()
    flows = make_flows(github_token_url=f"http://127.0.0.1:{port}/login/oauth/access_token")
    start, code = await sign_in(flows, providers, "github", "octocat")

    await expect_error(
        "oauth/provider-unavailable",
        flows.finish("github", state=start.state, code=code, binding=start.binding),
    )


@pytest.mark.integration
@pytest.mark.parametrize("provider", ["google", "github"])
async def test_a_provider_that_hangs_is_provider_unavailable(
    make_flows: Callable[..., OAuthFlows],
    providers: Providers,
    silent_server: str,
    provider: str,
) -> None:
    if provider == "google":
        overrides: dict[str, Any] = {
            "google_metadata_url": f"{silent_server}/.well-known/openid-configuration"
        }
    else:
        overrides = {"github_api_url": silent_server}
    flows = make_flows(oauth_provider_timeout_seconds=0.2, **overrides)

    if provider == "google":
        await expect_error("oauth/provider-unavailable", flows.start("google", next_path=None))
    else:
        start, code = await sign_in(flows, providers, "github", "octocat")
        await expect_error(
            "oauth/provider-unavailable",
            flows.finish("github", state=start.state, code=code, binding=start.binding),
        )


SAFE_PATHS = ["/", "/library", "/x?y=1", "/a/b/c#frag", "/search?q=a%20b&page=2", "/%2F%2Fx"]
UNSAFE_PATHS = [
    None,
    "",
    "library",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/a\\b",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/ok\x00",
    "/\x7f",
    "/caf\u00e9",
    "/\uff0f\uff0fevil.example",
    " /library",
    "/" + "a" * 5000,
]


@pytest.mark.unit
@pytest.mark.parametrize("path", SAFE_PATHS)
def test_safe_next_path_keeps_relative_paths(path: str) -> None:
    assert safe_next_path(path) == path


@pytest.mark.unit
@pytest.mark.parametrize("path", UNSAFE_PATHS)
def test_safe_next_path_refuses_anything_else(path: str | None) -> None:
    assert safe_next_path(path) == "/"


@pytest.mark.unit
@given(st.text(max_size=60) | st.text(alphabet="/\\:.%@?#\t\n ev", max_size=20))
def test_safe_next_path_never_leaves_our_origin(value: str) -> None:
    result = safe_next_path(value)

    assert result in (value, "/")
    assert result.startswith("/")
    assert not result.startswith("//")
    assert "\\" not in result
    assert all("!" <= char <= "~" for char in result)
    resolved = urlsplit(urljoin("https://spotilike.example/app/", result))
    assert (resolved.scheme, resolved.netloc) == ("https", "spotilike.example")
