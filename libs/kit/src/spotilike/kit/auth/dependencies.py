"""FastAPI dependencies that authenticate a request with its bearer access token.

The dependencies find the verifier on ``app.state.token_verifier``, which the service's
lifespan sets once it has built a :class:`TokenVerifier` from its settings. That lets
routers declare ``principal: CurrentPrincipal`` at import time, before any settings or
Valkey client exist, and lets tests swap the verifier (or override ``current_principal``)
per app. A factory closing over a verifier would force every router module to reach the
composition root at import time instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from spotilike.kit.auth.principal import Principal
from spotilike.kit.auth.verifier import TokenVerifier
from spotilike.kit.errors import Forbidden, Unauthorized

__all__ = [
    "BearerToken",
    "CurrentPrincipal",
    "OptionalPrincipal",
    "bearer_token",
    "current_principal",
    "optional_principal",
    "require_role",
    "token_verifier",
]

_bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="An RS256 access token (typ at+jwt) issued by the users service.",
)


async def bearer_token(
    connection: HTTPConnection,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_scheme)],
) -> str | None:
    """The token from ``Authorization: Bearer <token>``, or None when there is no header.

    A header that is present but not a single bearer token is an error, not an anonymous
    request: a client that meant to authenticate should hear that it failed.
    """
    if credentials is None:
        if "authorization" in connection.headers:
            raise _malformed_header()
        return None
    token = credentials.credentials
    if any(character.isspace() for character in token):
        raise _malformed_header()
    return token


def _malformed_header() -> Unauthorized:
    return Unauthorized(
        "The Authorization header must be 'Bearer <token>'.",
        code="auth/malformed-token",
        headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
    )


BearerToken = Annotated[str | None, Depends(bearer_token)]


def token_verifier(connection: HTTPConnection) -> TokenVerifier:
    verifier = getattr(connection.app.state, "token_verifier", None)
    if verifier is None:
        raise RuntimeError(
            "app.state.token_verifier is not set: build a TokenVerifier in the app's lifespan "
            "and assign it there before serving authenticated routes"
        )
    if not isinstance(verifier, TokenVerifier):
        raise TypeError(
            f"app.state.token_verifier must be a TokenVerifier, not {type(verifier).__name__}"
        )
    return verifier


async def optional_principal(
    connection: HTTPConnection,
    token: BearerToken,
    verifier: Annotated[TokenVerifier, Depends(token_verifier)],
) -> Principal | None:
    """The caller, or None for a request without an Authorization header.

    A token that is sent but invalid is still rejected with 401. The verified caller is
    also kept on ``request.state.principal``, where read-your-writes routing
    (:func:`spotilike.kit.db.caller_key`) finds the subject when a route declares its
    principal before its read session.
    """
    if token is None:
        return None
    principal = await verifier.verify(token)
    connection.state.principal = principal
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def current_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise Unauthorized(
            "This endpoint needs an access token in 'Authorization: Bearer <token>'.",
            code="auth/missing-token",
            # RFC 6750 §3.1: no error code when the request carried no credentials at all.
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency giving the caller if they hold ``role``, 403 otherwise.

    Use it as ``Annotated[Principal, Depends(require_role("ARTIST"))]`` or in a route's
    ``dependencies=[...]``.
    """

    async def principal_with_role(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(role):
            raise Forbidden(
                f"This action needs the {role} role.",
                code="auth/missing-role",
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            )
        return principal

    principal_with_role.__name__ = f"require_role_{role.lower()}"
    return principal_with_role
