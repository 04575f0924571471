"""Real OAuth providers for the users service's tests, and a stand-in for the browser.

Session-scoped fixtures (import them into a conftest or a test module):

- ``oidc_provider`` -> :class:`OidcProvider`: a real OpenID provider (the npm package
  ``oidc-provider``, ``oidc/server.mjs``) on a free loopback port, standing in for Google.
  Its ``node_modules`` is installed with ``npm ci`` on first use when missing; a machine
  without ``node``/``npm`` fails the fixture with a message saying so.
- ``github_provider`` -> :class:`GitHubProvider`: the GitHub-shaped server in ``github.py``.

Each has the URLs, the client id/secret, the ``redirect_uri`` registered with it and its
test ``accounts`` (:class:`ProviderAccount`, by hint: what the provider must report for
each). Both register the callbacks under :data:`OAUTH_REDIRECT_BASE_URL`; build settings that
point at both with :func:`oauth_settings` (or pass :func:`oauth_settings_fields` as overrides).

In place of a browser, :func:`follow_authorization` takes an authorization URL (with the
account picked by ``provider.with_login(url, hint)``), follows the provider's redirects and
returns the ``code`` and ``state`` the provider sends back to our callback, which it does
not request.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from spotilike.users.settings import UsersSettings

__all__ = [
    "OAUTH_REDIRECT_BASE_URL",
    "GitHubProvider",
    "OidcProvider",
    "ProviderAccount",
    "ProviderCallback",
    "follow_authorization",
    "github_provider",
    "oauth_settings",
    "oauth_settings_fields",
    "oidc_provider",
]

OAUTH_REDIRECT_BASE_URL = "http://127.0.0.1:8101"
"""The providers only accept callbacks under this base; nothing needs to listen there."""

_HERE = Path(__file__).parent
_OIDC_DIR = _HERE / "oidc"
_READY_TIMEOUT_SECONDS = 30.0
_NPM_CI_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class ProviderAccount:
    hint: str
    """What picks the account: ``login_hint`` for the OpenID provider, ``login`` for GitHub."""
    subject: str
    email: str | None
    email_verified: bool
    display_name: str | None


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    metadata_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    accounts: Mapping[str, ProviderAccount]

    def with_login(self, authorization_url: str, hint: str) -> str:
        return _add_query(authorization_url, login_hint=hint)

    def settings_fields(self) -> dict[str, Any]:
        return {
            "google_client_id": self.client_id,
            "google_client_secret": SecretStr(self.client_secret),
            "google_metadata_url": self.metadata_url,
        }


@dataclass(frozen=True)
class GitHubProvider:
    base_url: str
    authorize_url: str
    token_url: str
    api_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    accounts: Mapping[str, ProviderAccount]

    def with_login(self, authorization_url: str, hint: str) -> str:
        return _add_query(authorization_url, login=hint)

    def settings_fields(self) -> dict[str, Any]:
        return {
            "github_client_id": self.client_id,
            "github_client_secret": SecretStr(self.client_secret),
            "github_authorize_url": self.authorize_url,
            "github_token_url": self.token_url,
            "github_api_url": self.api_url,
        }


@dataclass(frozen=True)
class ProviderCallback:
    """What the provider put on the redirect to our callback."""

    url: str
    code: str | None
    state: str | None
    error: str | None


_OIDC_ACCOUNTS = (
    ProviderAccount(
        hint="alice",
        subject="oidc-alice-0001",
        email="alice@example.com",
        email_verified=True,
        display_name="Alice Example",
    ),
    ProviderAccount(
        hint="bob",
        subject="oidc-bob-0002",
        email="bob@example.com",
        email_verified=False,
        display_name="Bob Unverified",
    ),
    ProviderAccount(
        hint="carol",
        subject="oidc-carol-0003",
        email="carol@example.com",
        email_verified=True,
        display_name="Carol Example",
    ),
    ProviderAccount(
        hint="dave",
        subject="oidc-dave-0004",
        email="dave@example.com",
        email_verified=True,
        display_name="Dave Example",
    ),
    ProviderAccount(
        hint="erin",
        subject="oidc-erin-0005",
        email="erin@example.com",
        email_verified=True,
        display_name="Erin Example",
    ),
)

_GITHUB_USERS: dict[str, dict[str, Any]] = {
    "octocat": {
        "id": 583231,
        "name": "The Octocat",
        "emails": [
            {"email": "octo-old@example.net", "primary": False, "verified": False},
            {"email": "octocat@example.com", "primary": True, "verified": True},
        ],
    },
    "newbie": {
        "id": 700001,
        "name": None,
        "emails": [
            {"email": "newbie@example.com", "primary": True, "verified": False},
            {"email": "newbie-work@example.org", "primary": False, "verified": True},
        ],
    },
    "mona": {
        "id": 700002,
        "name": "Mona Lisa",
        "emails": [{"email": "mona@example.com", "primary": True, "verified": True}],
    },
    "hubot": {
        "id": 700003,
        "name": "Hubot",
        "emails": [{"email": "hubot@example.com", "primary": True, "verified": True}],
    },
    "grace": {
        "id": 700004,
        "name": "Grace Hopper",
        "emails": [{"email": "grace@example.com", "primary": True, "verified": True}],
    },
}
_GITHUB_ACCOUNTS = (
    ProviderAccount(
        hint="octocat",
        subject="583231",
        email="octocat@example.com",
        email_verified=True,
        display_name="The Octocat",
    ),
    # Only the primary address counts: the verified secondary one vouches for nothing.
    ProviderAccount(
        hint="newbie",
        subject="700001",
        email="newbie@example.com",
        email_verified=False,
        display_name="newbie",
    ),
    ProviderAccount(
        hint="mona",
        subject="700002",
        email="mona@example.com",
        email_verified=True,
        display_name="Mona Lisa",
    ),
    ProviderAccount(
        hint="hubot",
        subject="700003",
        email="hubot@example.com",
        email_verified=True,
        display_name="Hubot",
    ),
    ProviderAccount(
        hint="grace",
        subject="700004",
        email="grace@example.com",
        email_verified=True,
        display_name="Grace Hopper",
    ),
)


def oauth_settings_fields(oidc: OidcProvider, github: GitHubProvider) -> dict[str, Any]:
    """The :class:`UsersSettings` fields that point Google and GitHub at the test providers."""
    return {
        "oauth_redirect_base_url": OAUTH_REDIRECT_BASE_URL,
        **oidc.settings_fields(),
        **github.settings_fields(),
    }


def oauth_settings(oidc: OidcProvider, github: GitHubProvider, **overrides: Any) -> UsersSettings:
    """Users settings whose Google and GitHub are the two test providers."""
    return UsersSettings(**{**oauth_settings_fields(oidc, github), **overrides})


async def follow_authorization(authorization_url: str, *, callback_url: str) -> ProviderCallback:
    """Does what a browser would, up to (not including) the request to ``callback_url``."""
    url = authorization_url
    async with httpx.AsyncClient(follow_redirects=False, timeout=10.0) as browser:
        for _ in range(10):
            response = await browser.get(url)
            if not response.is_redirect:
                raise AssertionError(
                    f"the provider stopped at {url} with {response.status_code}: "
                    f"{response.text[:300]}"
                )
            url = urljoin(url, response.headers["location"])
            if url.startswith(callback_url):
                query = parse_qs(urlsplit(url).query)
                return ProviderCallback(
                    url=url,
                    code=query.get("code", [None])[0],
                    state=query.get("state", [None])[0],
                    error=query.get("error", [None])[0],
                )
    raise AssertionError(f"the provider never redirected to {callback_url}")


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(
            "the OAuth tests run a real OpenID provider on Node.js, but `node` or `npm` is not "
            "on PATH: install Node.js 20.19+ with npm",
            pytrace=False,
        )
    _install_node_modules(npm)
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    provider = OidcProvider(
        issuer=issuer,
        metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_id="spotilike-test-google",
        client_secret="test-google-secret-" + os.urandom(8).hex(),
        redirect_uri=f"{OAUTH_REDIRECT_BASE_URL}/auth/oauth/google/callback",
        accounts={account.hint: account for account in _OIDC_ACCOUNTS},
    )
    accounts = {
        a.hint: {
            "sub": a.subject,
            "email": a.email,
            "email_verified": a.email_verified,
            "name": a.display_name,
        }
        for a in _OIDC_ACCOUNTS
    }
    env = {
        "OIDC_CLIENT_ID": provider.client_id,
        "OIDC_CLIENT_SECRET": provider.client_secret,
        "OIDC_REDIRECT_URIS": provider.redirect_uri,
        "OIDC_ACCOUNTS": json.dumps(accounts),
    }
    with _running([node, "server.mjs", str(port)], cwd=_OIDC_DIR, env=env) as server:
        _wait_until_ready(server, provider.metadata_url, expected_status=200)
        yield provider


@pytest.fixture(scope="session")
def github_provider() -> Iterator[GitHubProvider]:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    provider = GitHubProvider(
        base_url=base_url,
        authorize_url=f"{base_url}/login/oauth/authorize",
        token_url=f"{base_url}/login/oauth/access_token",
        api_url=base_url,
        client_id="spotilike-test-github",
        client_secret="test-github-secret-" + os.urandom(8).hex(),
        redirect_uri=f"{OAUTH_REDIRECT_BASE_URL}/auth/oauth/github/callback",
        accounts={account.hint: account for account in _GITHUB_ACCOUNTS},
    )
    env = {
        "GITHUB_CLIENT_ID": provider.client_id,
        "GITHUB_CLIENT_SECRET": provider.client_secret,
        "GITHUB_REDIRECT_URI": provider.redirect_uri,
        "GITHUB_ACCOUNTS": json.dumps(_GITHUB_USERS),
    }
    command = [sys.executable, str(_HERE / "github.py"), str(port)]
    with _running(command, cwd=_HERE, env=env) as server:
        _wait_until_ready(server, f"{base_url}/user", expected_status=401)
        yield provider


def _add_query(url: str, **params: str) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _install_node_modules(npm: str) -> None:
    if (_OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    # npm ci installs exactly what package-lock.json pins: a clean clone gets the same tree.
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=_OIDC_DIR,
        capture_output=True,
        text=True,
        timeout=_NPM_CI_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`npm ci` in {_OIDC_DIR} failed ({result.returncode}):\n{result.stderr[-2000:]}",
            pytrace=False,
        )


@dataclass
class _Server:
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]


@contextmanager
def _running(command: list[str], *, cwd: Path, env: Mapping[str, str]) -> Iterator[_Server]:
    """Runs ``command`` with its output in a temporary file; stops it on the way out."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield _Server(process=process, log=log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(server: _Server, url: str, *, expected_status: int) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"{server.process.args!r} exited with {server.process.returncode}:\n"
                f"{server.output()}",
                pytrace=False,
            )
        try:
            if httpx.get(url, timeout=1.0).status_code == expected_status:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"{url} was not ready in {_READY_TIMEOUT_SECONDS}s:\n{server.output()}")
