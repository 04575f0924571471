"""Play sessions that stop reporting are ended by the sweep, once, as an ``ended`` report at
their last report would have ended them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

import pytest
from streaming_support import Streaming, put_track

from spotilike.contracts.events.playback import PlaybackEndedV1, PlaybackStartedV1
from spotilike.streaming import repository
from spotilike.streaming.schemas import PlaybackEventIn
from spotilike.streaming.service.playback import end_idle_sessions, record_event
from spotilike.streaming.service.runtime import Runtime
from spotilike.tools.probes import collect_events
from spotilike.tools.pytest_plugin import ScratchDatabase, ScratchTopics

pytestmark = pytest.mark.integration

App = Callable[..., AbstractAsyncContextManager[Streaming]]
# Long before anything another test of this module records, so only these sessions are idle.
T0 = datetime(2020, 3, 1, 12, tzinfo=UTC)


async def _play(
    runtime: Runtime,
    *,
    user: uuid.UUID,
    track: uuid.UUID,
    reports: list[tuple[int, int]],
    end: bool = False,
) -> uuid.UUID:
    """A session started at T0, then one report per (seconds after T0, position)."""
    session = uuid.uuid4()
    started = PlaybackEventIn(type="started", session_id=session, position_ms=0, quality_kbps=160)
    await record_event(runtime, user_id=user, track_id=track, event=started, now=T0)
    for index, (seconds, position) in enumerate(reports):
        kind = "ended" if end and index == len(reports) - 1 else "progress"
        await record_event(
            runtime,
            user_id=user,
            track_id=track,
            event=PlaybackEventIn(type=kind, session_id=session, position_ms=position),
            now=T0 + timedelta(seconds=seconds),
        )
    return session


async def _stored(runtime: Runtime, session_id: uuid.UUID) -> repository.PlaySession:
    async with runtime.database.transaction() as session:
        play = await repository.play_session(session, session_id)
    assert play is not None
    return play


# First in the module: its outbox relay publishes every row of the module's database, and
# the later tests leave rows for topics that no longer exist.
async def test_the_service_sweeps_on_its_own_and_says_playback_ended(
    streaming_app: App,
    streaming_database: ScratchDatabase,
    kafka_topics: ScratchTopics,
    kafka_bootstrap: str,
) -> None:
    track = await put_track(streaming_database)
    user = uuid.uuid4()
    _, ended_topic = await kafka_topics.create(PlaybackStartedV1.topic, PlaybackEndedV1.topic)
    async with streaming_app(
        run_workers=True,
        topic_prefix=kafka_topics.prefix,
        session_idle_seconds=600,
        session_sweep_seconds=0.2,
        play_count_ms=1_000,
    ) as client:
        runtime: Runtime = client.app.state.runtime
        session = await _play(runtime, user=user, track=track, reports=[(3, 3_000)])
        events = await collect_events(kafka_bootstrap, ended_topic, count=1)
    ours = [
        payload
        for event in events
        if isinstance(payload := event.payload(), PlaybackEndedV1) and payload.session_id == session
    ]
    assert len(ours) == 1
    assert (ours[0].listened_ms, ours[0].counted) == (3_000, True)
    assert ours[0].ended_at == T0 + timedelta(seconds=3)


async def test_silent_sessions_end_at_their_last_report_with_the_same_count_rules(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    track = await put_track(streaming_database, duration_ms=200_000)
    user = uuid.uuid4()
    async with streaming_app(counted_plays_per_day=1, session_idle_seconds=600) as client:
        runtime: Runtime = client.app.state.runtime
        listened = await _play(
            runtime, user=user, track=track, reports=[(10, 10_000), (20, 20_000), (40, 40_000)]
        )
        over_cap = await _play(runtime, user=user, track=track, reports=[(45, 45_000)])
        short = await _play(runtime, user=user, track=track, reports=[(10, 10_000)])
        already_ended = await _play(runtime, user=user, track=track, reports=[(5, 5_000)], end=True)
        recent = await _play(runtime, user=user, track=track, reports=[(20 * 60, 30_000)])

        # Ten minutes of silence from T0 + 25 min: everything reported before T0 + 15 min.
        sweep_at = T0 + timedelta(minutes=25)
        assert await end_idle_sessions(runtime, now=sweep_at) == 3
        assert await end_idle_sessions(runtime, now=sweep_at) == 0

        first = await _stored(runtime, listened)
        assert first.ended_at == T0 + timedelta(seconds=40)
        assert (first.listened_ms, first.counted, first.flagged) == (40_000, True, False)
        capped = await _stored(runtime, over_cap)
        assert (capped.counted, capped.flagged) == (False, True)
        brief = await _stored(runtime, short)
        assert brief.ended_at == T0 + timedelta(seconds=10)
        assert (brief.listened_ms, brief.counted) == (10_000, False)
        assert (await _stored(runtime, already_ended)).ended_at == T0 + timedelta(seconds=5)
        assert (await _stored(runtime, recent)).ended_at is None

        # A report arriving after the sweep finds the play over and changes nothing.
        late = await record_event(
            runtime,
            user_id=user,
            track_id=track,
            event=PlaybackEventIn(type="progress", session_id=listened, position_ms=50_000),
            now=sweep_at,
        )
        assert (late.ended, late.listened_ms, late.counted) == (True, 40_000, True)
        # The session the sweep left alone still ends the ordinary way.
        ended = await record_event(
            runtime,
            user_id=user,
            track_id=track,
            event=PlaybackEventIn(type="ended", session_id=recent, position_ms=31_000),
            now=T0 + timedelta(minutes=20, seconds=1),
        )
        assert ended.ended


async def test_concurrent_sweeps_and_small_batches_end_each_session_once(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    track = await put_track(streaming_database)
    user = uuid.uuid4()
    async with streaming_app(session_idle_seconds=600) as client:
        runtime: Runtime = client.app.state.runtime
        sessions = [
            await _play(runtime, user=user, track=track, reports=[(index, index * 1_000)])
            for index in range(1, 8)
        ]
        sweep_at = T0 + timedelta(days=1)
        ended = await asyncio.gather(
            end_idle_sessions(runtime, now=sweep_at, batch=2),
            end_idle_sessions(runtime, now=sweep_at, batch=3),
        )
        assert sum(ended) == len(sessions)
        for session_id in sessions:
            assert (await _stored(runtime, session_id)).ended_at is not None
