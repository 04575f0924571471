"""Playback events from the streaming service: what the listening history is built of."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from spotilike.contracts.events.base import EventData

__all__ = ["PlaybackEndedV1", "PlaybackStartedV1"]


class PlaybackStartedV1(EventData):
    topic = "playback.started"
    user_id: UUID
    track_id: UUID
    session_id: UUID
    started_at: datetime
    quality_kbps: Literal[96, 160, 320]
    private_session: bool = False


class PlaybackEndedV1(EventData):
    topic = "playback.ended"
    user_id: UUID
    track_id: UUID
    session_id: UUID
    ended_at: datetime
    listened_ms: int = Field(ge=0)
    track_duration_ms: int = Field(ge=0)
    counted: bool
    """True when the play counts as a stream (30 seconds or more listened, not capped)."""
    flagged: bool = False
    """True when the user's play rate on this track hit the cap: kept, but not counted."""
    private_session: bool = False
