"""The track lifecycle driven by real events from Kafka, and the events the catalog emits."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from catalog_support import Catalog, serve

from spotilike.catalog.app import create_catalog_app
from spotilike.catalog.settings import CatalogSettings
from spotilike.contracts.events.media import (
    ProcessingCompletedV1,
    ProcessingFailedV1,
    Rendition,
    UploadCompletedV1,
)
from spotilike.tools.probes import eventually, publish_event
from spotilike.tools.pytest_plugin import ScratchDatabase, ScratchTopics, TokenIssuer

pytestmark = pytest.mark.integration

PREFIX = re.compile(r"^t[0-9a-f]{8}\.")


async def track_row(database: ScratchDatabase, track_id: str) -> asyncpg.Record:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        row = await connection.fetchrow("SELECT * FROM tracks WHERE id = $1", uuid.UUID(track_id))
    finally:
        await connection.close()
    assert row is not None
    return row


def completed(track_id: str, upload_id: uuid.UUID) -> ProcessingCompletedV1:
    return ProcessingCompletedV1(
        track_id=uuid.UUID(track_id),
        upload_id=upload_id,
        duration_ms=201_000,
        master_playlist_key=f"hls/{track_id}/master.m3u8",
        renditions=tuple(
            Rendition(
                bitrate_kbps=kbps,
                playlist_key=f"hls/{track_id}/{kbps}.m3u8",
                bandwidth=kbps * 1100,
                average_bandwidth=kbps * 1000,
            )
            for kbps in (96, 160, 320)
        ),
        download_key=f"dl/{track_id}.m4a",
        peaks_key=f"peaks/{track_id}.json",
        integrated_lufs=-10.2,
        gain_db=-3.8,
    )


async def test_upload_and_processing_events_move_the_track_and_refresh_its_page(
    settings_factory: Callable[..., CatalogSettings],
    catalog_database: ScratchDatabase,
    kafka_topics: ScratchTopics,
    kafka_bootstrap: str,
    token_issuer: TokenIssuer,
) -> None:
    await kafka_topics.create(
        "upload.completed",
        "processing.completed",
        "processing.failed",
        "user.deleted",
        *[
            f"catalog.{kind}.{change}"
            for kind in ("artist", "album", "track")
            for change in ("created", "updated", "deleted")
        ],
        "upload.completed.dlq",
        "processing.completed.dlq",
        "processing.failed.dlq",
        "user.deleted.dlq",
    )
    app = create_catalog_app(
        settings_factory(),
        topic_prefix=kafka_topics.prefix,
        token_verifier=token_issuer.verifier(),
    )
    async with serve(app, token_issuer) as catalog:
        artist = await catalog.artist()
        album = await catalog.album(artist["id"])
        admin = catalog.admin().headers
        await catalog.http.post(f"/catalog/albums/{album['id']}/publish", headers=admin)
        good = await catalog.track(album["id"], "Works", number=1)
        bad = await catalog.track(album["id"], "Breaks", number=2)
        await catalog.http.post(f"/catalog/tracks/{good['id']}/request-upload", headers=admin)
        page_before = (await catalog.http.get(f"/catalog/albums/{album['id']}")).json()
        assert page_before["tracks"] == []  # nothing READY yet, and now cached

        uploads = {good["id"]: uuid.uuid4(), bad["id"]: uuid.uuid4()}
        for track_id, upload_id in uploads.items():
            await publish_event(
                kafka_bootstrap,
                kafka_topics.name("upload.completed"),
                UploadCompletedV1(
                    upload_id=upload_id,
                    track_id=uuid.UUID(track_id),
                    owner_id=uuid.uuid4(),
                    storage_key=f"uploads/{upload_id}.ogg",
                    size_bytes=123_456,
                    content_type="audio/ogg",
                ),
                key=track_id,
            )

        async def processing() -> bool:
            rows = [await track_row(catalog_database, t) for t in uploads]
            return all(r["status"] == "PROCESSING" for r in rows)

        await eventually(processing)

        # A result for an older upload is stale and changes nothing.
        await publish_event(
            kafka_bootstrap,
            kafka_topics.name("processing.completed"),
            completed(good["id"], uuid.uuid4()),
            key=good["id"],
        )
        await publish_event(
            kafka_bootstrap,
            kafka_topics.name("processing.completed"),
            completed(good["id"], uploads[good["id"]]),
            key=good["id"],
        )
        await publish_event(
            kafka_bootstrap,
            kafka_topics.name("processing.failed"),
            ProcessingFailedV1(
                track_id=uuid.UUID(bad["id"]),
                upload_id=uploads[bad["id"]],
                reason="The file is not an Ogg stream.",
                stage="probe",
            ),
            key=bad["id"],
        )

        async def settled() -> bool:
            rows = [await track_row(catalog_database, t) for t in uploads]
            return [r["status"] for r in rows] == ["READY", "FAILED"]

        await eventually(settled)
        ready = await track_row(catalog_database, good["id"])
        assert ready["duration_ms"] == 201_000
        assert sorted(ready["renditions_kbps"]) == [96, 160, 320]
        assert ready["gain_db"] == pytest.approx(-3.8)
        failed = await catalog.http.get(f"/catalog/tracks/{bad['id']}", headers=admin)
        assert failed.json()["failure_reason"] == "The file is not an Ogg stream."

        published = await catalog.http.post(f"/catalog/tracks/{good['id']}/publish", headers=admin)
        assert published.status_code == 200
        page = (await catalog.http.get(f"/catalog/albums/{album['id']}")).json()
        assert [t["id"] for t in page["tracks"]] == [good["id"]]
        assert page["tracks"][0]["duration_ms"] == 201_000


async def outbox(database: ScratchDatabase) -> list[tuple[str, dict[str, Any]]]:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        rows = await connection.fetch("SELECT topic, payload FROM outbox ORDER BY id")
    finally:
        await connection.close()
    # The test app's topics carry a per-test prefix ("t1a2b3c4d."); the registry name follows.
    return [(PREFIX.sub("", row["topic"]), json.loads(row["payload"])) for row in rows]


async def test_events_are_emitted_exactly_for_committed_changes(
    catalog: Catalog, catalog_database: ScratchDatabase
) -> None:
    before = len(await outbox(catalog_database))
    artist = await catalog.artist()
    album = await catalog.album(artist["id"], "Events")
    track = await catalog.track(album["id"], "Evented", number=1)
    admin = catalog.admin().headers
    # Refused writes emit nothing.
    duplicate = await catalog.http.post(
        "/catalog/tracks",
        json={"album_id": album["id"], "title": "evented", "track_number": 2},
        headers=admin,
    )
    assert duplicate.status_code == 409
    invalid = await catalog.http.patch(
        f"/catalog/albums/{album['id']}", json={"upc": "1"}, headers=admin
    )
    assert invalid.status_code == 422
    renamed = await catalog.http.patch(
        f"/catalog/tracks/{track['id']}", json={"title": "Evented Again"}, headers=admin
    )
    assert renamed.status_code == 200
    removed = await catalog.http.delete(f"/catalog/tracks/{track['id']}", headers=admin)
    assert removed.status_code == 204

    events = (await outbox(catalog_database))[before:]
    topics = [topic for topic, _ in events]
    assert topics == [
        "catalog.artist.created",
        "catalog.album.created",
        "catalog.track.created",
        "catalog.track.updated",
        "catalog.track.deleted",
    ]
    track_events = [payload for topic, payload in events if topic.startswith("catalog.track")]
    assert [e["revision"] for e in track_events] == [1, 2, 3]
    created = track_events[0]
    assert created["artist_name"] == artist["name"]
    assert created["album_title"] == "Events"
    assert created["status"] == "DRAFT"
    assert track_events[1]["title"] == "Evented Again"
