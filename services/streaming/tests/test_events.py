"""Rights follow the catalog's and the users service's events; play sessions become
``playback.started`` / ``playback.ended`` on Kafka through the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

import m3u8
import pytest
from streaming_support import MANIFEST_KEY, Streaming, code_of, put_track

from spotilike.contracts.events.catalog import TrackCreatedV1, TrackDeletedV1, TrackUpdatedV1
from spotilike.contracts.events.playback import PlaybackEndedV1, PlaybackStartedV1
from spotilike.contracts.events.users import UserDeletedV1, UserRoleChangedV1, UserUpdatedV1
from spotilike.streaming.schemas import PlaybackEventIn
from spotilike.streaming.service.playback import record_event
from spotilike.tools.probes import collect_events, eventually, publish_event
from spotilike.tools.pytest_plugin import ScratchDatabase, ScratchTopics

pytestmark = pytest.mark.integration

App = Callable[..., AbstractAsyncContextManager[Streaming]]


def track_state(track_id: uuid.UUID, artist_id: uuid.UUID, **changes: object) -> TrackUpdatedV1:
    values: dict[str, object] = {
        "track_id": track_id,
        "artist_id": artist_id,
        "revision": 1,
        "title": "Song",
        "status": "READY",
        "published": True,
        "duration_ms": 14_000,
        "hls_manifest_key": MANIFEST_KEY,
    }
    values.update(changes)
    return TrackUpdatedV1.model_validate(values)


async def test_rights_follow_catalog_and_user_events(
    streaming_app: App, kafka_topics: ScratchTopics, kafka_bootstrap: str
) -> None:
    track, artist, user = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    topics = await kafka_topics.create(
        TrackUpdatedV1.topic,
        TrackDeletedV1.topic,
        UserUpdatedV1.topic,
        UserDeletedV1.topic,
        TrackCreatedV1.topic,
        UserRoleChangedV1.topic,
    )
    tracks_topic, deleted_topic, users_topic, user_deleted_topic = topics[:4]
    async with streaming_app(run_workers=True, topic_prefix=kafka_topics.prefix) as client:
        headers = client.listener(user)
        master_path = f"/stream/{track}/master.m3u8"

        async def status() -> int:
            return (await client.http.get(master_path, headers=headers)).status_code

        async def playable() -> bool:
            return await status() == 200

        async def refused() -> bool:
            return await status() == 403

        await publish_event(
            kafka_bootstrap, tracks_topic, track_state(track, artist), key=str(track)
        )
        await eventually(playable)

        await publish_event(
            kafka_bootstrap,
            tracks_topic,
            track_state(track, artist, revision=2, published=False),
            key=str(track),
        )
        await eventually(refused)
        # A late, older event does not bring the track back.
        await publish_event(
            kafka_bootstrap, tracks_topic, track_state(track, artist, revision=1), key=str(track)
        )
        await publish_event(
            kafka_bootstrap,
            tracks_topic,
            track_state(track, artist, revision=3, published=True),
            key=str(track),
        )
        await eventually(playable)

        await publish_event(
            kafka_bootstrap,
            users_topic,
            UserUpdatedV1(
                user_id=user,
                revision=4,
                email="a@example.com",
                display_name="A",
                streaming_quality_kbps=96,
            ),
            key=str(user),
        )

        async def capped() -> bool:
            response = await client.http.get(master_path, headers=headers)
            return len(m3u8.loads(response.text).playlists) == 1

        await eventually(capped)

        await publish_event(
            kafka_bootstrap, user_deleted_topic, UserDeletedV1(user_id=user), key=str(user)
        )
        await eventually(refused)
        gone = await client.http.get(master_path, headers=headers)
        assert code_of(gone) == "streaming/account-disabled"

        other = client.listener(uuid.uuid4())
        await publish_event(
            kafka_bootstrap,
            deleted_topic,
            TrackDeletedV1(track_id=track, revision=5),
            key=str(track),
        )

        async def deleted() -> bool:
            return (await client.http.get(master_path, headers=other)).status_code == 404

        await eventually(deleted)


async def test_a_play_session_becomes_one_started_and_one_ended_event(
    streaming_app: App,
    streaming_database: ScratchDatabase,
    kafka_topics: ScratchTopics,
    kafka_bootstrap: str,
) -> None:
    track = await put_track(streaming_database)
    user, session = uuid.uuid4(), uuid.uuid4()
    started_topic, ended_topic = await kafka_topics.create(
        PlaybackStartedV1.topic, PlaybackEndedV1.topic
    )
    async with streaming_app(
        run_workers=True, topic_prefix=kafka_topics.prefix, play_count_ms=1_000
    ) as client:
        headers = client.listener(user)
        path = f"/stream/{track}/events"
        start = {
            "type": "started",
            "session_id": str(session),
            "position_ms": 0,
            "quality_kbps": 160,
        }
        for _ in range(2):
            response = await client.http.post(path, json=start, headers=headers)
            assert response.status_code == 202, response.text
        stranger = await client.http.post(
            path,
            json={"type": "progress", "session_id": str(session), "position_ms": 10},
            headers=client.listener(uuid.uuid4()),
        )
        assert (stranger.status_code, code_of(stranger)) == (404, "streaming/session-not-found")
        bad = await client.http.post(
            path,
            json={"type": "started", "session_id": str(session), "position_ms": 0},
            headers=headers,
        )
        assert bad.status_code == 422

        started = await collect_events(kafka_bootstrap, started_topic, count=1, settle=1.0)
        assert len(started) == 1
        payload = started[0].payload()
        assert isinstance(payload, PlaybackStartedV1)
        assert (payload.user_id, payload.track_id, payload.session_id, payload.quality_kbps) == (
            user,
            track,
            session,
            160,
        )

        ended = await client.http.post(
            path,
            json={"type": "ended", "session_id": str(session), "position_ms": 900},
            headers=headers,
        )
        assert ended.status_code == 202
        assert ended.json()["ended"] is True
        again = await client.http.post(
            path,
            json={"type": "ended", "session_id": str(session), "position_ms": 900},
            headers=headers,
        )
        assert again.status_code == 202
        events = await collect_events(kafka_bootstrap, ended_topic, count=1, settle=1.0)
    assert len(events) == 1
    final = events[0].payload()
    assert isinstance(final, PlaybackEndedV1)
    assert final.session_id == session
    assert final.listened_ms == 900
    assert final.track_duration_ms == 14_000
    assert final.counted is False


async def test_counting_follows_the_wall_clock_and_caps_hammering(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    track = await put_track(streaming_database, duration_ms=200_000)
    user = uuid.uuid4()
    async with streaming_app(counted_plays_per_day=2, session_events_limit=10) as client:
        runtime = client.app.state.runtime
        t0 = datetime(2026, 12, 1, 12, tzinfo=UTC)

        async def play(*positions: tuple[int, int]) -> dict[str, object]:
            session = uuid.uuid4()
            await record_event(
                runtime,
                user_id=user,
                track_id=track,
                event=PlaybackEventIn(
                    type="started", session_id=session, position_ms=0, quality_kbps=320
                ),
                now=t0,
            )
            view = None
            for index, (seconds, position) in enumerate(positions):
                kind = "ended" if index == len(positions) - 1 else "progress"
                view = await record_event(
                    runtime,
                    user_id=user,
                    track_id=track,
                    event=PlaybackEventIn(type=kind, session_id=session, position_ms=position),
                    now=t0 + timedelta(seconds=seconds),
                )
            assert view is not None
            return view.model_dump()

        # 35 s listened in 10 s steps: counts.
        first = await play((10, 10_000), (20, 20_000), (30, 30_000), (35, 35_000))
        assert (first["listened_ms"], first["counted"]) == (35_000, True)
        # A seek to 3 minutes after 5 s adds nothing: 5 s listened, no count.
        seek = await play((5, 5_000), (6, 180_000), (7, 181_000))
        assert (seek["listened_ms"], seek["counted"]) == (6_000, False)
        second = await play((40, 40_000))
        assert second["counted"] is True
        # The third counted-length play of the day is over the cap: flagged, not counted.
        third = await play((40, 40_000))
        assert (third["counted"], third["flagged"]) == (False, True)

        chatty = uuid.uuid4()
        await record_event(
            runtime,
            user_id=user,
            track_id=track,
            event=PlaybackEventIn(
                type="started", session_id=chatty, position_ms=0, quality_kbps=96
            ),
            now=t0,
        )
        headers = client.listener(user)
        statuses = []
        for position in range(12):
            response = await client.http.post(
                f"/stream/{track}/events",
                json={"type": "progress", "session_id": str(chatty), "position_ms": position},
                headers=headers,
            )
            statuses.append(response.status_code)
        assert statuses.count(202) == 9
        assert statuses[-1] == 429
