"""Reading the catalog: pages, lists, search, visibility, the cache and the replica."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from catalog_support import Catalog, metric, processed, released

from spotilike.catalog import repository
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration


async def test_the_album_page_shows_published_ready_tracks_in_order(
    catalog: Catalog, catalog_database: ScratchDatabase
) -> None:
    release = await released(catalog, catalog_database, tracks=3)
    album_id = release["album"]["id"]
    draft = await catalog.track(album_id, "Unfinished", number=9)
    page = await catalog.http.get(f"/catalog/albums/{album_id}")
    assert page.status_code == 200, page.text
    body = page.json()
    assert [t["track_number"] for t in body["tracks"]] == [1, 2, 3]
    assert draft["id"] not in {t["id"] for t in body["tracks"]}
    assert all(t["failure_reason"] is None for t in body["tracks"])
    editor = await catalog.http.get(
        f"/catalog/albums/{album_id}", headers=catalog.manager_of(release["artist"]["id"]).headers
    )
    assert draft["id"] in {t["id"] for t in editor.json()["tracks"]}


async def test_unpublished_albums_and_tracks_are_hidden_from_listeners(catalog: Catalog) -> None:
    artist = await catalog.artist()
    album = await catalog.album(artist["id"])
    track = await catalog.track(album["id"])
    for path in (f"/catalog/albums/{album['id']}", f"/catalog/tracks/{track['id']}"):
        assert (await catalog.http.get(path)).status_code == 404
        assert (await catalog.http.get(path, headers=catalog.listener().headers)).status_code == 404
        assert (await catalog.http.get(path, headers=catalog.admin().headers)).status_code == 200
    drafts = await catalog.http.get(
        "/catalog/albums", params={"include_unpublished": "true", "artist_id": artist["id"]}
    )
    assert drafts.status_code == 422


async def test_the_artist_page_has_albums_and_top_tracks(
    catalog: Catalog, catalog_database: ScratchDatabase
) -> None:
    release = await released(catalog, catalog_database, tracks=2)
    page = await catalog.http.get(f"/catalog/artists/{release['artist']['id']}")
    assert page.status_code == 200
    body = page.json()
    assert [a["id"] for a in body["albums"]] == [release["album"]["id"]]
    assert {t["id"] for t in body["top_tracks"]} == {t["id"] for t in release["tracks"]}


async def test_lists_page_with_cursors_without_gaps_or_repeats(
    catalog: Catalog, catalog_database: ScratchDatabase
) -> None:
    release = await released(catalog, catalog_database, tracks=5)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"album_id": release["album"]["id"], "sort": "title", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        page = (await catalog.http.get("/catalog/tracks", params=params)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    titles = {t["id"]: t["title"] for t in release["tracks"]}
    assert sorted(seen) == sorted(titles)
    assert [titles[i] for i in seen] == sorted(titles.values())
    forged = await catalog.http.get("/catalog/tracks", params={"cursor": "not-a-cursor"})
    assert forged.status_code == 422
    assert forged.json()["errors"][0]["pointer"] == "/cursor"


async def test_albums_filter_by_artist_genre_and_year(
    catalog: Catalog, catalog_database: ScratchDatabase
) -> None:
    genre = await catalog.http.post(
        "/catalog/genres", json={"name": f"Genre {id(catalog)}"}, headers=catalog.admin().headers
    )
    genre_id = genre.json()["id"]
    release = await released(catalog, catalog_database, tracks=1)
    album_id = release["album"]["id"]
    await catalog.http.patch(
        f"/catalog/albums/{album_id}",
        json={"genre_ids": [genre_id]},
        headers=catalog.admin().headers,
    )
    await catalog_database.replica_caught_up()
    by_genre = (await catalog.http.get("/catalog/albums", params={"genre_id": genre_id})).json()
    assert [a["id"] for a in by_genre["items"]] == [album_id]
    by_year = (
        await catalog.http.get(
            "/catalog/albums", params={"artist_id": release["artist"]["id"], "year": 2020}
        )
    ).json()
    assert [a["id"] for a in by_year["items"]] == [album_id]
    other_year = (
        await catalog.http.get(
            "/catalog/albums", params={"artist_id": release["artist"]["id"], "year": 2019}
        )
    ).json()
    assert other_year["items"] == []


async def test_search_matches_exactly_ignoring_case_and_accents(
    catalog: Catalog, catalog_database: ScratchDatabase
) -> None:
    artist = await catalog.artist("Sigur Rós")
    album = await catalog.album(artist["id"], "Ágætis byrjun", release_date="1999-06-12")
    track = await catalog.track(album["id"], "Svefn-g-englar")
    await processed(catalog_database, track["id"])
    admin = catalog.admin().headers
    await catalog.http.post(f"/catalog/tracks/{track['id']}/publish", headers=admin)
    await catalog.http.post(f"/catalog/albums/{album['id']}/publish", headers=admin)
    await catalog_database.replica_caught_up()

    found = (await catalog.http.get("/catalog/search", params={"q": "SIGUR ROS"})).json()
    assert [a["id"] for a in found["artists"]] == [artist["id"]]
    assert [
        a["id"]
        for a in (await catalog.http.get("/catalog/search", params={"q": "agaetis byrjun"})).json()[
            "albums"
        ]
    ] == [album["id"]]
    assert [
        t["id"]
        for t in (await catalog.http.get("/catalog/search", params={"q": "svefn-g-englar"})).json()[
            "tracks"
        ]
    ] == [track["id"]]
    partial = (await catalog.http.get("/catalog/search", params={"q": "Sigur"})).json()
    assert partial["artists"] == []


async def test_pages_are_cached_and_every_kind_of_write_invalidates_them(
    catalog: Catalog, catalog_database: ScratchDatabase
) -> None:
    release = await released(catalog, catalog_database, tracks=2)
    album_id = release["album"]["id"]
    artist_id = release["artist"]["id"]
    admin = catalog.admin().headers
    namespace = catalog.app.state.runtime.pages.namespace

    async def counters() -> tuple[float, float]:
        text = (await catalog.http.get("/metrics")).text
        return (
            metric(text, "spotilike_cache_hits_total", namespace=namespace),
            metric(text, "spotilike_cache_misses_total", namespace=namespace),
        )

    async def page() -> dict[str, object]:
        response = await catalog.http.get(f"/catalog/albums/{album_id}")
        assert response.status_code == 200
        body: dict[str, object] = response.json()
        return body

    hits, misses = await counters()
    await page()
    await page()
    hits_after, misses_after = await counters()
    assert misses_after - misses == 1
    assert hits_after - hits == 1

    writes = [
        ("PATCH", f"/catalog/albums/{album_id}", {"title": "Renamed Album"}),
        ("PATCH", f"/catalog/tracks/{release['tracks'][0]['id']}", {"title": "Renamed Track"}),
        ("PATCH", f"/catalog/artists/{artist_id}", {"name": "Renamed Artist"}),
        ("POST", f"/catalog/tracks/{release['tracks'][1]['id']}/unpublish", None),
    ]
    for method, path, body in writes:
        response = await catalog.http.request(method, path, json=body, headers=admin)
        assert response.status_code == 200, response.text
        current = await page()
        album = current["album"]
        tracks = current["tracks"]
        assert isinstance(album, dict)
        assert isinstance(tracks, list)
        if "albums" in path:
            assert album["title"] == "Renamed Album"
        if "artists" in path:
            assert album["artist"]["name"] == "Renamed Artist"
        if path.endswith("/unpublish"):
            assert release["tracks"][1]["id"] not in {t["id"] for t in tracks}
        if "tracks" in path and body:
            assert "Renamed Track" in {t["title"] for t in tracks}

    artist_page = (await catalog.http.get(f"/catalog/artists/{artist_id}")).json()
    assert artist_page["artist"]["name"] == "Renamed Artist"
    unpublished = await catalog.http.post(f"/catalog/albums/{album_id}/unpublish", headers=admin)
    assert unpublished.status_code == 200
    assert (await catalog.http.get(f"/catalog/albums/{album_id}")).status_code == 404


async def test_concurrent_misses_load_the_page_once(
    catalog: Catalog, catalog_database: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = await released(catalog, catalog_database, tracks=1)
    album_id = release["album"]["id"]
    loads = 0
    original = repository.album

    async def counting(session: Any, wanted: Any, **kwargs: Any) -> Any:
        nonlocal loads
        if str(wanted) == album_id:
            loads += 1
        return await original(session, wanted, **kwargs)

    monkeypatch.setattr(repository, "album", counting)
    responses = await asyncio.gather(
        *[catalog.http.get(f"/catalog/albums/{album_id}") for _ in range(20)]
    )
    assert {r.status_code for r in responses} == {200}
    assert loads == 1


async def test_reads_go_to_the_replica_except_an_editors_own_right_after_writing(
    catalog: Catalog, catalog_database: ScratchDatabase
) -> None:
    application = "spotilike-catalog"

    async def reads() -> dict[str, float]:
        text = (await catalog.http.get("/metrics")).text
        return {
            target: metric(
                text, "spotilike_db_read_sessions_total", application=application, target=target
            )
            for target in ("replica", "primary-own-writes")
        }

    artist = await catalog.artist()
    editor = catalog.manager_of(artist["id"])
    before = await reads()
    await catalog.http.get("/catalog/artists", params={"limit": "1"})
    after_anonymous = await reads()
    assert after_anonymous["replica"] - before["replica"] == 1
    assert after_anonymous["primary-own-writes"] == before["primary-own-writes"]

    album = await catalog.album(artist["id"], editor=editor)
    own = await catalog.http.get(f"/catalog/albums/{album['id']}", headers=editor.headers)
    assert own.status_code == 200  # on the primary: the replica may not have it yet
    after_own = await reads()
    assert after_own["primary-own-writes"] - after_anonymous["primary-own-writes"] == 1
