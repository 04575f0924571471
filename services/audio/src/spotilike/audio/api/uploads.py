"""Uploads and processing status: thin routes over ``service``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request, status

from spotilike.audio.schemas import JobView, UploadRequest, UploadTicket, UploadView
from spotilike.audio.service import status as processing_status
from spotilike.audio.service import uploads
from spotilike.audio.service.runtime import Runtime
from spotilike.kit.app import state_dependency
from spotilike.kit.auth import CurrentPrincipal

__all__ = ["router"]

router = APIRouter(tags=["uploads"])


RuntimeDep = Annotated[Runtime, Depends(state_dependency("runtime", Runtime))]


@router.post(
    "/uploads", status_code=status.HTTP_201_CREATED, summary="Ask where to send a track's audio"
)
async def create_upload(
    request: UploadRequest, principal: CurrentPrincipal, runtime: RuntimeDep
) -> UploadTicket:
    return await uploads.create_upload(
        runtime, principal=principal, request=request, base_url=runtime.settings.upload_base
    )


@router.put("/uploads/{upload_id}/content", summary="The file's bytes (filesystem storage)")
async def put_content(
    upload_id: UUID,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    http: Request,
    content_length: Annotated[int | None, Header(ge=0)] = None,
) -> UploadView:
    return await uploads.receive_upload(
        runtime,
        principal=principal,
        upload_id=upload_id,
        content_length=content_length,
        body=http.stream(),
    )


@router.get("/uploads/{upload_id}", summary="How far the upload got")
async def get_upload(
    upload_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> UploadView:
    return await uploads.upload_view(runtime, principal=principal, upload_id=upload_id)


@router.post("/uploads/{upload_id}/complete", summary="Check the upload and start processing")
async def complete(upload_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep) -> UploadView:
    return await uploads.complete_upload(runtime, principal=principal, upload_id=upload_id)


@router.get("/processing/status/{track_id}", summary="The latest processing job of a track")
async def job_status(track_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep) -> JobView:
    return await processing_status.latest(runtime, principal=principal, track_id=track_id)
