"""Sign-in with Google (OpenID Connect): discovery, the code exchange and the ID token check.

The provider's metadata and signing keys are fetched once and kept; an unknown key id
fetches the keys again, since Google rotates them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from spotilike.users.oauth.errors import OAuthError, provider_unavailable
from spotilike.users.oauth.identity import ExternalIdentity
from spotilike.users.oauth.provider_http import ProviderHttp
from spotilike.users.settings import UsersSettings

__all__ = ["GOOGLE_SCOPE", "GoogleSignIn"]

GOOGLE_SCOPE = "openid email profile"
_ID_TOKEN_ALGORITHMS = ["RS256"]
_CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class _OpenIdMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class GoogleSignIn:
    """Google's endpoints for the authorization URL, and its side of a callback."""

    def __init__(
        self, settings: UsersSettings, http: ProviderHttp, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self._metadata: _OpenIdMetadata | None = None
        self._keys: KeySet | None = None

    async def authorization_endpoint(self) -> str:
        return (await self._openid_metadata()).authorization_endpoint

    async def finish(
        self, *, code: str, code_verifier: str, nonce: str, redirect_uri: str
    ) -> ExternalIdentity:
        metadata = await self._openid_metadata()
        token = await self._http.exchange_code(
            "google",
            metadata.token_endpoint,
            redirect_uri=redirect_uri,
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
                token = jwt.decode(id_token, await self._jwks(), algorithms=_ID_TOKEN_ALGORITHMS)
            except InvalidKeyIdError:
                # A key we have not seen: the provider may have rotated since we fetched.
                keys = await self._jwks(refresh=True)
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

    async def _openid_metadata(self) -> _OpenIdMetadata:
        if self._metadata is None:
            url = self._settings.google_metadata_url
            document = await self._http.get_json("google", url)
            if not isinstance(document, dict):
                raise provider_unavailable("google")
            names = [field.name for field in fields(_OpenIdMetadata)]
            values = {name: document[name] for name in names if isinstance(document.get(name), str)}
            if len(values) != len(names):
                raise provider_unavailable("google")
            metadata = _OpenIdMetadata(**values)
            # OpenID Connect Discovery: the document must name the issuer it was fetched from.
            if url != metadata.issuer.rstrip("/") + "/.well-known/openid-configuration":
                raise provider_unavailable("google")
            self._metadata = metadata
        return self._metadata

    async def _jwks(self, *, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            metadata = await self._openid_metadata()
            document = await self._http.get_json("google", metadata.jwks_uri)
            try:
                self._keys = KeySet.import_key_set(document)
            except (JoseError, TypeError, ValueError, KeyError) as error:
                raise provider_unavailable("google") from error
        return self._keys
