"""Events of the audio pipeline: an upload finished, processing succeeded or failed."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from spotilike.contracts.events.base import EventData

__all__ = ["ProcessingCompletedV1", "ProcessingFailedV1", "Rendition", "UploadCompletedV1"]


class UploadCompletedV1(EventData):
    topic = "upload.completed"
    upload_id: UUID
    track_id: UUID
    owner_id: UUID
    storage_key: str
    size_bytes: int = Field(ge=0)
    content_type: str


class Rendition(EventData):
    bitrate_kbps: Literal[96, 160, 320]
    playlist_key: str
    bandwidth: int = Field(ge=0)
    average_bandwidth: int = Field(ge=0)


class ProcessingCompletedV1(EventData):
    topic = "processing.completed"
    track_id: UUID
    upload_id: UUID
    duration_ms: int = Field(ge=0)
    master_playlist_key: str
    renditions: tuple[Rendition, ...]
    download_key: str
    """The single-file 320k rendition served by downloads."""
    peaks_key: str
    integrated_lufs: float
    gain_db: float
    """The gain that brings the track to -14 LUFS."""


class ProcessingFailedV1(EventData):
    topic = "processing.failed"
    track_id: UUID
    upload_id: UUID
    reason: str
    """A sentence the artist can read; never a stack trace."""
    stage: str
