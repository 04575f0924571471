"""Who may play what: the decision, and the short-lived cache in front of it.

The decision reads only this service's projections (``playable_tracks``, ``listeners``),
so playback never waits on the catalog. Each instance keeps a decision for at most
``rights_cache_seconds`` (under a second): a segment request costs no query most of the
time, and an unpublish or a disabled account still takes effect within a second of the
event reaching the projection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, cast
from uuid import UUID

from cachetools import TTLCache

from spotilike.kit.db import Database
from spotilike.kit.errors import Forbidden, NotFound
from spotilike.streaming import repository

__all__ = [
    "QUALITIES",
    "ListenerRights",
    "Playable",
    "RightsCache",
    "TrackRights",
    "decide",
]

QUALITIES: Final = (96, 160, 320)
"""The renditions audio produces, in kbps, lowest first."""

_MANIFEST_NAME: Final = "master.m3u8"


@dataclass(frozen=True, slots=True)
class TrackRights:
    track_id: UUID
    artist_id: UUID
    ready: bool
    published: bool
    explicit: bool
    deleted: bool
    duration_ms: int | None
    hls_manifest_key: str | None
    download_key: str | None


@dataclass(frozen=True, slots=True)
class ListenerRights:
    quality_cap_kbps: int = 320
    explicit_allowed: bool = True
    private_session: bool = False
    blocked: bool = False
    artist_id: UUID | None = None
    admin: bool = False


_MISSING: Final = object()

NEW_LISTENER: Final = ListenerRights()
"""A verified user whose profile event has not arrived yet plays with the defaults."""


@dataclass(frozen=True, slots=True)
class Playable:
    """A granted play: the qualities the user may fetch and where the media lives."""

    track: TrackRights
    listener: ListenerRights
    qualities: tuple[int, ...]

    @property
    def media_prefix(self) -> str:
        """The storage folder holding master.m3u8, the renditions and the download."""
        key = self.track.hls_manifest_key
        assert key is not None
        return key.rpartition("/")[0]


def decide(
    track: TrackRights | None,
    listener: ListenerRights,
    *,
    artist_id: UUID | None = None,
    admin: bool = False,
) -> Playable:
    """Grants the play or raises the problem that explains why not.

    ``artist_id``/``admin`` come from the caller's token when there is one; otherwise the
    listener projection's roles are used. The owner and admins may play a ready track that
    is not published yet (to check it before release); nobody plays a deleted one.
    """
    if track is None or track.deleted:
        raise NotFound("No such track.", code="streaming/track-not-found")
    if listener.blocked:
        raise Forbidden("This account may not play music.", code="streaming/account-disabled")
    if not track.ready or not track.hls_manifest_key:
        raise Forbidden("This track is not ready to play yet.", code="streaming/track-not-ready")
    owner = track.artist_id in {artist_id, listener.artist_id} - {None}
    if not track.published and not (owner or admin or listener.admin):
        raise Forbidden("This track is not available.", code="streaming/track-unavailable")
    if track.explicit and not listener.explicit_allowed:
        raise Forbidden(
            "This track is explicit and your settings block explicit content.",
            code="streaming/explicit-content-blocked",
        )
    qualities = tuple(q for q in QUALITIES if q <= listener.quality_cap_kbps) or QUALITIES[:1]
    return Playable(track=track, listener=listener, qualities=qualities)


class RightsCache:
    """Reads and briefly remembers the projection rows a decision needs."""

    def __init__(
        self,
        database: Database,
        *,
        ttl_seconds: float,
        max_entries: int = 50_000,
        timer: Callable[[], float] = time.monotonic,
    ):
        self._database = database
        self._ttl = ttl_seconds
        self._tracks: TTLCache[UUID, TrackRights | None] = TTLCache(
            max_entries, max(ttl_seconds, 1e-3), timer=timer
        )
        self._listeners: TTLCache[UUID, ListenerRights] = TTLCache(
            max_entries, max(ttl_seconds, 1e-3), timer=timer
        )

    async def load(
        self, track_id: UUID, user_id: UUID
    ) -> tuple[TrackRights | None, ListenerRights]:
        if self._ttl > 0:
            # One get() each: a test with `in` followed by a read can see the entry expire
            # in between. A cached "no such track" is an entry too, hence the sentinel.
            track = self._tracks.get(track_id, _MISSING)
            listener = self._listeners.get(user_id)
            if track is not _MISSING and listener is not None:
                return cast(TrackRights | None, track), listener
        # The primary, not a replica: a replica a little behind would stretch "within a
        # second of the event" by its lag.
        async with self._database.write_session() as session:
            track_row = await repository.playable_track(session, track_id)
            listener_row = await repository.listener(session, user_id)
        track = None
        if track_row is not None:
            track = TrackRights(
                track_id=track_row.track_id,
                artist_id=track_row.artist_id,
                ready=track_row.status == "READY",
                published=track_row.published,
                explicit=track_row.explicit,
                deleted=track_row.deleted,
                duration_ms=track_row.duration_ms,
                hls_manifest_key=track_row.hls_manifest_key,
                download_key=track_row.download_key,
            )
        listener = NEW_LISTENER
        if listener_row is not None:
            listener = ListenerRights(
                quality_cap_kbps=listener_row.streaming_quality_kbps,
                explicit_allowed=listener_row.explicit_content_allowed,
                private_session=listener_row.private_session,
                blocked=listener_row.disabled or listener_row.deleted,
                artist_id=listener_row.artist_id,
                admin=listener_row.admin,
            )
        if self._ttl > 0:
            self._tracks[track_id] = track
            self._listeners[user_id] = listener
        return track, listener
