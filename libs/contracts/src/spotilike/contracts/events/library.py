"""Events of the playlists service (playlists and likes) and the social service (follows)."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from spotilike.contracts.events.base import EventData

__all__ = [
    "Follow",
    "FollowAddedV1",
    "FollowRemovedV1",
    "Like",
    "LikeAddedV1",
    "LikeRemovedV1",
    "PlaylistCreatedV1",
    "PlaylistDeletedV1",
    "PlaylistState",
    "PlaylistTracksChangedV1",
    "PlaylistUpdatedV1",
]


class PlaylistState(EventData):
    playlist_id: UUID
    owner_id: UUID
    revision: int = Field(ge=0)
    name: str
    public: bool


class PlaylistCreatedV1(PlaylistState):
    topic = "playlist.created"


class PlaylistUpdatedV1(PlaylistState):
    topic = "playlist.updated"


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


class Like(EventData):
    user_id: UUID
    track_id: UUID


class LikeAddedV1(Like):
    topic = "playlist.like.added"


class LikeRemovedV1(Like):
    topic = "playlist.like.removed"


class Follow(EventData):
    user_id: UUID
    followed_user_id: UUID


class FollowAddedV1(Follow):
    topic = "social.follow.added"


class FollowRemovedV1(Follow):
    topic = "social.follow.removed"
