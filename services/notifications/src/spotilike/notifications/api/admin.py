"""Admin routes over the email queue: list (dead ones above all) and retry."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from spotilike.kit.pagination import clamp_page_size
from spotilike.notifications.api.deps import Admin, RuntimeDep
from spotilike.notifications.api.problems import ADMIN_LIST, ADMIN_RETRY
from spotilike.notifications.models import EmailStatus
from spotilike.notifications.schemas import EmailPage, EmailView
from spotilike.notifications.service import admin

__all__ = ["router"]

router = APIRouter(prefix="/admin/emails", tags=["admin"])

MAX_PAGE = 200


@router.get("", summary="Emails, newest first (ADMIN)", responses=ADMIN_LIST)
async def list_emails(
    _admin: Admin,
    runtime: RuntimeDep,
    status: EmailStatus | None = None,
    # No control characters: PostgreSQL text cannot hold NUL, and no address has one.
    recipient: Annotated[str | None, Query(max_length=320, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> EmailPage:
    return await admin.list_emails(
        runtime,
        status=status,
        recipient=recipient,
        cursor=cursor,
        limit=clamp_page_size(limit, default=50, maximum=MAX_PAGE),
    )


@router.post("/{email_id}/retry", summary="Queue a dead email again (ADMIN)", responses=ADMIN_RETRY)
async def retry_email(email_id: UUID, _admin: Admin, runtime: RuntimeDep) -> EmailView:
    return await admin.retry_email(runtime, email_id=email_id)
