"""Signing in with Google and GitHub through the users API, against the real test providers.

The OpenID provider (oidc-provider) stands in for Google and ``oauth_servers/github.py`` for
GitHub; ``follow_authorization`` plays the browser between our ``/start`` and our
``/callback``. The database is one per module and the provider accounts are fixed, so a
scenario that needs an account in a given state (linked, disabled) signs in as a provider
account no other test here uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import asyncpg
import httpx
import pytest
from oauth_servers.fixtures import (
    GitHubProvider,
    OidcProvider,
    ProviderAccount,
    follow_authorization,
    oauth_settings_fields,
)
from users_support import (
    Listener,
    Tokens,
    claims_of_token,
    make_admin,
    outbox_payloads,
    token_from_link,
    unique_email,
)

from spotilike.tools.pytest_plugin import ScratchDatabase
from spotilike.users.api.oauth import BINDING_COOKIE

pytestmark = pytest.mark.integration

WEB_URL = "https://web.spotilike.test"
"""Not our API's origin, so a test sees that the browser is sent to the web player."""

UsersApp = Callable[..., AbstractAsyncContextManager[Listener]]
Provider = OidcProvider | GitHubProvider
Providers = dict[str, Provider]


def binding_cookie(provider: str) -> str:
    return f"{BINDING_COOKIE}_{provider}"


BOTH = pytest.mark.parametrize(("provider", "hint"), [("google", "alice"), ("github", "octocat")])


@dataclass(frozen=True)
class Attempt:
    """A sign-in started at our ``/start`` and taken through the provider's pages."""

    provider: str
    start: httpx.Response
    binding: str
    """The binding cookie ``/start`` set."""
    callback_url: str
    code: str | None
    state: str | None
    error: str | None

    @property
    def callback_path(self) -> str:
        """The provider's redirect to our callback, as a request to our app."""
        parts = urlsplit(self.callback_url)
        return f"{parts.path}?{parts.query}"


@dataclass(frozen=True)
class Landing:
    """Where our callback sent the browser."""

    url: str
    """Without the query."""
    params: dict[str, str]


@pytest.fixture
def providers(oidc_provider: OidcProvider, github_provider: GitHubProvider) -> Providers:
    return {"google": oidc_provider, "github": github_provider}


@pytest.fixture
def oauth_app(
    users_app: UsersApp, oidc_provider: OidcProvider, github_provider: GitHubProvider
) -> UsersApp:
    def start(**overrides: Any) -> AbstractAsyncContextManager[Listener]:
        fields = oauth_settings_fields(oidc_provider, github_provider)
        return users_app(**{**fields, "web_url": WEB_URL, **overrides})

    return start


@pytest.fixture
async def browser(oauth_app: UsersApp) -> AsyncIterator[Listener]:
    async with oauth_app() as listener:
        yield listener


async def begin(
    browser: Listener,
    providers: Providers,
    provider: str,
    hint: str,
    *,
    next_path: str | None = None,
) -> Attempt:
    params = {} if next_path is None else {"next": next_path}
    start = await browser.http.get(f"/auth/oauth/{provider}/start", params=params)
    assert start.status_code == 302, start.text
    binding = start.cookies[binding_cookie(provider)]
    registered = providers[provider]
    returned = await follow_authorization(
        registered.with_login(start.headers["location"], hint),
        callback_url=registered.redirect_uri,
    )
    return Attempt(
        provider=provider,
        start=start,
        binding=binding,
        callback_url=returned.url,
        code=returned.code,
        state=returned.state,
        error=returned.error,
    )


def landing(response: httpx.Response) -> Landing:
    assert response.status_code == 302, response.text
    parts = urlsplit(response.headers["location"])
    params = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return Landing(url=f"{parts.scheme}://{parts.netloc}{parts.path}", params=params)


async def call_back(browser: Listener, attempt: Attempt) -> Landing:
    """The browser's request to our callback, with whatever cookies it holds."""
    return landing(await browser.http.get(attempt.callback_path))


async def call_back_with(browser: Listener, path: str, binding: str) -> Landing:
    """A request to our callback carrying exactly this binding cookie."""
    # An explicit Cookie header takes the place of the client's jar for this request.
    provider = path.split("/")[3]
    headers = {"Cookie": f"{binding_cookie(provider)}={binding}"}
    return landing(await browser.http.get(path, headers=headers))


