"""Every Kafka topic Spotilike uses, with its key and partition count.

The stack and the Helm chart create topics from this registry; producers and consumers
name topics only through it. Each topic carries one aggregate's events and is keyed by
that aggregate's id, so all events of one aggregate land on one partition, in order.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DLQ_SUFFIX", "TOPICS", "Topic", "topic"]

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    """What the message key is: the id of the aggregate the events belong to."""
    partitions: int
    owner: str
    """The service that produces to it; every other service only consumes."""
    retention_days: int = 7

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX


def _family(prefix: str, actions: tuple[str, ...], **kwargs: object) -> tuple[Topic, ...]:
    return tuple(Topic(name=f"{prefix}.{action}", **kwargs) for action in actions)  # type: ignore[arg-type]


_CRUD = ("created", "updated", "deleted")

TOPICS: tuple[Topic, ...] = (
    Topic("upload.completed", key="track_id", partitions=6, owner="audio"),
    Topic("processing.completed", key="track_id", partitions=6, owner="audio"),
    Topic("processing.failed", key="track_id", partitions=6, owner="audio"),
    *_family("catalog.track", _CRUD, key="track_id", partitions=6, owner="catalog"),
    *_family("catalog.album", _CRUD, key="album_id", partitions=3, owner="catalog"),
    *_family("catalog.artist", _CRUD, key="artist_id", partitions=3, owner="catalog"),
    Topic("playback.started", key="user_id", partitions=12, owner="streaming"),
    Topic("playback.ended", key="user_id", partitions=12, owner="streaming"),
    *_family(
        "user",
        ("registered", "updated", "deleted", "role_changed"),
        key="user_id",
        partitions=6,
        owner="users",
    ),
    Topic("user.password_reset_requested", key="user_id", partitions=3, owner="users"),
    Topic("user.email_verification_requested", key="user_id", partitions=3, owner="users"),
    Topic("subscription.failed", key="user_id", partitions=3, owner="users"),
    *_family(
        "playlist",
        ("created", "updated", "deleted", "tracks_changed"),
        key="playlist_id",
        partitions=6,
        owner="playlists",
    ),
    *_family("playlist.like", ("added", "removed"), key="user_id", partitions=6, owner="playlists"),
    *_family("social.follow", ("added", "removed"), key="user_id", partitions=3, owner="social"),
    Topic("notifications.dlq", key="email_id", partitions=1, owner="notifications"),
)

_BY_NAME = {t.name: t for t in TOPICS}


def topic(name: str) -> Topic:
    """Looks a topic up by name; an unknown name is a programming error, so it raises."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not in spotilike.contracts.topics.TOPICS") from None
