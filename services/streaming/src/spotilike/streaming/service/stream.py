"""The play path: master playlist (JWT, or a master link for players that cannot send
it), media playlists and segments (playback tokens), and the download (JWT, byte ranges).

Every step re-checks rights against the projection (through the sub-second cache), so a
token in hand does not outlive an unpublish, a deletion or a disabled account.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from urllib.parse import urlencode
from uuid import UUID

import structlog

from spotilike.kit.auth import Principal
from spotilike.kit.errors import Forbidden, NotFound, Problem
from spotilike.kit.storage import NotFoundInStorage, ObjectInfo, ObjectStream
from spotilike.streaming import playback_tokens
from spotilike.streaming.playback_tokens import PlaybackTokenRejected
from spotilike.streaming.ranges import RangeOutcome, RangePlan, plan_range
from spotilike.streaming.service.media import PlaylistTooLarge
from spotilike.streaming.service.playlists import (
    MEDIA_PLAYLIST_NAME,
    SEGMENT_NAME,
    BrokenPlaylist,
    master_playlist,
    media_playlist,
)
from spotilike.streaming.service.rights import QUALITIES, Playable, decide
from spotilike.streaming.service.runtime import Runtime

__all__ = [
    "MASTER_LINK_SCOPE",
    "Download",
    "MasterLink",
    "MediaUnavailable",
    "artist_of",
    "check_segment_name",
    "download",
    "master",
    "master_by_link",
    "master_link",
    "parse_quality",
    "peaks",
    "segment",
    "user_of",
    "variant",
    "verify_link",
    "verify_master_link",
]

MASTER_NAME = "master.m3u8"
# The master link's token scope: not a quality rung's name, so no other link verifies as it.
MASTER_LINK_SCOPE = "master"
PEAKS_NAME = "peaks.json"

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class MasterLink:
    query: str
    expires_in_seconds: int
    qualities: tuple[int, ...]
    """The variants this user may play, lowest first."""


class MediaUnavailable(Problem):
    """Stored media that is missing or malformed: our fault, never passed on as is."""

    status = 502
    code = "streaming/media-unavailable"


def parse_quality(raw: str) -> int:
    if raw not in {str(q) for q in QUALITIES}:
        raise NotFound(
            f"No quality {raw[:16]!r}: use one of {', '.join(map(str, QUALITIES))}.",
            code="streaming/unknown-quality",
        )
    return int(raw)


async def master(runtime: Runtime, *, principal: Principal, track_id: UUID) -> str:
    playable = await _playable_for_caller(runtime, principal=principal, track_id=track_id)
    return await _master_for(runtime, playable, user_id=user_of(principal), track_id=track_id)


async def master_link(runtime: Runtime, *, principal: Principal, track_id: UUID) -> MasterLink:
    """A signed link to master.m3u8 for a player that cannot send the JWT itself.

    Safari's own HLS player (iOS before 17.1 has no Media Source Extensions for hls.js)
    fetches the playlist URL as given, without headers. The link is scoped to this user
    and track and to the master playlist alone (``MASTER_LINK_SCOPE``), so it never opens
    a variant, a segment or the download, and it lives as long as the other links.
    """
    # Refused here with the reason, not later as a broken player.
    playable = await _playable_for_caller(runtime, principal=principal, track_id=track_id)
    query = _signed_query(
        runtime,
        user_id=user_of(principal),
        track_id=track_id,
        scope=MASTER_LINK_SCOPE,
        now=time.time(),
    )
    return MasterLink(
        query=query,
        expires_in_seconds=runtime.settings.token_ttl_seconds,
        qualities=tuple(sorted(playable.qualities)),
    )


async def master_by_link(runtime: Runtime, *, user: str, track_id: UUID) -> str:
    """The master playlist for a user whose master link :func:`verify_master_link`
    accepted; rights are checked again, as for every other link."""
    playable = await _playable(runtime, track_id=track_id, user_id=user)
    return await _master_for(runtime, playable, user_id=user, track_id=track_id)


async def _master_for(runtime: Runtime, playable: Playable, *, user_id: str, track_id: UUID) -> str:
    stored = await _read_playlist(runtime, f"{playable.media_prefix}/{MASTER_NAME}", track_id)
    now = time.time()

    def query_for(kbps: int) -> str:
        return _signed_query(runtime, user_id=user_id, track_id=track_id, scope=str(kbps), now=now)

    try:
        return master_playlist(stored, qualities=playable.qualities, query_for=query_for)
    except BrokenPlaylist as exc:
        raise _broken(track_id, exc) from exc


async def variant(runtime: Runtime, *, user: str, track_id: UUID, quality: int) -> str:
    """The media playlist for a user whose link :func:`verify_link` accepted."""
    playable = await _playable(runtime, track_id=track_id, user_id=user)
    _require_quality(playable, quality)
    stored = await _read_playlist(
        runtime, f"{playable.media_prefix}/{quality}/{MEDIA_PLAYLIST_NAME}", track_id
    )
    now = time.time()
    query = _signed_query(runtime, user_id=user, track_id=track_id, scope=str(quality), now=now)
    try:
        return media_playlist(stored, query=query)
    except BrokenPlaylist as exc:
        raise _broken(track_id, exc) from exc


def check_segment_name(name: str) -> None:
    """Refuses anything but audio's segment names, before the name goes near a key."""
    if not SEGMENT_NAME.fullmatch(name):
        raise Problem(
            "A segment name looks like segment_00000.ts.",
            status=400,
            code="streaming/invalid-segment-name",
        )


