"""Editing the catalog: validation, duplicates, who may touch what."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from catalog_support import Catalog

pytestmark = pytest.mark.integration


def pointers(response: Any) -> list[str]:
    return [error["pointer"] for error in response.json().get("errors", [])]


async def test_an_admin_builds_an_artist_an_album_and_a_track(catalog: Catalog) -> None:
    artist = await catalog.artist("  Björk  ", country="IS")
    assert artist["name"] == "Björk"
    genre = await catalog.http.post(
        "/catalog/genres", json={"name": "Art Pop"}, headers=catalog.admin().headers
    )
    assert genre.status_code == 201, genre.text
    assert genre.json()["slug"] == "art-pop"
    album = await catalog.album(
        artist["id"],
        "Homogenic",
        album_type="album",
        release_date="1997-09-22",
        upc="0075596206228",
        genre_ids=[genre.json()["id"]],
    )
    assert album["genres"] == ["art-pop"]
    assert album["published"] is False
    track = await catalog.track(album["id"], "Jóga", number=2, isrc="GB-AAA-97-00002")
    assert track["status"] == "DRAFT"
    assert track["isrc"] == "GBAAA9700002"
    assert track["artist"]["name"] == "Björk"


async def test_names_are_trimmed_normalized_and_bounded(catalog: Catalog) -> None:
    decomposed = "Beyonce\u0301"  # e + combining acute: NFC makes one code point
    artist = await catalog.artist(decomposed)
    assert artist["name"] == "Beyonc\u00e9"
    for bad in ("   ", "x" * 201, "bad\u0000name"):
        response = await catalog.http.post(
            "/catalog/artists", json={"name": bad}, headers=catalog.admin().headers
        )
        assert response.status_code == 422, bad
        assert "/name" in pointers(response)


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"release_date": "1066-10-14"}, "/release_date"),
        ({"release_date": "2999-01-01"}, "/release_date"),
        ({"upc": "0075596206224"}, "/upc"),
        ({"upc": "12345"}, "/upc"),
        ({"genre_ids": [str(uuid.uuid4())]}, "/genre_ids/0"),
        ({"album_type": "mixtape"}, "/album_type"),
    ],
)
async def test_album_validation_points_at_the_field(
    catalog: Catalog, fields: dict[str, Any], pointer: str
) -> None:
    artist = await catalog.artist()
    response = await catalog.http.post(
        "/catalog/albums",
        json={"artist_id": artist["id"], "title": "Fine", **fields},
        headers=catalog.admin().headers,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert pointer in pointers(response)


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"isrc": "US-XX-1"}, "/isrc"),
        ({"track_number": 0}, "/track_number"),
        ({"track_number": 1000}, "/track_number"),
        ({"disc_number": 100}, "/disc_number"),
        ({"duration_ms": 1000}, "/duration_ms"),
        ({"status": "READY"}, "/status"),
        ({"loudness_lufs": -14.0}, "/loudness_lufs"),
        ({"featured_artist_ids": [str(uuid.uuid4())]}, "/featured_artist_ids/0"),
    ],
)
async def test_track_validation_points_at_the_field(
    catalog: Catalog, fields: dict[str, Any], pointer: str
) -> None:
    artist = await catalog.artist()
    album = await catalog.album(artist["id"])
    response = await catalog.http.post(
        "/catalog/tracks",
        json={"album_id": album["id"], "title": "Fine", "track_number": 1, **fields},
        headers=catalog.admin().headers,
    )
    assert response.status_code == 422, response.text
    assert pointer in pointers(response)


async def test_track_positions_are_unique_within_an_album(catalog: Catalog) -> None:
    artist = await catalog.artist()
    album = await catalog.album(artist["id"])
    await catalog.track(album["id"], "One", number=1)
    clash = await catalog.http.post(
        "/catalog/tracks",
        json={"album_id": album["id"], "title": "Two", "track_number": 1},
        headers=catalog.admin().headers,
    )
    assert clash.status_code == 422
    assert pointers(clash) == ["/track_number"]
    other_disc = await catalog.track(album["id"], "Two", number=1, disc_number=2)
    assert other_disc["disc_number"] == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Song (feat. X)", "song"),
        ("Beyoncé Anthem", "Beyonce Anthem"),
        ("Don't Stop", "Dont  Stop"),
    ],
)
async def test_duplicate_tracks_of_one_artist_are_refused_naming_the_original(
    catalog: Catalog, first: str, second: str
) -> None:
    artist = await catalog.artist()
    album = await catalog.album(artist["id"])
    original = await catalog.track(album["id"], first, number=1)
    response = await catalog.http.post(
        "/catalog/tracks",
        json={"album_id": album["id"], "title": second, "track_number": 2},
        headers=catalog.admin().headers,
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["type"].endswith("catalog/duplicate-track")
    assert problem["existing"]["id"] == original["id"]


async def test_versions_and_other_artists_are_not_duplicates(catalog: Catalog) -> None:
    artist = await catalog.artist()
    album = await catalog.album(artist["id"])
    await catalog.track(album["id"], "Song", number=1)
    live = await catalog.track(album["id"], "Song (Live)", number=2)
    assert live["title"] == "Song (Live)"
    other = await catalog.artist()
    other_album = await catalog.album(other["id"])
    same_title = await catalog.track(other_album["id"], "Song", number=1)
    assert same_title["artist"]["id"] == other["id"]


async def test_an_isrc_and_a_upc_belong_to_one_recording_and_one_release(
    catalog: Catalog,
) -> None:
    artist = await catalog.artist()
    album = await catalog.album(artist["id"], upc="036000291452")
    taken_upc = await catalog.http.post(
        "/catalog/albums",
        json={"artist_id": artist["id"], "title": "Another", "upc": "036000291452"},
        headers=catalog.admin().headers,
    )
    assert taken_upc.status_code == 409
    assert taken_upc.json()["existing"]["id"] == album["id"]
    first = await catalog.track(album["id"], "A", number=1, isrc="USRC17607839")
    taken = await catalog.http.post(
        "/catalog/tracks",
        json={"album_id": album["id"], "title": "B", "track_number": 2, "isrc": "usrc17607839"},
        headers=catalog.admin().headers,
    )
    assert taken.status_code == 409
    assert taken.json()["existing"]["id"] == first["id"]


async def test_duplicate_albums_of_one_artist_are_refused(catalog: Catalog) -> None:
    artist = await catalog.artist()
    original = await catalog.album(artist["id"], "Greatest Hits")
    again = await catalog.http.post(
        "/catalog/albums",
        json={"artist_id": artist["id"], "title": "greatest  hits!"},
        headers=catalog.admin().headers,
    )
    assert again.status_code == 409
    assert again.json()["existing"]["id"] == original["id"]


async def test_an_artist_manager_edits_only_their_own_artist(catalog: Catalog) -> None:
    mine = await catalog.artist()
    theirs = await catalog.artist()
    me = catalog.manager_of(mine["id"])
    my_album = await catalog.album(mine["id"], editor=me)
    my_track = await catalog.track(my_album["id"], editor=me)
    their_album = await catalog.album(theirs["id"])
    their_track = await catalog.track(their_album["id"])

    attempts = [
        ("POST", "/catalog/albums", {"artist_id": theirs["id"], "title": "Mine now"}),
        ("PATCH", f"/catalog/artists/{theirs['id']}", {"bio": "hacked"}),
        ("PATCH", f"/catalog/albums/{their_album['id']}", {"title": "Mine now"}),
        ("POST", f"/catalog/albums/{their_album['id']}/publish", None),
        ("POST", f"/catalog/albums/{their_album['id']}/unpublish", None),
        ("DELETE", f"/catalog/albums/{their_album['id']}", None),
        (
            "POST",
            "/catalog/tracks",
            {"album_id": their_album["id"], "title": "x", "track_number": 9},
        ),
        ("PATCH", f"/catalog/tracks/{their_track['id']}", {"title": "Mine now"}),
        ("POST", f"/catalog/tracks/{their_track['id']}/request-upload", None),
        ("POST", f"/catalog/tracks/{their_track['id']}/publish", None),
        ("POST", f"/catalog/tracks/{their_track['id']}/unpublish", None),
        ("DELETE", f"/catalog/tracks/{their_track['id']}", None),
    ]
    for method, path, body in attempts:
        response = await catalog.http.request(method, path, json=body, headers=me.headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["type"].endswith("catalog/not-your-artist")

    renamed = await catalog.http.patch(
        f"/catalog/tracks/{my_track['id']}", json={"title": "Renamed"}, headers=me.headers
    )
    assert renamed.status_code == 200
    unchanged = await catalog.http.get(
        f"/catalog/tracks/{their_track['id']}", headers=catalog.admin().headers
    )
    assert unchanged.json()["title"] == their_track["title"]


async def test_listeners_and_artists_cannot_do_admin_work(catalog: Catalog) -> None:
    artist = await catalog.artist()
    for editor in (catalog.listener(), catalog.manager_of(artist["id"])):
        created = await catalog.http.post(
            "/catalog/artists", json={"name": "New"}, headers=editor.headers
        )
        assert created.status_code == 403
        genre = await catalog.http.post(
            "/catalog/genres", json={"name": "Noise"}, headers=editor.headers
        )
        assert genre.status_code == 403
        removed = await catalog.http.delete(
            f"/catalog/artists/{artist['id']}", headers=editor.headers
        )
        assert removed.status_code == 403
    manager = catalog.manager_of(artist["id"])
    reassigned = await catalog.http.patch(
        f"/catalog/artists/{artist['id']}",
        json={"user_id": str(uuid.uuid4())},
        headers=manager.headers,
    )
    assert reassigned.status_code == 403
    anonymous = await catalog.http.post(
        "/catalog/albums", json={"artist_id": artist["id"], "title": "x"}
    )
    assert anonymous.status_code == 401


async def test_a_track_is_published_only_when_ready(catalog: Catalog) -> None:
    artist = await catalog.artist()
    album = await catalog.album(artist["id"])
    track = await catalog.track(album["id"])
    early = await catalog.http.post(
        f"/catalog/tracks/{track['id']}/publish", headers=catalog.admin().headers
    )
    assert early.status_code == 409
    assert early.json()["type"].endswith("catalog/not-ready")
    waiting = await catalog.http.post(
        f"/catalog/tracks/{track['id']}/request-upload", headers=catalog.admin().headers
    )
    assert waiting.json()["status"] == "AWAITING_UPLOAD"
    twice = await catalog.http.post(
        f"/catalog/tracks/{track['id']}/request-upload", headers=catalog.admin().headers
    )
    assert twice.status_code == 409
    assert twice.json()["type"].endswith("catalog/illegal-transition")


async def test_deleting_an_album_deletes_its_tracks_and_frees_their_titles(
    catalog: Catalog,
) -> None:
    artist = await catalog.artist()
    album = await catalog.album(artist["id"], "Gone")
    track = await catalog.track(album["id"], "Gone Song", isrc="USRC17600001")
    removed = await catalog.http.delete(
        f"/catalog/albums/{album['id']}", headers=catalog.admin().headers
    )
    assert removed.status_code == 204
    admin = catalog.admin().headers
    assert (
        await catalog.http.get(f"/catalog/tracks/{track['id']}", headers=admin)
    ).status_code == 404
    assert (
        await catalog.http.get(f"/catalog/albums/{album['id']}", headers=admin)
    ).status_code == 404
    again = await catalog.album(artist["id"], "Gone")
    await catalog.track(again["id"], "Gone Song", isrc="USRC17600001")


async def test_a_upc_a_and_its_ean_13_form_are_one_barcode(catalog: Catalog) -> None:
    artist = await catalog.artist()
    album = await catalog.album(artist["id"], upc="012345678905")
    assert album["upc"] == "0012345678905"
    again = await catalog.http.post(
        "/catalog/albums",
        json={"artist_id": artist["id"], "title": "Other", "upc": "0012345678905"},
        headers=catalog.admin().headers,
    )
    assert again.status_code == 409
