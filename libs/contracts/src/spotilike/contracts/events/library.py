"""Events of the playlists service (playlists and likes) and the social service (follows)."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from spotilike.contracts.events.base import EventData

__all__ = [
    "FollowAddedV1",
    "FollowRemovedV1",
    "LikeAddedV1",
    "LikeRemovedV1",
    "PlaylistCreatedV1",
    "PlaylistDeletedV1",
    "PlaylistTracksChangedV1",
    "PlaylistUpdatedV1",
]


class PlaylistCreatedV1(EventData):
    topic = "playlist.created"
    playlist_id: UUID
    owner_id: UUID
    revision: int = Field(ge=0)
    name: str
    public: bool


class PlaylistUpdatedV1(EventData):
    topic = "playlist.updated"
    playlist_id: UUID
    owner_id: UUID
    revision: int = Field(ge=0)
    name: str
    public: bool


class PlaylistDeletedV1(EventData):
    topic = "playlist.deleted"
    playlist_id: UUID
    owner_id: UUID
    revision: int = Field(ge=0)


class PlaylistTracksChangedV1(EventData):
    topic = "playlist.tracks_changed"
    playlist_id: UUID
    owner_id: UUID
    revision: int = Field(ge=0)
    track_ids: tuple[UUID, ...]


class LikeAddedV1(EventData):
    topic = "playlist.like.added"
    user_id: UUID
    track_id: UUID


class LikeRemovedV1(EventData):
    topic = "playlist.like.removed"
    user_id: UUID
    track_id: UUID


class FollowAddedV1(EventData):
    topic = "social.follow.added"
    user_id: UUID
    followed_user_id: UUID


class FollowRemovedV1(EventData):
    topic = "social.follow.removed"
    user_id: UUID
    followed_user_id: UUID
