"""Signing in through Google (OpenID Connect) and GitHub (OAuth 2.0)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from spotilike.kit.errors import NotFound, Problem
from spotilike.users.api.deps import Client, RuntimeDep
from spotilike.users.api.problems import problem_responses
from spotilike.users.oauth import OAuthError
from spotilike.users.schemas import OAuthExchange, TokenPair
from spotilike.users.service import oauth_login

__all__ = ["BINDING_COOKIE", "router"]

router = APIRouter(
    prefix="/auth/oauth", tags=["oauth"], responses=problem_responses(400, 401, 403, 404, 413, 422)
)

BINDING_COOKIE = "spotilike_oauth"
"""Followed by ``_<provider>``: one flow per provider at a time, so starting GitHub in one
tab does not break a Google sign-in in another."""


def _cookie(provider: str) -> str:
    return f"{BINDING_COOKIE}_{provider}"


_Param = Annotated[str | None, Query(max_length=2048)]


def _known(runtime: RuntimeDep, provider: str) -> None:
    if provider not in runtime.oauth.providers:
        raise NotFound(
            f"no sign-in provider {provider!r}; known: {', '.join(runtime.oauth.providers)}",
            code="oauth/unknown-provider",
        )


_REDIRECT: dict[int | str, dict[str, Any]] = {
    302: {
        "description": "Where the browser goes next.",
        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
    }
}


@router.get(
    "/{provider}/start",
    summary="Send the browser to the provider's sign-in page",
    responses=_REDIRECT,
)
async def start(
    provider: str,
    runtime: RuntimeDep,
    next: Annotated[str | None, Query(max_length=512)] = None,
) -> RedirectResponse:
    _known(runtime, provider)
    try:
        began = await runtime.oauth.start(provider, next_path=next)
    except OAuthError as error:
        raise Problem(
            f"{provider} sign-in is unavailable right now; try again or use a password",
            status=503,
            code=error.code,
            headers={"Retry-After": "30"},
        ) from None
    response = RedirectResponse(began.url, status_code=302)
    response.set_cookie(
        _cookie(provider),
        began.binding,
        max_age=runtime.settings.oauth_state_ttl_seconds,
        httponly=True,
        secure=runtime.settings.oauth_redirect_base_url.startswith("https://"),
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(
    "/{provider}/callback",
    summary="Where the provider sends the browser back",
    responses=_REDIRECT,
)
async def callback(
    provider: str,
    *,
    runtime: RuntimeDep,
    state: _Param = None,
    code: _Param = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    request: Request,
) -> RedirectResponse:
    _known(runtime, provider)
    binding = request.cookies.get(_cookie(provider))
    if binding is not None and len(binding) > 256:
        binding = None
    web = runtime.settings.web_url.rstrip("/")
    if error == "access_denied":
        target = web + "/login?" + urlencode({"error": "oauth/access-denied"})
    elif error or not state or not code:
        target = web + "/login?" + urlencode({"error": "oauth/code-rejected"})
    else:
        target = await oauth_login.complete_login(
            runtime, provider=provider, state=state, code=code, binding=binding
        )
    response = RedirectResponse(target, status_code=302)
    response.delete_cookie(_cookie(provider))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/exchange", summary="Trade the one-time login code for tokens")
async def exchange(
    request: OAuthExchange, runtime: RuntimeDep, client: Client, response: Response
) -> TokenPair:
    response.headers["Cache-Control"] = "no-store"
    return await oauth_login.exchange_login_code(runtime, code=request.code, client=client)
