"""Uploads: a ticket to send the bytes to, the bytes, and the check that completes them.

With S3-compatible storage the client PUTs straight to a presigned URL; with the local
filesystem it PUTs to this service, which streams the body into storage and records how
much arrived so the client can show progress. Either way nothing is read before the
declared size is checked against the cap, and completion re-checks what actually landed:
the object exists, has exactly the declared size and starts with the Ogg capture pattern.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog
import uuid_utils.compat as uuid_compat

from spotilike.audio import repository
from spotilike.audio.models import Upload, UploadStatus
from spotilike.audio.schemas import OGG_TYPES, UploadRequest, UploadTicket, UploadView
from spotilike.audio.service.access import require_manager
from spotilike.audio.service.runtime import Runtime
from spotilike.contracts.events.media import UploadCompletedV1
from spotilike.kit.auth import Principal
from spotilike.kit.errors import Conflict, NotFound, Problem, UnprocessableContent, invalid_field
from spotilike.kit.storage import NotFoundInStorage

__all__ = [
    "AWAITING_UPLOAD",
    "PayloadTooLarge",
    "complete_upload",
    "create_upload",
    "receive_upload",
    "upload_view",
]

_log = structlog.get_logger(__name__)
AWAITING_UPLOAD = "AWAITING_UPLOAD"
_PROGRESS_EVERY_BYTES = 1024 * 1024
OGG_MAGIC = b"OggS"


class PayloadTooLarge(Problem):
    status = 413
    code = "audio/upload-too-large"


class UnsupportedMediaType(Problem):
    status = 415
    code = "audio/unsupported-type"


def _not_found(upload_id: UUID) -> NotFound:
    return NotFound(f"no upload {upload_id}", code="audio/upload-not-found")


async def create_upload(
    runtime: Runtime, *, principal: Principal, request: UploadRequest, base_url: str
) -> UploadTicket:
    settings = runtime.settings
    if request.content_type.split(";")[0].strip().lower() not in OGG_TYPES:
        raise UnsupportedMediaType(
            f"upload Ogg audio (Vorbis, Opus or FLAC); {request.content_type!r} is not accepted",
            extensions={"accepted": list(OGG_TYPES)},
        )
    if request.size_bytes > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"the file is {request.size_bytes} bytes; the limit is {settings.max_upload_bytes}",
            extensions={"max_bytes": settings.max_upload_bytes},
        )
    async with runtime.database.transaction() as session:
        track = await repository.known_track(session, request.track_id)
        if track is None or track.deleted:
            raise invalid_field("/track_id", f"no track {request.track_id}")
        require_manager(principal, track)
        if track.status != AWAITING_UPLOAD:
            raise Conflict(
                f"the track is {track.status}; ask for an upload first (request-upload)",
                code="audio/track-not-awaiting-upload",
                extensions={"status": track.status},
            )
        upload_id = uuid_compat.uuid7()
        upload = Upload(
            id=upload_id,
            track_id=track.track_id,
            owner_id=UUID(principal.subject),
            declared_size=request.size_bytes,
            content_type="audio/ogg",
            storage_key=f"uploads/{upload_id}/original.ogg",
            status=UploadStatus.PENDING.value,
            received_bytes=0,
        )
        await repository.add(session, upload)
    expires = datetime.now(UTC) + timedelta(seconds=settings.upload_url_seconds)
    presigned = await runtime.storage.presigned_put(
        upload.storage_key,
        expires_seconds=settings.upload_url_seconds,
        content_type="audio/ogg",
        size=request.size_bytes,
    )
    return UploadTicket(
        upload_id=upload_id,
        upload_url=presigned or f"{base_url.rstrip('/')}/uploads/{upload_id}/content",
        headers={"Content-Type": "audio/ogg", "Content-Length": str(request.size_bytes)},
        expires_at=expires,
        max_bytes=request.size_bytes,
    )


async def _owned(runtime: Runtime, principal: Principal, upload_id: UUID) -> Upload:
    async with runtime.database.transaction() as session:
        upload = await repository.upload(session, upload_id)
    if upload is None:
        raise _not_found(upload_id)
    if str(upload.owner_id) != principal.subject and not principal.has_role("ADMIN"):
        raise _not_found(upload_id)
    return upload


async def receive_upload(
    runtime: Runtime,
    *,
    principal: Principal,
    upload_id: UUID,
    content_length: int | None,
    body: AsyncIterator[bytes],
) -> UploadView:
    """Streams the body into storage; never more than the declared size."""
    upload = await _owned(runtime, principal, upload_id)
    if upload.status != UploadStatus.PENDING.value:
        raise Conflict(f"the upload is {upload.status}", code="audio/upload-closed")
    if content_length is None:
        raise Problem(
            "send Content-Length: the exact size", status=411, code="audio/length-required"
        )
    if content_length != upload.declared_size:
        if content_length > upload.declared_size:
            raise PayloadTooLarge(
                f"Content-Length {content_length} exceeds the declared {upload.declared_size}"
            )
        raise UnprocessableContent(
            f"Content-Length {content_length} is not the declared {upload.declared_size}",
            code="audio/size-mismatch",
        )

    received = 0
    reported = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal received, reported
        async for chunk in body:
            received += len(chunk)
            if received > upload.declared_size:
                raise PayloadTooLarge(
                    f"the body is longer than the declared {upload.declared_size}"
                )
            if received - reported >= _PROGRESS_EVERY_BYTES:
                reported = received
                await _record_progress(runtime, upload_id, received)
            yield chunk

    await runtime.storage.put(upload.storage_key, counted(), content_type="audio/ogg")
    await _record_progress(runtime, upload_id, received)
    return await upload_view(runtime, principal=principal, upload_id=upload_id)


async def _record_progress(runtime: Runtime, upload_id: UUID, received: int) -> None:
    async with runtime.database.transaction() as session:
        upload = await repository.upload(session, upload_id, lock=True)
        if upload is not None:
            upload.received_bytes = received


async def upload_view(runtime: Runtime, *, principal: Principal, upload_id: UUID) -> UploadView:
    upload = await _owned(runtime, principal, upload_id)
    return UploadView(
        upload_id=upload.id,
        track_id=upload.track_id,
        status=upload.status,
        size_bytes=upload.declared_size,
        received_bytes=upload.received_bytes,
        progress=min(100, upload.received_bytes * 100 // max(1, upload.declared_size)),
        rejection=upload.rejection,
    )


async def _check_object(runtime: Runtime, upload: Upload) -> str | None:
    """Why the stored object cannot be processed, or None when it can."""
    try:
        info = await runtime.storage.stat(upload.storage_key)
    except NotFoundInStorage:
        return "nothing was uploaded"
    if info.size != upload.declared_size:
        return f"{info.size} bytes arrived, not the declared {upload.declared_size}"
    async with await runtime.storage.get_range(upload.storage_key, 0, 3) as head:
        magic = await head.read_all()
    if magic != OGG_MAGIC:
        return "the file is not an Ogg file"
    return None


async def complete_upload(runtime: Runtime, *, principal: Principal, upload_id: UUID) -> UploadView:
    upload = await _owned(runtime, principal, upload_id)
    if upload.status == UploadStatus.COMPLETED.value:
        return await upload_view(runtime, principal=principal, upload_id=upload_id)
    if upload.status != UploadStatus.PENDING.value:
        raise Conflict(f"the upload is {upload.status}", code="audio/upload-closed")
    problem = await _check_object(runtime, upload)
    async with runtime.database.transaction() as session:
        locked = await repository.upload(session, upload_id, lock=True)
        if locked is None:
            raise _not_found(upload_id)
        if locked.status == UploadStatus.PENDING.value:
            locked.completed_at = datetime.now(UTC)
            if problem is None:
                locked.status = UploadStatus.COMPLETED.value
                locked.received_bytes = locked.declared_size
                await runtime.outbox.add(
                    session,
                    UploadCompletedV1(
                        upload_id=locked.id,
                        track_id=locked.track_id,
                        owner_id=locked.owner_id,
                        storage_key=locked.storage_key,
                        size_bytes=locked.declared_size,
                        content_type=locked.content_type,
                    ),
                    key=str(locked.track_id),
                    subject=str(locked.track_id),
                )
            else:
                locked.status = UploadStatus.REJECTED.value
                locked.rejection = problem
    if problem is not None:
        _log.info("upload_rejected", upload_id=str(upload_id), reason=problem)
        raise UnprocessableContent(
            f"the upload cannot be processed: {problem}", code="audio/upload-rejected"
        )
    _log.info("upload_completed", upload_id=str(upload_id))
    return await upload_view(runtime, principal=principal, upload_id=upload_id)
