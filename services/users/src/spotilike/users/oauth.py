"""Sign-in with Google (OpenID Connect) and GitHub (OAuth 2.0): the provider side of the flow.

:meth:`OAuthFlows.start` builds the provider's authorization URL and remembers the attempt
in Valkey under its ``state``; :meth:`OAuthFlows.finish` takes the provider's callback,
consumes that record exactly once, exchanges the code and returns who the provider says
the user is. Linking that identity to an account is the caller's business; an identity
whose ``email_verified`` is false must never be linked to an account by its email.

Both flows send ``state`` and a PKCE S256 challenge; Google's also sends a ``nonce`` and its
ID token is checked in full (RS256 signature against the provider's JWKS, ``iss``, ``aud``,
``azp``, ``exp``, ``iat``, ``nonce``). Each attempt is tied to the browser that started it by
``binding``: a random value the API keeps in an HttpOnly cookie, of which only a hash is
stored.

Authlib builds the protocol messages and joserfc (Authlib's own JOSE library) checks the ID
token. The HTTP calls go through a plain ``httpx.AsyncClient`` with a timeout on each,
because Authlib's ready-made httpx client warns on import that its httpx support is
deprecated in favour of the httpx2 package, which this project does not use.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from redis.asyncio import Redis

from spotilike.users.settings import UsersSettings

__all__ = [
    "AuthorizationStart",
    "ExternalIdentity",
    "OAuthError",
    "OAuthErrorCode",
    "OAuthFlows",
    "safe_next_path",
]

OAuthErrorCode = Literal[
    "oauth/unknown-provider",
    "oauth/state-mismatch",
    "oauth/code-rejected",
    "oauth/id-token-invalid",
    "oauth/provider-unavailable",
    "oauth/access-denied",
]

_STATE_PREFIX = "users:oauth:state:"
_GOOGLE_SCOPE = "openid email profile"
_GITHUB_SCOPE = "read:user user:email"
_ID_TOKEN_ALGORITHMS = ["RS256"]
_CLOCK_SKEW_SECONDS = 60
_NEXT_PATH_MAX_LENGTH = 2048
_NEXT_PATH_CHARACTERS = frozenset(string.ascii_letters + string.digits + string.punctuation)
"""Printable ASCII without space: browsers drop tabs and newlines from URLs, so
``/\\t/evil.example`` would become ``//evil.example``; anything else must be percent-encoded."""