def login_code(where: Landing) -> str:
    assert where.url == f"{WEB_URL}/login/complete", where
    return where.params["code"]


def refusal(where: Landing) -> str:
    """The error our callback sent the browser to the login page with; it carries no code."""
    assert where.url == f"{WEB_URL}/login", where
    assert "code" not in where.params
    return where.params["error"]


async def exchange(browser: Listener, code: str) -> httpx.Response:
    return await browser.http.post("/auth/oauth/exchange", json={"code": code})


async def tokens_for(browser: Listener, code: str) -> Tokens:
    response = await exchange(browser, code)
    assert response.status_code == 200, response.text
    body = response.json()
    return Tokens(body["access_token"], body["refresh_token"])


async def signed_in(browser: Listener, providers: Providers, provider: str, hint: str) -> Tokens:
    attempt = await begin(browser, providers, provider, hint)
    return await tokens_for(browser, login_code(await call_back(browser, attempt)))


async def me(browser: Listener, tokens: Tokens) -> dict[str, Any]:
    response = await browser.http.get("/users/me", headers=tokens.headers)
    assert response.status_code == 200, response.text
    profile: dict[str, Any] = response.json()
    return profile


async def query_value(database: ScratchDatabase, query: str, *args: object) -> Any:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


async def links_of(database: ScratchDatabase, provider: str, subject: str) -> list[str]:
    """The user ids this provider identity is linked to."""
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        rows = await connection.fetch(
            "SELECT user_id FROM external_accounts WHERE provider = $1 AND subject = $2",
            provider,
            subject,
        )
    finally:
        await connection.close()
    return [str(row["user_id"]) for row in rows]


def provider_host(registered: Provider) -> str:
    """Where the provider's sign-in pages are."""
    if isinstance(registered, OidcProvider):
        return urlsplit(registered.issuer).netloc
    return urlsplit(registered.authorize_url).netloc


async def verify_email_of(browser: Listener, database: ScratchDatabase, email: str) -> None:
    requests = await outbox_payloads(database, "user.email_verification_requested")
    [link] = [r["verification_url"] for r in requests if r["email"].lower() == email.lower()]
    verified = await browser.http.post("/auth/email/verify", json={"token": token_from_link(link)})
    assert verified.status_code == 204, verified.text


def account(providers: Providers, provider: str, hint: str) -> ProviderAccount:
    return providers[provider].accounts[hint]


def set_cookie_attributes(response: httpx.Response, name: str) -> dict[str, str]:
    """The attributes of the ``Set-Cookie`` for ``name``, lower-cased, with its value as ``""``."""
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        cookie_name, _, value = first.partition("=")
        if cookie_name == name:
            parsed = {"": value}
            for attribute in attributes:
                key, _, attribute_value = attribute.partition("=")
                parsed[key.lower()] = attribute_value
            return parsed
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


@BOTH
async def test_a_new_provider_identity_signs_up_and_the_login_code_works_once(
    browser: Listener,
    providers: Providers,
    users_database: ScratchDatabase,
    provider: str,
    hint: str,
) -> None:
    registered = providers[provider]
    attempt = await begin(browser, providers, provider, hint, next_path="/library?tab=playlists")

    start_location = urlsplit(attempt.start.headers["location"])
    start_query = parse_qs(start_location.query)
    assert start_location.netloc == provider_host(registered)
    assert start_query["client_id"] == [registered.client_id]
    assert start_query["redirect_uri"] == [registered.redirect_uri]
    assert start_query["code_challenge_method"] == ["S256"]
    assert start_query["state"] == [attempt.state]
    assert attempt.start.headers["cache-control"] == "no-store"
    cookie = set_cookie_attributes(attempt.start, binding_cookie(provider))
    assert cookie[""] == attempt.binding
    assert "httponly" in cookie
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    # The callback base is plain http here; over https the cookie is Secure.
    assert "secure" not in cookie
    assert attempt.error is None
    assert attempt.code is not None

    callback = await browser.http.get(attempt.callback_path)
    where = landing(callback)
    assert where.params["next"] == "/library?tab=playlists"
    assert set(where.params) == {"code", "next"}
    assert set_cookie_attributes(callback, binding_cookie(provider))["max-age"] == "0"
    assert binding_cookie(provider) not in browser.http.cookies

    code = login_code(where)
    tokens = await tokens_for(browser, code)
    profile = await me(browser, tokens)
    expected = account(providers, provider, hint)
    assert profile["email"] == expected.email
    assert profile["email_verified"] is True
    assert profile["has_password"] is False
    assert profile["display_name"] == expected.display_name
    assert profile["roles"] == ["USER"]
    assert claims_of_token(tokens.access)["sub"] == profile["id"]
    registrations = [
        event
        for event in await outbox_payloads(users_database, "user.registered")
        if event["user_id"] == profile["id"]
    ]
    assert len(registrations) == 1
    assert registrations[0]["email"] == expected.email
    assert await links_of(users_database, provider, expected.subject) == [profile["id"]]

    again = await exchange(browser, code)
    assert again.status_code == 401, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"].endswith("auth/invalid-login-code")


