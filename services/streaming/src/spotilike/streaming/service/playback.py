"""Play sessions: turning a player's reports into ``playback.started`` / ``playback.ended``.

Rules, each there because a client is not trusted:

- One ``playback.started`` per session id; a repeated ``started`` changes nothing.
- Listening time only grows by position advances that the wall clock allows (the time
  since the previous report plus a little slack), so seeking to the end or sending a
  fabricated position does not make a play count.
- A play counts once listened time reaches ``play_count_ms`` (or the whole track, when
  it is shorter); ``ended`` decides it, exactly once per session.
- A user's counted plays of one track are capped per day; plays past the cap are still
  reported (history stays true) but flagged and not counted.
- A session takes at most ``session_events_limit`` reports.
- A session that stops reporting (a closed tab, a lost connection) is ended by
  :func:`end_idle_sessions` after ``session_idle_seconds``, at its last report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts.events.playback import PlaybackEndedV1, PlaybackStartedV1
from spotilike.kit.errors import Conflict, NotFound, TooManyRequests
from spotilike.streaming import repository
from spotilike.streaming.models import PlaySession
from spotilike.streaming.schemas import PlaybackEventIn, PlaySessionView
from spotilike.streaming.service.rights import decide
from spotilike.streaming.service.runtime import Runtime

__all__ = ["end_idle_sessions", "listened_increment", "record_event"]

SLACK_MS: Final = 2_000
"""Allowed excess of a position advance over the wall-clock time between reports
(network jitter, players reporting a little early)."""
_CAP_WINDOW: Final = timedelta(days=1)
_SWEEP_BATCH: Final = 200


def listened_increment(*, previous_ms: int, position_ms: int, wall_ms: int) -> int:
    """How much of a position advance counts as listening.

    Backwards moves (seeks back, replays) and jumps beyond what the wall clock allows
    (seeks forward, forged positions) add nothing.
    """
    advance = position_ms - previous_ms
    if advance <= 0 or advance > wall_ms + SLACK_MS:
        return 0
    return advance


async def record_event(
    runtime: Runtime,
    *,
    user_id: UUID,
    track_id: UUID,
    event: PlaybackEventIn,
    artist_id: UUID | None = None,
    admin: bool = False,
    now: datetime | None = None,
) -> PlaySessionView:
    now = now or datetime.now(UTC)
    async with runtime.database.transaction() as session:
        if event.type == "started":
            # Only a start needs the right to play; a session already started may report
            # its end even if the track was unpublished in between.
            track, listener = await runtime.rights.load(track_id, user_id)
            playable = decide(track, listener, artist_id=artist_id, admin=admin)
            duration_ms = playable.track.duration_ms or event.duration_ms or 0
            assert event.quality_kbps is not None
            inserted = await session.execute(
                insert(PlaySession)
                .values(
                    session_id=event.session_id,
                    user_id=user_id,
                    track_id=track_id,
                    quality_kbps=event.quality_kbps,
                    track_duration_ms=duration_ms,
                    listened_ms=0,
                    last_position_ms=event.position_ms,
                    events=1,
                    private_session=listener.private_session,
                    started_at=now,
                    last_event_at=now,
                )
                .on_conflict_do_nothing(index_elements=["session_id"])
                .returning(PlaySession.session_id)
            )
            if inserted.first() is not None:
                await runtime.outbox.add(
                    session,
                    PlaybackStartedV1(
                        user_id=user_id,
                        track_id=track_id,
                        session_id=event.session_id,
                        started_at=now,
                        quality_kbps=event.quality_kbps,
                        private_session=listener.private_session,
                    ),
                    key=str(user_id),
                    subject=str(track_id),
                )
        play = await repository.play_session(session, event.session_id, for_update=True)
        if play is None or play.user_id != user_id:
            # Another user's session id reads exactly like an unknown one.
            raise NotFound(
                "No such play session: send a 'started' event first.",
                code="streaming/session-not-found",
            )
        if play.track_id != track_id:
            raise Conflict(
                "This play session belongs to another track.", code="streaming/session-track"
            )
        if event.type != "started" and play.ended_at is None:
            await _advance(runtime, session, play, event, now)
        return PlaySessionView(
            session_id=play.session_id,
            track_id=play.track_id,
            quality_kbps=play.quality_kbps,
            listened_ms=play.listened_ms,
            ended=play.ended_at is not None,
            counted=play.counted,
            flagged=play.flagged,
        )


async def _advance(
    runtime: Runtime,
    session: AsyncSession,
    play: PlaySession,
    event: PlaybackEventIn,
    now: datetime,
) -> None:
    settings = runtime.settings
    if play.events >= settings.session_events_limit:
        raise TooManyRequests(
            f"A play session takes at most {settings.session_events_limit} events.",
            retry_after_seconds=3600,
            code="streaming/session-event-limit",
        )
    play.events += 1
    wall_ms = max(0, int((now - play.last_event_at).total_seconds() * 1000))
    increment = listened_increment(
        previous_ms=play.last_position_ms, position_ms=event.position_ms, wall_ms=wall_ms
    )
    ceiling = play.track_duration_ms or event.position_ms
    play.listened_ms = min(play.listened_ms + increment, max(ceiling, play.listened_ms))
    play.last_position_ms = event.position_ms
    play.last_event_at = now
    if event.type == "ended":
        await _end(runtime, session, play, now)


async def _end(runtime: Runtime, session: AsyncSession, play: PlaySession, now: datetime) -> None:
    """Ends a locked, open session: decides once whether it counts, and says so."""
    settings = runtime.settings
    play.ended_at = now
    threshold = min(settings.play_count_ms, play.track_duration_ms or settings.play_count_ms)
    if play.listened_ms >= threshold:
        # Two sessions of the same user and track ending at once must not both slip
        # under the cap.
        await repository.lock_user_track(session, user_id=play.user_id, track_id=play.track_id)
        earlier = await repository.counted_plays_since(
            session, user_id=play.user_id, track_id=play.track_id, since=now - _CAP_WINDOW
        )
        if earlier >= settings.counted_plays_per_day:
            play.flagged = True
        else:
            play.counted = True
    await runtime.outbox.add(
        session,
        PlaybackEndedV1(
            user_id=play.user_id,
            track_id=play.track_id,
            session_id=play.session_id,
            ended_at=now,
            listened_ms=play.listened_ms,
            track_duration_ms=play.track_duration_ms,
            counted=play.counted,
            flagged=play.flagged,
            private_session=play.private_session,
        ),
        key=str(play.user_id),
        subject=str(play.track_id),
    )


async def end_idle_sessions(
    runtime: Runtime, *, now: datetime | None = None, batch: int = _SWEEP_BATCH
) -> int:
    """Ends every session silent for ``session_idle_seconds``; how many it ended.

    Each is ended at its last report, with what was listened until then, exactly as an
    ``ended`` report at that moment would have: the same count decision, the same cap,
    one ``playback.ended``. Batches keep each transaction (and its row locks) short.
    """
    now = now or datetime.now(UTC)
    silent_since = now - timedelta(seconds=runtime.settings.session_idle_seconds)
    ended = 0
    while True:
        async with runtime.database.transaction() as session:
            plays = await repository.idle_play_sessions(
                session, silent_since=silent_since, limit=batch
            )
            for play in plays:
                await _end(runtime, session, play, play.last_event_at)
        ended += len(plays)
        if len(plays) < batch:
            return ended