class OAuthError(Exception):
    """A sign-in that cannot go on. The message is safe to show: it holds no secret."""

    def __init__(self, code: OAuthErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: OAuthErrorCode = code
        self.message = message


@dataclass(frozen=True)
class ExternalIdentity:
    provider: str
    subject: str
    """The provider's stable id of the user (``sub``; GitHub's numeric user id)."""
    email: str | None
    email_verified: bool
    display_name: str | None


@dataclass(frozen=True)
class AuthorizationStart:
    url: str
    """Where to send the browser."""
    state: str
    binding: str
    """Goes into an HttpOnly cookie; :meth:`OAuthFlows.finish` wants it back."""


@dataclass(frozen=True)
class _OpenIdMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def safe_next_path(value: str | None) -> str:
    """``value`` if it is a path on our own origin, else ``"/"``: no open redirect after login."""
    if not value or len(value) > _NEXT_PATH_MAX_LENGTH:
        return "/"
    if not value.startswith("/") or value.startswith("//"):
        return "/"
    # Browsers read a backslash as a slash: /\evil.example is scheme-relative to them.
    if not set(value) <= _NEXT_PATH_CHARACTERS or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def _binding_hash(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


def _state_key(state: str) -> str:
    # Hashed: keys of a bounded length whatever a caller sends as state.
    return _STATE_PREFIX + hashlib.sha256(state.encode()).hexdigest()


def _primary_email(emails: object) -> tuple[str | None, bool]:
    """GitHub's primary address and whether GitHub has verified it; other addresses are
    ignored, so a verified secondary address never vouches for an unverified primary."""
    if isinstance(emails, list):
        for entry in emails:
            if isinstance(entry, dict) and entry.get("primary") is True:
                address = entry.get("email")
                if isinstance(address, str):
                    return address, entry.get("verified") is True
    return None, False


def _unavailable(provider: str) -> OAuthError:
    return OAuthError("oauth/provider-unavailable", f"{provider} cannot be reached right now")


class OAuthFlows:
    """The Google and GitHub sign-in flows. One instance per process; call :meth:`aclose`."""

    providers: tuple[str, ...] = ("google", "github")

    def __init__(
        self, settings: UsersSettings, redis: Redis, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._redis = redis
        self._clock = clock
        self._http = httpx.AsyncClient(
            timeout=settings.oauth_provider_timeout_seconds, follow_redirects=False
        )
        self._google_metadata: _OpenIdMetadata | None = None
        self._google_keys: KeySet | None = None

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
            metadata = await self._google()
            endpoint, client_id, scope = (
                metadata.authorization_endpoint,
                self._settings.google_client_id,
                _GOOGLE_SCOPE,
            )
            params["nonce"] = nonce
        else:
            endpoint, client_id, scope = (
                self._settings.github_authorize_url,
                self._settings.github_client_id,
                _GITHUB_SCOPE,
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
        if provider == "google":
            identity = await self._finish_google(code, record["code_verifier"], record["nonce"])
        else:
            identity = await self._finish_github(code, record["code_verifier"])
        return identity, safe_next_path(record["next"])

    def _check_provider(self, provider: str) -> None:
        if provider not in self.providers:
            raise OAuthError("oauth/unknown-provider", "sign-in with that provider is not offered")

    async def _finish_google(self, code: str, code_verifier: str, nonce: str) -> ExternalIdentity:
        metadata = await self._google()
        token = await self._exchange_code(
            "google",
            metadata.token_endpoint,
            code=code,
            code_verifier=code_verifier,
            client_id=self._settings.google_client_id,
            client_secret=self._settings.google_client_secret.get_secret_value(),
        )
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OAuthError("oauth/id-token-invalid", "google sent no ID token")
        claims = await self._verified_id_token_claims(metadata, id_token, nonce)
        email = claims.get("email")
        name = claims.get("name")
        return ExternalIdentity(
            provider="google",
            subject=claims["sub"],
            email=email if isinstance(email, str) else None,
            email_verified=isinstance(email, str) and claims.get("email_verified") is True,
            display_name=name if isinstance(name, str) else None,
        )

    async def _verified_id_token_claims(
        self, metadata: _OpenIdMetadata, id_token: str, nonce: str
    ) -> dict[str, Any]:
        client_id = self._settings.google_client_id
        try:
            try:
                token = jwt.decode(
                    id_token, await self._google_jwks(), algorithms=_ID_TOKEN_ALGORITHMS
                )
            except InvalidKeyIdError:
                # A key we have not seen: the provider may have rotated since we fetched.
                keys = await self._google_jwks(refresh=True)
                token = jwt.decode(id_token, keys, algorithms=_ID_TOKEN_ALGORITHMS)
            issuers: list[str | int | bool] = [metadata.issuer]
            if metadata.issuer == "https://accounts.google.com":
                # Google documents both spellings of its issuer in ID tokens.
                issuers.append("accounts.google.com")
            registry = jwt.JWTClaimsRegistry(
                now=lambda: int(self._clock()),
                leeway=_CLOCK_SKEW_SECONDS,
                iss={"essential": True, "values": issuers},
                aud={"essential": True, "value": client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(token.claims)
        except JoseError as error:
            raise OAuthError(
                "oauth/id-token-invalid", "google's ID token did not verify"
            ) from error
        claims = token.claims
        audience = claims["aud"]
        azp = claims.get("azp")
        if (isinstance(audience, list) and len(audience) > 1 and azp is None) or (
            azp is not None and azp != client_id
        ):
            raise OAuthError("oauth/id-token-invalid", "google's ID token is for another client")
        return claims

    async def _finish_github(self, code: str, code_verifier: str) -> ExternalIdentity:
        token = await self._exchange_code(
            "github",
            self._settings.github_token_url,
            code=code,
            code_verifier=code_verifier,
            client_id=self._settings.github_client_id,
            client_secret=self._settings.github_client_secret.get_secret_value(),
        )
        access_token = token.get("access_token")
        if not isinstance(access_token, str):
            raise OAuthError("oauth/code-rejected", "github sent no access token")
        headers = {
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        api = self._settings.github_api_url.rstrip("/")
        user = await self._get_json("github", f"{api}/user", headers=headers)
        emails = await self._get_json("github", f"{api}/user/emails", headers=headers)
        if not isinstance(user, dict) or not isinstance(user.get("id"), int):
            raise _unavailable("github")
        email, email_verified = _primary_email(emails)
        name = user.get("name") or user.get("login")
        return ExternalIdentity(
            provider="github",
            subject=str(user["id"]),
            email=email,
            email_verified=email_verified,
            display_name=name if isinstance(name, str) else None,
        )

    async def _exchange_code(
        self,
        provider: str,
        token_url: str,
        *,
        code: str,
        code_verifier: str,
        client_id: str,
        client_secret: str,
    ) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri(provider),
            "code_verifier": code_verifier,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        try:
            response = await self._http.post(
                token_url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.TransportError as error:
            raise _unavailable(provider) from error
        if response.status_code >= 500:
            raise _unavailable(provider)
        try:
            body = response.json()
        except ValueError as error:
            raise _unavailable(provider) from error
        # GitHub answers a bad code with 200 and an "error" member; others with 400.
        if not isinstance(body, dict) or "error" in body or response.status_code != 200:
            raise OAuthError("oauth/code-rejected", f"{provider} did not accept the sign-in code")
        return body

    async def _get_json(
        self, provider: str, url: str, *, headers: dict[str, str] | None = None
    ) -> Any:
        try:
            response = await self._http.get(url, headers=headers)
        except httpx.TransportError as error:
            raise _unavailable(provider) from error
        if response.status_code in (401, 403):
            raise OAuthError("oauth/code-rejected", f"{provider} refused the access token")
        if response.status_code != 200:
            raise _unavailable(provider)
        try:
            return response.json()
        except ValueError as error:
            raise _unavailable(provider) from error

    async def _google(self) -> _OpenIdMetadata:
        if self._google_metadata is None:
            url = self._settings.google_metadata_url
            document = await self._get_json("google", url)
            if not isinstance(document, dict):
                raise _unavailable("google")
            names = [field.name for field in fields(_OpenIdMetadata)]
            values = {name: document[name] for name in names if isinstance(document.get(name), str)}
            if len(values) != len(names):
                raise _unavailable("google")
            metadata = _OpenIdMetadata(**values)
            # OpenID Connect Discovery: the document must name the issuer it was fetched from.
            if url != metadata.issuer.rstrip("/") + "/.well-known/openid-configuration":
                raise _unavailable("google")
            self._google_metadata = metadata
        return self._google_metadata

    async def _google_jwks(self, *, refresh: bool = False) -> KeySet:
        if self._google_keys is None or refresh:
            metadata = await self._google()
            document = await self._get_json("google", metadata.jwks_uri)
            try:
                self._google_keys = KeySet.import_key_set(document)
            except (JoseError, TypeError, ValueError, KeyError) as error:
                raise _unavailable("google") from error
        return self._google_keys
