"""The streaming service's API models."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MasterLinkView", "PlaySessionView", "PlaybackEventIn"]

_DAY_MS = 24 * 3600 * 1000


class MasterLinkView(BaseModel):
    """A signed link to the master playlist, for a player that fetches it without headers
    (Safari's own HLS player). It opens the master playlist only, for this user and track."""

    url: str
    """Relative to the API's origin: ``/stream/<track>/master.m3u8?u=…&t=…``."""
    expires_in_seconds: int
    qualities_kbps: list[int]
    """The variants this user may play, lowest first: a player that cannot tell which
    one plays (Safari's own) reports the highest."""


class PlaybackEventIn(BaseModel):
    """One report from a player about a play session.

    ``started`` opens the session (once; repeating it changes nothing), ``progress``
    reports the position every few seconds, ``ended`` closes it. Counting happens on our
    side from positions and the time between reports, so a client cannot claim more
    listening than the wall clock allows.
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["started", "progress", "ended"]
    session_id: UUID
    position_ms: int = Field(ge=0, le=_DAY_MS)
    duration_ms: int | None = Field(default=None, ge=0, le=_DAY_MS)
    """The track's duration as the player knows it; ours from the catalog wins."""
    quality_kbps: Literal[96, 160, 320] | None = None
    """The rendition playing; required with ``started``."""

    @model_validator(mode="after")
    def _quality_on_start(self) -> PlaybackEventIn:
        if self.type == "started" and self.quality_kbps is None:
            raise ValueError("quality_kbps is required when type is 'started'")
        return self


class PlaySessionView(BaseModel):
    session_id: UUID
    track_id: UUID
    quality_kbps: int
    listened_ms: int
    ended: bool
    counted: bool
    flagged: bool