@pytest.mark.parametrize(("provider", "hint"), [("google", "carol"), ("github", "mona")])
async def test_a_verified_provider_email_links_to_the_password_account_with_that_email(
    browser: Listener,
    providers: Providers,
    users_database: ScratchDatabase,
    provider: str,
    hint: str,
) -> None:
    expected = account(providers, provider, hint)
    assert expected.email is not None
    by_password = await browser.signed_up(expected.email.upper())
    password_user = await me(browser, by_password)
    await verify_email_of(browser, users_database, expected.email)

    first = await me(browser, await signed_in(browser, providers, provider, hint))
    assert first["id"] == password_user["id"]
    assert first["has_password"] is True
    assert await links_of(users_database, provider, expected.subject) == [password_user["id"]]

    second = await me(browser, await signed_in(browser, providers, provider, hint))
    assert second["id"] == password_user["id"]
    assert await links_of(users_database, provider, expected.subject) == [password_user["id"]]
    by_password_again = await me(browser, await browser.logged_in(expected.email))
    assert by_password_again["id"] == password_user["id"]
    registrations = [
        event
        for event in await outbox_payloads(users_database, "user.registered")
        if event["user_id"] == password_user["id"]
    ]
    assert len(registrations) == 1


@pytest.mark.parametrize(("provider", "hint"), [("google", "erin"), ("github", "grace")])
async def test_an_account_whose_email_was_never_verified_is_claimed_not_joined(
    browser: Listener,
    providers: Providers,
    users_database: ScratchDatabase,
    provider: str,
    hint: str,
) -> None:
    """Pre-account hijacking: someone registered the victim's address with a password."""
    expected = account(providers, provider, hint)
    assert expected.email is not None
    squatter = await browser.signed_up(expected.email)
    squatted = await me(browser, squatter)

    owner = await me(browser, await signed_in(browser, providers, provider, hint))
    assert owner["id"] == squatted["id"]
    assert owner["has_password"] is False
    assert owner["email_verified"] is True
    assert (await browser.http.get("/users/me", headers=squatter.headers)).status_code == 401
    refreshed = await browser.http.post("/auth/refresh", json={"refresh_token": squatter.refresh})
    assert refreshed.status_code == 401
    assert (await browser.login(expected.email)).status_code == 401


@pytest.mark.parametrize(("provider", "hint"), [("google", "bob"), ("github", "newbie")])
async def test_an_unverified_provider_email_neither_signs_up_nor_links(
    browser: Listener,
    providers: Providers,
    users_database: ScratchDatabase,
    provider: str,
    hint: str,
) -> None:
    expected = account(providers, provider, hint)
    assert expected.email is not None
    assert expected.email_verified is False
    users_before = await query_value(users_database, "SELECT count(*) FROM users")

    attempt = await begin(browser, providers, provider, hint)
    assert refusal(await call_back(browser, attempt)) == "oauth/unverified-email"
    assert await query_value(users_database, "SELECT count(*) FROM users") == users_before

    by_password = await browser.signed_up(expected.email)
    password_user = await me(browser, by_password)
    attempt = await begin(browser, providers, provider, hint)
    assert refusal(await call_back(browser, attempt)) == "oauth/unverified-email"
    assert await links_of(users_database, provider, expected.subject) == []
    still = await me(browser, await browser.logged_in(expected.email))
    assert still["id"] == password_user["id"]


