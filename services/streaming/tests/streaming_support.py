"""Fixtures of the streaming service's tests: a migrated database, real HLS media in
storage laid out as the audio service publishes it, and apps around both."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import imageio_ffmpeg
import pytest

from spotilike.streaming.app import create_streaming_app
from spotilike.streaming.settings import StreamingSettings
from spotilike.tools.pytest_plugin import (
    ScratchDatabase,
    TokenIssuer,
    running_app,
)

MIGRATIONS = Path(__file__).parents[1] / "migrations"
MEDIA_PREFIX = "tracks/fixture/versions/v1"
MANIFEST_KEY = f"{MEDIA_PREFIX}/master.m3u8"
DOWNLOAD_KEY = f"{MEDIA_PREFIX}/download.m4a"
MEDIA_SECONDS = 14.0
QUALITIES = (96, 160, 320)


def _ffmpeg(*arguments: str, cwd: Path) -> None:
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            *arguments,
        ],
        check=True,
        timeout=180,
        cwd=cwd,
    )


def make_hls_set(folder: Path) -> Path:
    """Three AAC renditions as 6-second MPEG-TS segments, a master and a download, named
    the way the audio service names them (``<kbps>/index.m3u8``, ``segment_NNNNN.ts``)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = ["-f", "lavfi", "-i", f"sine=frequency=330:duration={MEDIA_SECONDS}:sample_rate=44100"]
    variants = []
    for kbps in QUALITIES:
        (folder / str(kbps)).mkdir(exist_ok=True)
        _ffmpeg(
            *source,
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-b:a",
            f"{kbps}k",
            "-f",
            "hls",
            "-hls_time",
            "6",
            "-hls_playlist_type",
            "vod",
            "-hls_segment_filename",
            f"{kbps}/segment_%05d.ts",
            f"{kbps}/index.m3u8",
            cwd=folder,
        )
        variants.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={kbps * 1100},AVERAGE-BANDWIDTH={kbps * 1000},"
            f'CODECS="mp4a.40.2"\n{kbps}/index.m3u8\n'
        )
    (folder / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n" + "".join(variants), encoding="utf-8"
    )
    _ffmpeg(
        *source,
        "-ac",
        "2",
        "-c:a",
        "aac",
        "-b:a",
        "320k",
        "-movflags",
        "+faststart",
        "download.m4a",
        cwd=folder,
    )
    # A tiny audiowaveform v2 document; the route passes it through as stored.
    (folder / "peaks.json").write_text(
        '{"version": 2, "channels": 1, "sample_rate": 44100, "samples_per_pixel": 441,'
        ' "bits": 8, "length": 2, "data": [-10, 12, -8, 9]}',
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="session")
def hls_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rendition folder, made once per run."""
    return make_hls_set(tmp_path_factory.mktemp("hls") / "set")


@pytest.fixture
def media_storage(hls_media: Path, tmp_path: Path) -> Path:
    """A storage root holding the rendition set under :data:`MEDIA_PREFIX`."""
    root = tmp_path / "storage"
    shutil.copytree(hls_media, root / MEDIA_PREFIX)
    return root


@pytest.fixture(scope="module")
def streaming_database(fresh_database: ScratchDatabase) -> ScratchDatabase:
    return fresh_database.migrated(MIGRATIONS)


@pytest.fixture
def settings_factory(
    streaming_database: ScratchDatabase,
    redis_url: str,
    kafka_bootstrap: str,
    media_storage: Path,
) -> Callable[..., StreamingSettings]:
    def make(**overrides: Any) -> StreamingSettings:
        values: dict[str, Any] = {
            "env": "test",
            "database_url": streaming_database.primary_url,
            "database_replica_url": streaming_database.replica_url,
            "redis_url": redis_url,
            "kafka_bootstrap_servers": kafka_bootstrap,
            "storage_url": media_storage.as_uri(),
            "rate_limit": "1000/second",
        }
        values.update(overrides)
        return StreamingSettings(**values)

    return make


async def put_track(
    database: ScratchDatabase,
    *,
    track_id: uuid.UUID | None = None,
    artist_id: uuid.UUID | None = None,
    status: str = "READY",
    published: bool = True,
    explicit: bool = False,
    deleted: bool = False,
    revision: int = 1,
    manifest_key: str | None = MANIFEST_KEY,
    download_key: str | None = DOWNLOAD_KEY,
    duration_ms: int = int(MEDIA_SECONDS * 1000),
) -> uuid.UUID:
    """A track as the projection holds it after the catalog's events."""
    track_id = track_id or uuid.uuid4()
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        await connection.execute(
            "INSERT INTO playable_tracks (track_id, artist_id, revision, status, published,"
            " explicit, deleted, duration_ms, hls_manifest_key, download_key)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " ON CONFLICT (track_id) DO UPDATE SET revision = EXCLUDED.revision,"
            " status = EXCLUDED.status, published = EXCLUDED.published,"
            " explicit = EXCLUDED.explicit, deleted = EXCLUDED.deleted,"
            " hls_manifest_key = EXCLUDED.hls_manifest_key,"
            " download_key = EXCLUDED.download_key",
            track_id,
            artist_id or uuid.uuid4(),
            revision,
            status,
            published,
            explicit,
            deleted,
            duration_ms,
            manifest_key,
            download_key,
        )
    finally:
        await connection.close()
    return track_id


