"""Tables of the audio service: uploads, processing jobs, and the tracks it may accept."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Integer, SmallInteger, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from spotilike.kit.db import service_metadata
from spotilike.kit.events import messaging_tables

__all__ = ["Base", "Job", "JobStatus", "KnownTrack", "Upload", "UploadStatus", "messaging"]


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = messaging_tables(Base.metadata)


class UploadStatus(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


def _created() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class KnownTrack(Base):
    """The catalog's tracks as far as uploads care: whose they are and their status."""

    __tablename__ = "known_tracks"

    track_id: Mapped[UUID] = mapped_column(primary_key=True)
    artist_id: Mapped[UUID]
    status: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(default=False)


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    track_id: Mapped[UUID] = mapped_column(index=True)
    owner_id: Mapped[UUID]
    declared_size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default=UploadStatus.PENDING.value)
    received_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    """Bytes the service's own PUT endpoint has stored so far: the client's progress."""
    rejection: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = _created()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Job(Base):
    """One processing run per upload; the worker's progress, stage timings and outcome."""

    __tablename__ = "jobs"

    upload_id: Mapped[UUID] = mapped_column(primary_key=True)
    track_id: Mapped[UUID] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    stage: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[int] = mapped_column(SmallInteger, default=0)
    stage_seconds: Mapped[dict[str, float]] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(String(500))
    error_stage: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    output_prefix: Mapped[str | None] = mapped_column(String(512))
    queued_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = _created()
