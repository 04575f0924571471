"""The unsubscribe link from emails: GET from a browser, POST from a mail client (RFC 8058)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from spotilike.notifications.api.deps import RuntimeDep
from spotilike.notifications.api.problems import UNSUBSCRIBE
from spotilike.notifications.service import unsubscribe as unsubscribing

__all__ = ["router"]

router = APIRouter(prefix="/notifications", tags=["unsubscribe"])

Token = Annotated[str, Query(min_length=1, max_length=128)]


@router.get(
    "/unsubscribe",
    summary="Stop non-transactional emails (the link in the email)",
    response_class=HTMLResponse,
    responses=UNSUBSCRIBE,
)
async def unsubscribe_page(token: Token, runtime: RuntimeDep) -> HTMLResponse:
    page = await unsubscribing.unsubscribe(runtime, token=token)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.post(
    "/unsubscribe",
    summary="One-click unsubscribe (List-Unsubscribe-Post)",
    response_class=HTMLResponse,
    responses=UNSUBSCRIBE,
)
async def unsubscribe_one_click(token: Token, runtime: RuntimeDep) -> HTMLResponse:
    page = await unsubscribing.unsubscribe(runtime, token=token)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
