"""The web player's files at /: SPA fallback and cache headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from gateway_support import RunningUpstream, gateway_client, make_settings

from spotilike.gateway.settings import GatewaySettings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(upstream: RunningUpstream, redis_url: str, tmp_path: Path) -> GatewaySettings:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><div id=app></div>")
    (tmp_path / "assets" / "app-3f2a9c.js").write_text("console.log('player')")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    return make_settings(
        {"echo": [upstream.url]},
        redis_url=redis_url,
        jwks_url=upstream.url + "/.well-known/jwks.json",
        static_dir=tmp_path,
    )


async def test_the_player_is_served_with_the_right_cache_headers(
    settings: GatewaySettings,
) -> None:
    async with gateway_client(settings) as client:
        index = await client.get("/")
        deep_link = await client.get("/library/liked-songs")
        asset = await client.get("/assets/app-3f2a9c.js")
        missing_asset = await client.get("/assets/app-000000.js")
        favicon = await client.get("/favicon.svg")
        api = await client.get("/open/x")
        posted = await client.post("/library/liked-songs")
    assert index.status_code == 200
    assert "id=app" in index.text
    assert index.headers["cache-control"] == "no-cache"
    assert deep_link.status_code == 200
    assert deep_link.text == index.text
    assert deep_link.headers["cache-control"] == "no-cache"
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert missing_asset.status_code == 404
    assert favicon.headers["cache-control"] == "no-cache"
    assert api.json()["instance"] == "a"
    assert posted.status_code == 404
