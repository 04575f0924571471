"""The track's processing lifecycle and the events from the audio pipeline that drive it.

    DRAFT ─► AWAITING_UPLOAD ─► PROCESSING ─► READY
      │            ▲  │             │   ▲       │
      └────────────┼──┴─────────────┘   └───────┘ (a new upload replaces the audio)
                   └──── FAILED ◄───┘

Results carry the upload they are for; a result for any other upload than the track's
current one is stale (a re-upload overtook it) and is ignored, as is an event for a track
that was deleted meanwhile.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from spotilike.catalog import repository
from spotilike.catalog.models import Track, TrackStatus
from spotilike.catalog.service.events import publish_track
from spotilike.catalog.service.runtime import Runtime
from spotilike.catalog.service.writing import Write
from spotilike.contracts.events.media import (
    ProcessingCompletedV1,
    ProcessingFailedV1,
    UploadCompletedV1,
)
from spotilike.kit.errors import Conflict

__all__ = [
    "TRANSITIONS",
    "apply_processing_completed",
    "apply_processing_failed",
    "apply_upload_completed",
    "check_transition",
]

_log = structlog.get_logger(__name__)

TRANSITIONS: dict[TrackStatus, frozenset[TrackStatus]] = {
    TrackStatus.DRAFT: frozenset({TrackStatus.AWAITING_UPLOAD, TrackStatus.PROCESSING}),
    TrackStatus.AWAITING_UPLOAD: frozenset({TrackStatus.PROCESSING, TrackStatus.DRAFT}),
    TrackStatus.PROCESSING: frozenset({TrackStatus.READY, TrackStatus.FAILED}),
    TrackStatus.READY: frozenset({TrackStatus.PROCESSING}),
    TrackStatus.FAILED: frozenset({TrackStatus.AWAITING_UPLOAD, TrackStatus.PROCESSING}),
}


def check_transition(track: Track, to: TrackStatus) -> None:
    current = TrackStatus(track.status)
    if to not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing"
        raise Conflict(
            f"a {current.value} track cannot become {to.value} (from {current.value}: {allowed})",
            code="catalog/illegal-transition",
            extensions={"track_status": current.value, "requested": to.value},
        )


async def _republish(runtime: Runtime, work: Write, track: Track) -> None:
    album = await repository.album(work.session, track.album_id)
    artist = await repository.artist(work.session, track.artist_id)
    if album is None or artist is None:
        return
    track.updated_at = datetime.now(UTC)
    await publish_track(runtime, work.session, track, album=album, artist=artist)
    work.touches_album(album.id)
    work.touches_artist(artist.id)


async def apply_upload_completed(runtime: Runtime, work: Write, event: UploadCompletedV1) -> None:
    track = await repository.track(work.session, event.track_id, lock=True)
    if track is None:
        _log.info("upload_for_unknown_track", track_id=str(event.track_id))
        return
    if TrackStatus.PROCESSING not in TRANSITIONS[TrackStatus(track.status)]:
        _log.warning(
            "upload_ignored", track_id=str(track.id), status=track.status, reason="illegal"
        )
        return
    track.status = TrackStatus.PROCESSING.value
    track.upload_id = event.upload_id
    track.failure_reason = None
    await _republish(runtime, work, track)


async def _current(work: Write, event: ProcessingCompletedV1 | ProcessingFailedV1) -> Track | None:
    track = await repository.track(work.session, event.track_id, lock=True)
    if track is None or track.upload_id != event.upload_id:
        _log.info(
            "processing_result_ignored",
            track_id=str(event.track_id),
            reason="unknown track" if track is None else "stale upload",
        )
        return None
    if track.status != TrackStatus.PROCESSING.value:
        _log.info("processing_result_ignored", track_id=str(track.id), reason=track.status)
        return None
    return track


async def apply_processing_completed(
    runtime: Runtime, work: Write, event: ProcessingCompletedV1
) -> None:
    track = await _current(work, event)
    if track is None:
        return
    track.status = TrackStatus.READY.value
    track.duration_ms = event.duration_ms
    track.hls_manifest_key = event.master_playlist_key
    track.download_key = event.download_key
    track.peaks_key = event.peaks_key
    track.renditions_kbps = sorted(r.bitrate_kbps for r in event.renditions)
    track.loudness_lufs = event.integrated_lufs
    track.gain_db = event.gain_db
    track.failure_reason = None
    await _republish(runtime, work, track)


async def apply_processing_failed(runtime: Runtime, work: Write, event: ProcessingFailedV1) -> None:
    track = await _current(work, event)
    if track is None:
        return
    track.status = TrackStatus.FAILED.value
    track.failure_reason = event.reason[:500]
    await _republish(runtime, work, track)