async def segment(
    runtime: Runtime, *, user: str, track_id: UUID, quality: int, name: str
) -> ObjectStream:
    """A segment's bytes for a user whose link :func:`verify_link` accepted."""
    check_segment_name(name)
    playable = await _playable(runtime, track_id=track_id, user_id=user)
    _require_quality(playable, quality)
    try:
        return await runtime.media.open(f"{playable.media_prefix}/{quality}/{name}")
    except NotFoundInStorage:
        raise NotFound("No such segment.", code="streaming/segment-not-found") from None


async def peaks(runtime: Runtime, *, principal: Principal, track_id: UUID) -> ObjectStream:
    """The waveform (audiowaveform JSON) published with the track's renditions."""
    playable = await _playable_for_caller(runtime, principal=principal, track_id=track_id)
    try:
        return await runtime.media.open(f"{playable.media_prefix}/{PEAKS_NAME}")
    except NotFoundInStorage:
        raise NotFound("This track has no waveform.", code="streaming/no-peaks") from None


@dataclass(frozen=True, slots=True)
class Download:
    plan: RangePlan
    info: ObjectInfo
    etag: str
    body: ObjectStream | None
    """None for a 416."""


async def download(
    runtime: Runtime,
    *,
    principal: Principal,
    track_id: UUID,
    range_header: str | None,
    if_range: str | None,
) -> Download:
    playable = await _playable_for_caller(runtime, principal=principal, track_id=track_id)
    key = playable.track.download_key
    if not key:
        raise NotFound("This track has no download.", code="streaming/no-download")
    try:
        info = await runtime.media.stat(key)
    except NotFoundInStorage as exc:
        raise _broken(track_id, exc) from exc
    # Keys are versioned and never rewritten, so key + size names the bytes exactly.
    etag = '"' + hashlib.sha256(f"{key}:{info.size}".encode()).hexdigest()[:32] + '"'
    plan = plan_range(
        range_header, if_range, size=info.size, etag=etag, last_modified=info.modified_at
    )
    if plan.outcome is RangeOutcome.UNSATISFIABLE:
        return Download(plan=plan, info=info, etag=etag, body=None)
    if plan.byte_range is None:
        body = await runtime.media.open(key)
    else:
        body = await runtime.media.open(key, start=plan.byte_range.start, end=plan.byte_range.end)
    return Download(plan=plan, info=info, etag=etag, body=body)


