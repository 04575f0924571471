"""Sign-up, sign-in, tokens, sign-out and the emailed-link flows."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from spotilike.kit.auth import CurrentPrincipal
from spotilike.kit.db import WriteSession
from spotilike.users.api.deps import Client, RuntimeDep
from spotilike.users.api.problems import problem_responses
from spotilike.users.api.views import user_view
from spotilike.users.schemas import (
    EmailVerification,
    FormToken,
    Login,
    PasswordForgotten,
    PasswordReset,
    Refresh,
    Registered,
    Registration,
    TokenPair,
)
from spotilike.users.service import accounts, sessions, verification

__all__ = ["router"]

router = APIRouter(
    prefix="/auth", tags=["auth"], responses=problem_responses(400, 401, 403, 409, 413, 422, 429)
)


@router.get("/form-token", summary="A token that dates when a sign-up or sign-in form was shown")
async def form_token(runtime: RuntimeDep, response: Response) -> FormToken:
    response.headers["Cache-Control"] = "no-store"
    return FormToken(form_token=runtime.form_tokens.issue())


@router.post("/register", status_code=status.HTTP_201_CREATED, summary="Create an account")
async def register(
    request: Registration, runtime: RuntimeDep, client: Client, response: Response
) -> Registered:
    registered = await accounts.register(runtime, request=request, client=client)
    response.headers["Cache-Control"] = "no-store"
    return Registered(user=user_view(registered.user), tokens=registered.tokens)


@router.post("/login", summary="Sign in with email and password")
async def login(
    request: Login, runtime: RuntimeDep, client: Client, response: Response
) -> TokenPair:
    response.headers["Cache-Control"] = "no-store"
    return await accounts.login(
        runtime,
        email=request.email,
        password=request.password,
        client=client,
        honeypot=request.website,
        form_token=request.form_token,
    )


@router.post("/refresh", summary="Trade a refresh token for a new token pair")
async def refresh(request: Refresh, runtime: RuntimeDep, response: Response) -> TokenPair:
    response.headers["Cache-Control"] = "no-store"
    return await sessions.refresh(runtime, refresh_token=request.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out this session")
async def logout(principal: CurrentPrincipal, runtime: RuntimeDep, session: WriteSession) -> None:
    await accounts.logout(runtime, session, principal=principal)


@router.post(
    "/password/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Email a password reset link, if the account exists",
)
async def forgot_password(
    request: PasswordForgotten, runtime: RuntimeDep, client: Client
) -> dict[str, str]:
    await verification.forgot_password(runtime, email=request.email, client=client)
    return {"status": "if an account uses this email, a reset link is on its way"}


@router.post(
    "/password/reset",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with an emailed token; signs out every session",
)
async def reset_password(
    request: PasswordReset, runtime: RuntimeDep, session: WriteSession
) -> None:
    await verification.reset_password(
        runtime, session, token=request.token, password=request.password
    )


@router.post(
    "/email/verify", status_code=status.HTTP_204_NO_CONTENT, summary="Confirm the email address"
)
async def verify_email(
    request: EmailVerification, runtime: RuntimeDep, session: WriteSession
) -> None:
    await verification.verify_email(runtime, session, token=request.token)