@BOTH
async def test_a_callback_with_another_attempts_binding_cookie_is_refused(
    browser: Listener, providers: Providers, provider: str, hint: str
) -> None:
    attempt = await begin(browser, providers, provider, hint)
    # A second sign-in started in this browser replaces the binding cookie.
    other = await browser.http.get(f"/auth/oauth/{provider}/start")
    assert other.status_code == 302
    assert browser.http.cookies[binding_cookie(provider)] != attempt.binding

    assert refusal(await call_back(browser, attempt)) == "oauth/state-mismatch"


@BOTH
async def test_a_callback_without_the_binding_cookie_is_refused(
    browser: Listener, providers: Providers, provider: str, hint: str
) -> None:
    attempt = await begin(browser, providers, provider, hint)
    browser.http.cookies.clear()

    assert refusal(await call_back(browser, attempt)) == "oauth/state-mismatch"


@BOTH
async def test_a_replayed_callback_is_refused_and_the_first_login_still_works(
    browser: Listener, providers: Providers, provider: str, hint: str
) -> None:
    attempt = await begin(browser, providers, provider, hint)
    browser.http.cookies.clear()
    code = login_code(await call_back_with(browser, attempt.callback_path, attempt.binding))

    replayed = await call_back_with(browser, attempt.callback_path, attempt.binding)
    assert refusal(replayed) == "oauth/state-mismatch"
    tokens = await tokens_for(browser, code)
    assert (await me(browser, tokens))["email"] == account(providers, provider, hint).email


@BOTH
async def test_an_authorization_code_already_redeemed_is_refused_on_a_new_attempt(
    browser: Listener, providers: Providers, provider: str, hint: str
) -> None:
    attempt = await begin(browser, providers, provider, hint)
    login_code(await call_back(browser, attempt))

    fresh = await browser.http.get(f"/auth/oauth/{provider}/start")
    assert fresh.status_code == 302
    fresh_state = parse_qs(urlsplit(fresh.headers["location"]).query)["state"][0]
    query = urlencode({"state": fresh_state, "code": attempt.code})
    where = landing(await browser.http.get(f"/auth/oauth/{provider}/callback?{query}"))

    assert refusal(where) == "oauth/code-rejected"


@BOTH
@pytest.mark.parametrize("next_path", ["//evil.example", "https://evil.example", "/\\evil.example"])
async def test_a_next_that_leaves_our_origin_becomes_the_root(
    browser: Listener, providers: Providers, provider: str, hint: str, next_path: str
) -> None:
    attempt = await begin(browser, providers, provider, hint, next_path=next_path)
    where = await call_back(browser, attempt)

    login_code(where)
    assert where.params["next"] == "/"


@pytest.mark.parametrize("step", ["start", "callback"])
async def test_an_unknown_provider_is_a_404_problem(browser: Listener, step: str) -> None:
    response = await browser.http.get(
        f"/auth/oauth/myspace/{step}", params={"state": "s", "code": "c"}
    )

    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("oauth/unknown-provider")
    assert "set-cookie" not in response.headers


@BOTH
async def test_a_denied_authorization_sends_the_browser_to_login_with_an_error(
    browser: Listener, providers: Providers, provider: str, hint: str
) -> None:
    attempt = await begin(browser, providers, provider, "nobody-by-that-name")
    assert attempt.error == "access_denied"
    assert attempt.code is None

    assert refusal(await call_back(browser, attempt)) == "oauth/access-denied"


@pytest.mark.parametrize(("provider", "hint"), [("google", "dave"), ("github", "hubot")])
async def test_a_disabled_account_cannot_sign_in_or_redeem_a_login_code(
    browser: Listener,
    providers: Providers,
    users_database: ScratchDatabase,
    provider: str,
    hint: str,
) -> None:
    user = await me(browser, await signed_in(browser, providers, provider, hint))
    pending = login_code(await call_back(browser, await begin(browser, providers, provider, hint)))
    admin_email = unique_email()
    await browser.signed_up(admin_email)
    await make_admin(users_database, admin_email)
    admin = await browser.logged_in(admin_email)
    disabled = await browser.http.post(f"/admin/users/{user['id']}/disable", headers=admin.headers)
    assert disabled.status_code == 200, disabled.text

    attempt = await begin(browser, providers, provider, hint)
    assert refusal(await call_back(browser, attempt)) == "auth/account-disabled"
    redeemed = await exchange(browser, pending)
    assert redeemed.status_code == 403, redeemed.text
    assert redeemed.json()["type"].endswith("auth/account-disabled")
