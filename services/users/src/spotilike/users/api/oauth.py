"""Signing in through Google (OpenID Connect) and GitHub (OAuth 2.0)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Query, Response
from fastapi.responses import RedirectResponse

from spotilike.kit.errors import NotFound
from spotilike.users.api.deps import Client, RuntimeDep
from spotilike.users.schemas import OAuthExchange, TokenPair
from spotilike.users.service import oauth_login

__all__ = ["BINDING_COOKIE", "router"]

router = APIRouter(prefix="/auth/oauth", tags=["oauth"])

BINDING_COOKIE = "spotilike_oauth"
_Param = Annotated[str | None, Query(max_length=2048)]


def _known(runtime: RuntimeDep, provider: str) -> None:
    if provider not in runtime.oauth.providers:
        raise NotFound(
            f"no sign-in provider {provider!r}; known: {', '.join(runtime.oauth.providers)}",
            code="oauth/unknown-provider",
        )


@router.get("/{provider}/start", summary="Send the browser to the provider's sign-in page")
async def start(
    provider: str,
    runtime: RuntimeDep,
    next: Annotated[str | None, Query(max_length=512)] = None,
) -> RedirectResponse:
    _known(runtime, provider)
    began = await runtime.oauth.start(provider, next_path=next)
    response = RedirectResponse(began.url, status_code=302)
    response.set_cookie(
        BINDING_COOKIE,
        began.binding,
        max_age=runtime.settings.oauth_state_ttl_seconds,
        httponly=True,
        secure=runtime.settings.oauth_redirect_base_url.startswith("https://"),
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/{provider}/callback", summary="Where the provider sends the browser back")
async def callback(
    provider: str,
    *,
    runtime: RuntimeDep,
    state: _Param = None,
    code: _Param = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    binding: Annotated[str | None, Cookie(alias=BINDING_COOKIE, max_length=256)] = None,
) -> RedirectResponse:
    _known(runtime, provider)
    web = runtime.settings.web_url.rstrip("/")
    if error or not state or not code:
        target = web + "/login?" + urlencode({"error": "oauth/code-rejected"})
    else:
        target = await oauth_login.complete_login(
            runtime, provider=provider, state=state, code=code, binding=binding
        )
    response = RedirectResponse(target, status_code=302)
    response.delete_cookie(BINDING_COOKIE)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/exchange", summary="Trade the one-time login code for tokens")
async def exchange(
    request: OAuthExchange, runtime: RuntimeDep, client: Client, response: Response
) -> TokenPair:
    response.headers["Cache-Control"] = "no-store"
    return await oauth_login.exchange_login_code(runtime, code=request.code, client=client)