async def put_listener(
    database: ScratchDatabase,
    user_id: uuid.UUID,
    *,
    quality: int = 320,
    explicit_allowed: bool = True,
    disabled: bool = False,
) -> None:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        await connection.execute(
            "INSERT INTO listeners (user_id, revision, streaming_quality_kbps,"
            " explicit_content_allowed, private_session, disabled, deleted, roles_revision,"
            " admin) VALUES ($1, 1, $2, $3, false, $4, false, -1, false)",
            user_id,
            quality,
            explicit_allowed,
            disabled,
        )
    finally:
        await connection.close()


@dataclass
class Streaming:
    http: httpx.AsyncClient
    issuer: TokenIssuer
    app: Any

    def listener(self, user_id: uuid.UUID, **claims: Any) -> dict[str, str]:
        return self.issuer.headers(str(user_id), roles=("USER",), **claims)


@asynccontextmanager
async def _serve(app: Any, issuer: TokenIssuer) -> AsyncIterator[Streaming]:
    async with running_app(app) as http:
        yield Streaming(http=http, issuer=issuer, app=app)


@pytest.fixture
def make_app(
    settings_factory: Callable[..., StreamingSettings], token_issuer: TokenIssuer
) -> Callable[..., Any]:
    """A streaming app (not started), verifying the test issuer's tokens."""

    def make(
        *, run_workers: bool = False, topic_prefix: str | None = None, **overrides: Any
    ) -> Any:
        return create_streaming_app(
            settings_factory(**overrides),
            run_workers=run_workers,
            token_verifier=token_issuer.verifier(),
            topic_prefix=topic_prefix or f"t{uuid.uuid4().hex[:8]}.",
        )

    return make


@pytest.fixture
def streaming_app(
    make_app: Callable[..., Any], token_issuer: TokenIssuer
) -> Callable[..., AbstractAsyncContextManager[Streaming]]:
    def start(**options: Any) -> AbstractAsyncContextManager[Streaming]:
        return _serve(make_app(**options), token_issuer)

    return start


async def raw_get(base_url: str, target: str) -> tuple[int, bytes]:
    """GET with ``target`` sent byte for byte: no client normalises its dots or escapes."""
    address = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {address.netloc}\r\nConnection: close\r\n\r\n".encode(
                "latin-1"
            )
        )
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def code_of(response: httpx.Response) -> str:
    """The problem code of an error response (the last part of its ``type`` URI)."""
    assert response.headers["content-type"] == "application/problem+json", response.text
    problem_type: str = response.json()["type"]
    return problem_type.split("/problems/", 1)[1]


def query_of(uri: str) -> dict[str, str]:
    """The query parameters of a playlist URI (a playback link's ``u`` and ``t``)."""
    return {key: values[0] for key, values in parse_qs(urlsplit(uri).query).items()}
