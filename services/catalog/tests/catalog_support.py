"""Fixtures of the catalog's tests: a migrated database, apps on the real stack, editors."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from spotilike.catalog.app import create_catalog_app
from spotilike.catalog.settings import CatalogSettings
from spotilike.tools.pytest_plugin import (
    ScratchDatabase,
    TokenIssuer,
    running_app,
)

sys.path.insert(0, str(Path(__file__).parent))

MIGRATIONS = Path(__file__).parents[1] / "migrations"


@pytest.fixture(scope="module")
def catalog_database(fresh_database: ScratchDatabase) -> ScratchDatabase:
    return fresh_database.migrated(MIGRATIONS)


@pytest.fixture
def settings_factory(
    catalog_database: ScratchDatabase, redis_url: str, kafka_bootstrap: str
) -> Callable[..., CatalogSettings]:
    def make(**overrides: Any) -> CatalogSettings:
        values: dict[str, Any] = {
            "env": "test",
            "database_url": catalog_database.primary_url,
            "database_replica_url": catalog_database.replica_url,
            "redis_url": redis_url,
            "kafka_bootstrap_servers": kafka_bootstrap,
        }
        values.update(overrides)
        return CatalogSettings(**values)

    return make


@dataclass
class Editor:
    """Who is calling: headers for a token with these roles (and managed artist)."""

    user_id: str
    headers: dict[str, str]


@dataclass
class Catalog:
    """An HTTP client on the catalog app and the tokens to call it with."""

    http: httpx.AsyncClient
    issuer: TokenIssuer
    app: Any

    def admin(self) -> Editor:
        user = str(uuid.uuid4())
        return Editor(user, self.issuer.headers(user, roles=("ADMIN", "USER")))

    def listener(self) -> Editor:
        user = str(uuid.uuid4())
        return Editor(user, self.issuer.headers(user, roles=("USER",)))

    def manager_of(self, artist_id: str) -> Editor:
        user = str(uuid.uuid4())
        return Editor(
            user, self.issuer.headers(user, roles=("ARTIST", "USER"), artist_id=artist_id)
        )

    async def artist(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/catalog/artists",
            json={"name": name or f"Artist {uuid.uuid4().hex[:8]}", **fields},
            headers=self.admin().headers,
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def album(
        self,
        artist_id: str,
        title: str | None = None,
        *,
        editor: Editor | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/catalog/albums",
            json={
                "artist_id": artist_id,
                "title": title or f"Album {uuid.uuid4().hex[:8]}",
                **fields,
            },
            headers=(editor or self.admin()).headers,
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def track(
        self,
        album_id: str,
        title: str | None = None,
        *,
        number: int = 1,
        editor: Editor | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/catalog/tracks",
            json={
                "album_id": album_id,
                "title": title or f"Track {uuid.uuid4().hex[:8]}",
                "track_number": number,
                **fields,
            },
            headers=(editor or self.admin()).headers,
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@asynccontextmanager
async def serve(app: Any, issuer: TokenIssuer) -> AsyncIterator[Catalog]:
    async with running_app(app) as http:
        yield Catalog(http=http, issuer=issuer, app=app)


@pytest.fixture
def catalog_app(
    settings_factory: Callable[..., CatalogSettings], token_issuer: TokenIssuer
) -> Callable[..., AbstractAsyncContextManager[Catalog]]:
    """``async with catalog_app(**settings) as catalog``: an app without workers."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[Catalog]:
        app = create_catalog_app(
            settings_factory(**overrides),
            run_workers=False,
            token_verifier=token_issuer.verifier(),
            topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        )
        return serve(app, token_issuer)

    return start


@pytest.fixture
async def catalog(
    catalog_app: Callable[..., AbstractAsyncContextManager[Catalog]],
) -> AsyncIterator[Catalog]:
    async with catalog_app() as client:
        yield client


async def processed(database: ScratchDatabase, track_id: str) -> None:
    """Marks a track READY as processing would; the lifecycle tests use real events."""
    import asyncpg

    connection = await asyncpg.connect(database.primary_dsn)
    try:
        await connection.execute(
            "UPDATE tracks SET status = 'READY', duration_ms = 215000,"
            " renditions_kbps = '{96,160,320}', loudness_lufs = -9.5, gain_db = -4.5,"
            " hls_manifest_key = 'hls/' || id || '/master.m3u8' WHERE id = $1",
            uuid.UUID(track_id),
        )
    finally:
        await connection.close()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def released(catalog: Catalog, database: ScratchDatabase, tracks: int = 3) -> dict[str, Any]:
    """An artist with a published album of READY, published tracks."""
    artist = await catalog.artist()
    album = await catalog.album(artist["id"], release_date="2020-05-01")
    made = []
    admin = catalog.admin().headers
    for number in range(1, tracks + 1):
        track = await catalog.track(album["id"], number=number)
        await processed(database, track["id"])
        published = await catalog.http.post(f"/catalog/tracks/{track['id']}/publish", headers=admin)
        assert published.status_code == 200, published.text
        made.append(track)
    response = await catalog.http.post(f"/catalog/albums/{album['id']}/publish", headers=admin)
    assert response.status_code == 200, response.text
    # Anonymous reads go to the replica, which replays these writes a moment later.
    await database.replica_caught_up()
    return {"artist": artist, "album": album, "tracks": made}
