"""The audio service's API models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["JobView", "UploadRequest", "UploadTicket", "UploadView"]

OGG_TYPES = ("audio/ogg", "application/ogg", "audio/vorbis", "audio/opus", "audio/flac")


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track_id: UUID
    size_bytes: int = Field(gt=0, description="the file's exact size; the upload must match it")
    content_type: str = Field(min_length=1, max_length=64)


class UploadTicket(BaseModel):
    upload_id: UUID
    upload_url: str
    """Where to PUT the bytes: a presigned storage URL, or this service's own endpoint."""
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int


class UploadView(BaseModel):
    upload_id: UUID
    track_id: UUID
    status: str
    size_bytes: int
    received_bytes: int
    """Bytes this service has stored so far (its own endpoint), for a progress bar."""
    progress: int = Field(ge=0, le=100)
    rejection: str | None


class JobView(BaseModel):
    track_id: UUID
    upload_id: UUID
    status: str
    stage: str | None
    progress: int
    stage_seconds: dict[str, float]
    error: str | None
    error_stage: str | None
    attempts: int
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
