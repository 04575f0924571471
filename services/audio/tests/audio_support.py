"""Fixtures of the audio service's tests: a migrated database, apps, real Ogg files."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from spotilike.audio.app import create_audio_app
from spotilike.audio.media import ffmpeg_path
from spotilike.audio.settings import AudioSettings
from spotilike.tools.pytest_plugin import (
    ScratchDatabase,
    TokenIssuer,
    running_app,
)

sys.path.insert(0, str(Path(__file__).parent))

MIGRATIONS = Path(__file__).parents[1] / "migrations"


def make_ogg(path: Path, *, seconds: float = 8.0, channels: int = 2) -> Path:
    """A real Vorbis file: a tone, made with the same FFmpeg the pipeline uses."""
    layout = {1: "mono", 2: "stereo", 6: "5.1"}[channels]
    subprocess.run(
        [
            ffmpeg_path(),
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}:sample_rate=44100",
            "-af",
            f"volume=-12dB,aformat=channel_layouts={layout}",
            "-c:a",
            "libvorbis",
            "-q:a",
            "4",
            "-y",
            str(path),
        ],
        check=True,
        timeout=120,
    )
    return path


@pytest.fixture(scope="module")
def audio_database(fresh_database: ScratchDatabase) -> ScratchDatabase:
    return fresh_database.migrated(MIGRATIONS)


@pytest.fixture
def settings_factory(
    audio_database: ScratchDatabase,
    redis_url: str,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> Callable[..., AudioSettings]:
    def make(**overrides: Any) -> AudioSettings:
        values: dict[str, Any] = {
            "env": "test",
            "database_url": audio_database.primary_url,
            "database_replica_url": audio_database.replica_url,
            "redis_url": redis_url,
            "kafka_bootstrap_servers": kafka_bootstrap,
            "storage_url": (tmp_path / "storage").as_uri(),
            "work_dir": tmp_path / "work",
            "upload_base_url": "http://test",
        }
        values.update(overrides)
        return AudioSettings(**values)

    return make


async def known_track(
    database: ScratchDatabase, *, status: str = "AWAITING_UPLOAD", artist_id: str | None = None
) -> tuple[str, str]:
    """A catalog track as the audio service learns it from events; (track id, artist id)."""
    track_id, artist = uuid.uuid4(), uuid.UUID(artist_id) if artist_id else uuid.uuid4()
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        await connection.execute(
            "INSERT INTO known_tracks (track_id, artist_id, status, revision, deleted)"
            " VALUES ($1, $2, $3, 1, false)",
            track_id,
            artist,
            status,
        )
    finally:
        await connection.close()
    return str(track_id), str(artist)


@dataclass
class Audio:
    http: httpx.AsyncClient
    issuer: TokenIssuer
    app: Any

    def artist(self, artist_id: str) -> dict[str, str]:
        return self.issuer.headers(roles=("ARTIST", "USER"), artist_id=artist_id)

    def admin(self) -> dict[str, str]:
        return self.issuer.headers(roles=("ADMIN", "USER"))

    async def upload(self, track_id: str, headers: dict[str, str], data: bytes) -> str:
        ticket = await self.http.post(
            "/uploads",
            json={"track_id": track_id, "size_bytes": len(data), "content_type": "audio/ogg"},
            headers=headers,
        )
        assert ticket.status_code == 201, ticket.text
        body = ticket.json()
        put = await self.http.put(
            body["upload_url"].replace(str(self.http.base_url).rstrip("/"), ""),
            content=data,
            headers={**headers, "Content-Type": "audio/ogg"},
        )
        assert put.status_code == 200, put.text
        upload_id: str = body["upload_id"]
        return upload_id


@asynccontextmanager
async def serve(app: Any, issuer: TokenIssuer) -> AsyncIterator[Audio]:
    async with running_app(app) as http:
        yield Audio(http=http, issuer=issuer, app=app)


@pytest.fixture
def audio_app(
    settings_factory: Callable[..., AudioSettings], token_issuer: TokenIssuer
) -> Callable[..., AbstractAsyncContextManager[Audio]]:
    def start(**overrides: Any) -> AbstractAsyncContextManager[Audio]:
        app = create_audio_app(
            settings_factory(**overrides),
            run_workers=False,
            token_verifier=token_issuer.verifier(),
            topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        )
        return serve(app, token_issuer)

    return start


@pytest.fixture(scope="session")
def tone(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_ogg(tmp_path_factory.mktemp("media") / "tone.ogg").read_bytes()
