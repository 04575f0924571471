"""Starting a sign-in and finishing it: the authorization URL, and the attempt kept in Valkey.

The attempt is stored under a hash of its ``state`` and consumed exactly once; the provider
modules do the exchange.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from redis.asyncio import Redis

from spotilike.users.oauth.errors import OAuthError
from spotilike.users.oauth.github import GITHUB_SCOPE, GitHubSignIn
from spotilike.users.oauth.google import GOOGLE_SCOPE, GoogleSignIn
from spotilike.users.oauth.identity import ExternalIdentity
from spotilike.users.oauth.next_path import safe_next_path
from spotilike.users.oauth.provider_http import ProviderHttp
from spotilike.users.settings import UsersSettings

__all__ = ["AuthorizationStart", "OAuthFlows"]

_STATE_PREFIX = "users:oauth:state:"


@dataclass(frozen=True)
class AuthorizationStart:
    url: str
    """Where to send the browser."""
    state: str
    binding: str
    """Goes into an HttpOnly cookie; :meth:`OAuthFlows.finish` wants it back."""


def _binding_hash(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


def _state_key(state: str) -> str:
    # Hashed: keys of a bounded length whatever a caller sends as state.
    return _STATE_PREFIX + hashlib.sha256(state.encode()).hexdigest()


class OAuthFlows:
    """The Google and GitHub sign-in flows. One instance per process; call :meth:`aclose`."""

    providers: tuple[str, ...] = ("google", "github")

    def __init__(
        self, settings: UsersSettings, redis: Redis, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._redis = redis
        self._http = ProviderHttp(timeout_seconds=settings.oauth_provider_timeout_seconds)
        self._google = GoogleSignIn(settings, self._http, clock=clock)
        self._github = GitHubSignIn(settings, self._http)

    async def aclose(self) -> None:
        await self._http.aclose()

    def redirect_uri(self, provider: str) -> str:
        return f"{self._settings.oauth_redirect_base_url}/auth/oauth/{provider}/callback"

    async def start(self, provider: str, *, next_path: str | None) -> AuthorizationStart:
        self._check_provider(provider)
        state = secrets.token_urlsafe(32)
        binding = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        code_verifier = secrets.token_urlsafe(48)
        params: dict[str, str] = {
            "code_challenge": create_s256_code_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
        if provider == "google":
            endpoint, client_id, scope = (
                await self._google.authorization_endpoint(),
                self._settings.google_client_id,
                GOOGLE_SCOPE,
            )
            params["nonce"] = nonce
        else:
            endpoint, client_id, scope = (
                self._settings.github_authorize_url,
                self._settings.github_client_id,
                GITHUB_SCOPE,
            )
        url = prepare_grant_uri(
            endpoint,
            client_id=client_id,
            response_type="code",
            redirect_uri=self.redirect_uri(provider),
            scope=scope,
            state=state,
            **params,
        )
        record = {
            "provider": provider,
            "code_verifier": code_verifier,
            "nonce": nonce,
            "next": safe_next_path(next_path),
            "binding": _binding_hash(binding),
        }
        await self._redis.set(
            _state_key(state),
            json.dumps(record),
            ex=self._settings.oauth_state_ttl_seconds,
        )
        return AuthorizationStart(url=str(url), state=state, binding=binding)

    async def finish(
        self, provider: str, *, state: str, code: str, binding: str | None
    ) -> tuple[ExternalIdentity, str]:
        """Checks the callback and exchanges ``code``; returns the identity and the next path.

        The stored attempt is consumed before anything else is checked, so a state can be
        tried once, by anyone: a failed check burns it.
        """
        self._check_provider(provider)
        raw = await self._redis.getdel(_state_key(state))
        if raw is None:
            raise OAuthError("oauth/state-mismatch", "this sign-in attempt is unknown or expired")
        record = json.loads(raw)
        if (
            record["provider"] != provider
            or binding is None
            or not hmac.compare_digest(record["binding"], _binding_hash(binding))
        ):
            raise OAuthError("oauth/state-mismatch", "this sign-in attempt does not match")
        redirect_uri = self.redirect_uri(provider)
        if provider == "google":
            identity = await self._google.finish(
                code=code,
                code_verifier=record["code_verifier"],
                nonce=record["nonce"],
                redirect_uri=redirect_uri,
            )
        else:
            identity = await self._github.finish(
                code=code, code_verifier=record["code_verifier"], redirect_uri=redirect_uri
            )
        return identity, safe_next_path(record["next"])

    def _check_provider(self, provider: str) -> None:
        if provider not in self.providers:
            raise OAuthError("oauth/unknown-provider", "sign-in with that provider is not offered")
