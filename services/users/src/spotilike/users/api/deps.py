"""Request-scoped dependencies of the users API."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from spotilike.kit.app import state_dependency
from spotilike.kit.auth import CurrentPrincipal, Principal, require_role
from spotilike.kit.errors import Unauthorized
from spotilike.users.service.runtime import Runtime
from spotilike.users.service.sessions import ClientInfo

__all__ = ["AdminPrincipal", "Client", "RuntimeDep", "UserId"]

_MAX_HEADER = 512


def _bounded(value: str | None) -> str | None:
    return value[:_MAX_HEADER] if value else None


def _client(request: Request) -> ClientInfo:
    # request.client is the peer uvicorn resolved: it honours X-Forwarded-For only from
    # the proxies in --forwarded-allow-ips (the gateway), never from anyone else.
    ip = request.client.host if request.client else "0.0.0.0"  # noqa: S104 - unknown peer
    return ClientInfo(
        ip=ip,
        user_agent=_bounded(request.headers.get("user-agent")),
        accept_language=_bounded(request.headers.get("accept-language")),
        fingerprint=_bounded(request.headers.get("x-device-fingerprint")),
    )


def _user_id(principal: CurrentPrincipal) -> UUID:
    try:
        return UUID(principal.subject)
    except ValueError:
        raise Unauthorized("the token's subject is not a user", code="auth/invalid-token") from None


RuntimeDep = Annotated[Runtime, Depends(state_dependency("runtime", Runtime))]
Client = Annotated[ClientInfo, Depends(_client)]
UserId = Annotated[UUID, Depends(_user_id)]
AdminPrincipal = Annotated[Principal, Depends(require_role("ADMIN"))]
