"""The verifier a service builds from its settings."""

from __future__ import annotations

from redis.asyncio import Redis

from spotilike.kit.auth.denylist import TokenDenylist
from spotilike.kit.auth.keys import JwksCache, http_jwks_fetcher
from spotilike.kit.auth.verifier import TokenVerifier
from spotilike.kit.settings import ServiceSettings

__all__ = ["verifier_from_settings"]


def verifier_from_settings(settings: ServiceSettings, redis: Redis | None) -> TokenVerifier:
    """What every service but the users service uses: the users service's JWKS over HTTP,
    and the Valkey denylist when the service has Valkey."""
    return TokenVerifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        keys=JwksCache(http_jwks_fetcher(settings.jwks_url)),
        denylist=TokenDenylist(redis) if redis is not None else None,
    )
