"""Authentication for every Spotilike service: verified RS256 access tokens.

Wiring, in a service's lifespan::

    keys = JwksCache(http_jwks_fetcher(settings.jwks_url))
    app.state.token_verifier = TokenVerifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        keys=keys,
        denylist=TokenDenylist(redis),
    )

and in routers ``principal: CurrentPrincipal`` or
``Annotated[Principal, Depends(require_role("ARTIST"))]``.
"""

from spotilike.kit.auth.denylist import DENYLIST_KEY_PREFIX, TokenDenylist
from spotilike.kit.auth.dependencies import (
    BearerToken,
    CurrentPrincipal,
    OptionalPrincipal,
    bearer_token,
    current_principal,
    optional_principal,
    require_role,
    token_verifier,
)
from spotilike.kit.auth.factory import verifier_from_settings
from spotilike.kit.auth.keys import (
    DEFAULT_KEY_MAX_AGE_SECONDS,
    DEFAULT_REFETCH_COOLDOWN_SECONDS,
    JwksCache,
    JwksFetcher,
    JwksFetchError,
    http_jwks_fetcher,
)
from spotilike.kit.auth.principal import Principal
from spotilike.kit.auth.verifier import (
    ACCESS_TOKEN_TYPES,
    ALGORITHMS,
    MAX_LEEWAY_SECONDS,
    REQUIRED_CLAIMS,
    TokenVerifier,
)

__all__ = [
    "ACCESS_TOKEN_TYPES",
    "ALGORITHMS",
    "DEFAULT_KEY_MAX_AGE_SECONDS",
    "DEFAULT_REFETCH_COOLDOWN_SECONDS",
    "DENYLIST_KEY_PREFIX",
    "MAX_LEEWAY_SECONDS",
    "REQUIRED_CLAIMS",
    "BearerToken",
    "CurrentPrincipal",
    "JwksCache",
    "JwksFetchError",
    "JwksFetcher",
    "OptionalPrincipal",
    "Principal",
    "TokenDenylist",
    "TokenVerifier",
    "bearer_token",
    "current_principal",
    "http_jwks_fetcher",
    "optional_principal",
    "require_role",
    "token_verifier",
    "verifier_from_settings",
]