async def _playable_for_caller(
    runtime: Runtime, *, principal: Principal, track_id: UUID
) -> Playable:
    """The play a bearer token's caller may make, with the owner and admin rights its
    claims carry."""
    return await _playable(
        runtime,
        track_id=track_id,
        user_id=user_of(principal),
        artist_id=artist_of(principal),
        admin=principal.has_role("ADMIN"),
    )


async def _playable(
    runtime: Runtime,
    *,
    track_id: UUID,
    user_id: str,
    artist_id: UUID | None = None,
    admin: bool = False,
) -> Playable:
    track, listener = await runtime.rights.load(track_id, UUID(user_id))
    return decide(track, listener, artist_id=artist_id, admin=admin)


def verify_link(runtime: Runtime, *, user_id: str, token: str, track_id: UUID, quality: int) -> str:
    """The user a playback link (``u`` + ``t``) was issued to, or a 403 saying why not."""
    return _verify(runtime, user_id=user_id, token=token, track_id=track_id, scope=str(quality))


def verify_master_link(runtime: Runtime, *, user_id: str, token: str, track_id: UUID) -> str:
    """The user a master link (:func:`master_link`) was issued to, or a 403 saying why not."""
    return _verify(
        runtime, user_id=user_id, token=token, track_id=track_id, scope=MASTER_LINK_SCOPE
    )


def _verify(runtime: Runtime, *, user_id: str, token: str, track_id: UUID, scope: str) -> str:
    try:
        user = str(UUID(user_id))
    except ValueError:
        raise _token_problem("malformed") from None
    try:
        playback_tokens.verify(
            runtime.settings.keys,
            token,
            user_id=user,
            track_id=str(track_id),
            quality=scope,
            now=time.time(),
        )
    except PlaybackTokenRejected as exc:
        raise _token_problem(exc.reason) from None
    return user


def _token_problem(reason: str) -> Forbidden:
    detail = {
        "expired": "The playback link has expired: fetch master.m3u8 again.",
        "unknown-key": "The playback link was signed with a key this service does not know.",
    }.get(reason, "The playback link is not valid for this request.")
    return Forbidden(detail, code=f"streaming/token-{reason}")


def _signed_query(runtime: Runtime, *, user_id: str, track_id: UUID, scope: str, now: float) -> str:
    """``u`` and ``t`` of a link for ``scope``: a quality rung's name, or the master's."""
    token = playback_tokens.issue(
        runtime.settings.keys,
        user_id=user_id,
        track_id=str(track_id),
        quality=scope,
        now=now,
        ttl_seconds=runtime.settings.token_ttl_seconds,
    )
    return urlencode({"u": user_id, "t": token})


def _require_quality(playable: Playable, quality: int) -> None:
    if quality not in playable.qualities:
        raise Forbidden(
            f"Your streaming quality setting allows up to {max(playable.qualities)} kbps.",
            code="streaming/quality-not-allowed",
        )


async def _read_playlist(runtime: Runtime, key: str, track_id: UUID) -> str:
    try:
        return await runtime.media.read_playlist(key)
    except (NotFoundInStorage, PlaylistTooLarge, UnicodeDecodeError) as exc:
        raise _broken(track_id, exc) from exc


def _broken(track_id: UUID, exc: Exception) -> MediaUnavailable:
    # The client gets a generic detail; the cause goes to the log.
    _log.error("media.unavailable", track_id=str(track_id), error=repr(exc))
    return MediaUnavailable(
        "This track's media could not be read; try again later.",
        extensions={"track_id": str(track_id)},
    )


def user_of(principal: Principal) -> str:
    """The user id of a bearer token, refusing service tokens with non-UUID subjects."""
    try:
        return str(UUID(principal.subject))
    except ValueError:
        raise Forbidden(
            "This token's subject is not a user.", code="streaming/not-a-user"
        ) from None


def artist_of(principal: Principal) -> UUID | None:
    """The artist profile a token's user manages (the ``artist_id`` claim), if any."""
    raw = principal.claims.get("artist_id")
    try:
        return UUID(str(raw)) if raw else None
    except ValueError:
        return None
