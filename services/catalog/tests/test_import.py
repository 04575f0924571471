"""Bulk import: rows in, artists, albums and tracks out, and a report of the rows that failed."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from catalog_support import Catalog, Editor
from typer.testing import CliRunner

from spotilike.catalog import cli
from spotilike.catalog.service.imports import parse_rows
from spotilike.tools.pytest_plugin import ScratchDatabase, wait_for_replica

integration = pytest.mark.integration
AlbumsOf = Callable[[str], Awaitable[dict[str, dict[str, Any]]]]


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def new_isrc() -> str:
    return f"QZ{uuid.uuid4().hex[:3].upper()}24{secrets.randbelow(100_000):05d}"


def new_ean() -> str:
    """An EAN-13, the form the catalog keeps every barcode in."""
    body = f"{secrets.randbelow(10**12):012d}"
    weighted = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body[::-1]))
    return body + str((10 - weighted % 10) % 10)


async def new_genre(catalog: Catalog) -> str:
    response = await catalog.http.post(
        "/catalog/genres", json={"name": unique("Genre")}, headers=catalog.admin().headers
    )
    assert response.status_code == 201, response.text
    slug: str = response.json()["slug"]
    return slug


async def post_import(
    catalog: Catalog,
    body: Any,
    *,
    editor: Editor | None = None,
    content_type: str = "application/json",
) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    response: httpx.Response = await catalog.http.post(
        "/catalog/import",
        content=content,
        headers={**(editor or catalog.admin()).headers, "Content-Type": content_type},
    )
    return response


def report_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def errors_by_row(report: dict[str, Any]) -> dict[int, list[tuple[str | None, str]]]:
    found: dict[int, list[tuple[str | None, str]]] = {}
    for error in report["errors"]:
        found.setdefault(error["row"], []).append((error["pointer"], error["code"]))
    return found


@pytest.fixture
def caught_up(catalog_database: ScratchDatabase) -> Callable[[], Awaitable[None]]:
    """Waits for the replica: search and listings by other callers read from it."""

    async def wait() -> None:
        await wait_for_replica(catalog_database.primary_dsn, catalog_database.replica_dsn)

    return wait


@pytest.fixture
def albums_of(catalog: Catalog, caught_up: Callable[[], Awaitable[None]]) -> AlbumsOf:
    """The album pages of the one artist of this name, by album title, drafts included."""

    async def read(artist_name: str) -> dict[str, dict[str, Any]]:
        await caught_up()
        admin = catalog.admin().headers
        found = await catalog.http.get("/catalog/search", params={"q": artist_name})
        artists = found.json()["artists"]
        assert len(artists) == 1, artists
        listed = await catalog.http.get(
            "/catalog/albums",
            params={"artist_id": artists[0]["id"], "include_unpublished": "true"},
            headers=admin,
        )
        assert listed.status_code == 200, listed.text
        pages = {}
        for album in listed.json()["items"]:
            page = await catalog.http.get(f"/catalog/albums/{album['id']}", headers=admin)
            assert page.status_code == 200, page.text
            pages[album["title"]] = page.json()
        return pages

    return read


def track_ids(page: dict[str, Any]) -> dict[str, str]:
    return {track["title"]: track["id"] for track in page["tracks"]}


@integration
async def test_a_json_import_creates_artists_albums_and_tracks(
    catalog: Catalog, albums_of: AlbumsOf
) -> None:
    genre = await new_genre(catalog)
    singer, guest = unique("Singer"), unique("Guest")
    codes = [new_isrc(), new_isrc(), new_isrc()]
    barcode = new_ean()
    rows = [
        {
            "artist": singer,
            "album": "First Light",
            "album_type": "album",
            "release_date": "2021-03-05",
            "upc": barcode,
            "label": "Indie Co",
            "genres": [genre],
            "title": "Dawn",
            "track_number": 1,
            "isrc": codes[0],
        },
        {
            "artist": singer,
            "album": "First Light",
            "title": "Noon",
            "track_number": 2,
            "explicit": True,
            "featured": [guest],
            "isrc": codes[1].lower(),
        },
        {
            "artist": singer,
            "album": "Lone Single",
            "album_type": "single",
            "title": "Dusk",
            "track_number": 1,
        },
        {
            "artist": guest,
            "album": "Guest Spot",
            "title": "Visit",
            "track_number": 1,
            "disc_number": 2,
            "isrc": codes[2],
        },
    ]
    report = report_of(await post_import(catalog, {"rows": rows}))
    assert report == {
        "rows": 4,
        "created": {"artists": 2, "albums": 3, "tracks": 4},
        "errors": [],
    }

    albums = await albums_of(singer)
    assert set(albums) == {"First Light", "Lone Single"}
    first = albums["First Light"]["album"]
    assert (first["album_type"], first["release_date"], first["upc"], first["label"]) == (
        "album",
        "2021-03-05",
        barcode,
        "Indie Co",
    )
    assert first["genres"] == [genre]
    assert [
        (t["track_number"], t["title"], t["isrc"], t["explicit"])
        for t in albums["First Light"]["tracks"]
    ] == [(1, "Dawn", codes[0], False), (2, "Noon", codes[1], True)]
    assert [a["name"] for a in albums["First Light"]["tracks"][1]["featured_artists"]] == [guest]
    assert albums["Lone Single"]["album"]["album_type"] == "single"
    guest_albums = await albums_of(guest)
    assert [(t["title"], t["disc_number"]) for t in guest_albums["Guest Spot"]["tracks"]] == [
        ("Visit", 2)
    ]


@integration
async def test_a_csv_import_finds_what_exists_and_adds_the_rest(
    catalog: Catalog, albums_of: AlbumsOf
) -> None:
    band = await catalog.artist(unique("Band"))
    hits = await catalog.album(band["id"], "Greatest Hits")
    genres = sorted([await new_genre(catalog), await new_genre(catalog)])
    guests = [unique("Guest"), unique("Guest")]
    lines = [
        "Title, Track_Number ,ARTIST,Album,Genres,Featured,Explicit,Release_Date",
        f'"Hello, World",1,{band["name"].upper()},greatest hits!,,,yes,',
        f"Second,2,{band['name']},Greatest Hits",
        f'New One,1,{band["name"]},B-Sides,{genres[0]}; {genres[1]},"{guests[0]};{guests[1]}",no,'
        "2020-01-31",
        ",,,,,,,",
        "",
    ]
    body = "\ufeff" + "\r\n".join(lines)
    report = report_of(await post_import(catalog, body, content_type="text/csv; charset=utf-8"))
    assert report == {
        "rows": 3,
        "created": {"artists": 2, "albums": 1, "tracks": 3},
        "errors": [],
    }

    albums = await albums_of(band["name"])
    assert set(albums) == {"Greatest Hits", "B-Sides"}
    assert albums["Greatest Hits"]["album"]["id"] == hits["id"]
    assert [(t["title"], t["explicit"]) for t in albums["Greatest Hits"]["tracks"]] == [
        ("Hello, World", True),
        ("Second", False),
    ]
    b_sides = albums["B-Sides"]
    assert b_sides["album"]["genres"] == genres
    assert b_sides["album"]["release_date"] == "2020-01-31"
    assert [a["name"] for a in b_sides["tracks"][0]["featured_artists"]] == guests


@integration
async def test_bad_rows_are_reported_by_row_and_field_and_the_rest_imported(
    catalog: Catalog, albums_of: AlbumsOf
) -> None:
    genre = await new_genre(catalog)
    singer = unique("Singer")

    def row(**fields: Any) -> dict[str, Any]:
        return {"artist": singer, "album": "LP", **fields}

    rows: list[Any] = [
        row(title="Fine", track_number=1),
        row(title="Bad Codes", track_number=2, isrc="US-XX-1", upc="12345"),
        row(album="Other", release_date="1997-13-01", title="Bad Date", track_number=1),
        row(album="Other", release_date="1066-10-14", title="Too Old", track_number=1),
        row(album="Other", genres=[genre, "no-such-genre"], title="Odd Genre", track_number=1),
        row(track_number=3),
        row(title="fine!", track_number=4),
        row(title="Tempo", track_number=5, tempo=120),
        "just a string",
        row(title="Also Fine", track_number=6),
        row(title="Same Place", track_number=6),
    ]
    report = report_of(await post_import(catalog, rows))

    assert report["rows"] == len(rows)
    assert report["created"] == {"artists": 1, "albums": 1, "tracks": 2}
    assert errors_by_row(report) == {
        2: [("/isrc", "validation-failed"), ("/upc", "validation-failed")],
        3: [("/release_date", "validation-failed")],
        4: [("/release_date", "validation-failed")],
        5: [("/genres/1", "validation-failed")],
        6: [("/title", "validation-failed")],
        7: [(None, "catalog/duplicate-track")],
        8: [("/tempo", "validation-failed")],
        9: [(None, "validation-failed")],
        11: [("/track_number", "validation-failed")],
    }
    albums = await albums_of(singer)
    assert set(albums) == {"LP"}, "rows rejected for their values create nothing"
    duplicate = next(e for e in report["errors"] if e["row"] == 7)
    assert duplicate["existing"]["id"] == track_ids(albums["LP"])["Fine"]
    assert "no-such-genre" in next(e for e in report["errors"] if e["row"] == 5)["detail"]


@integration
async def test_importing_again_creates_nothing_and_reports_the_duplicates(
    catalog: Catalog, albums_of: AlbumsOf
) -> None:
    singer = unique("Singer")
    rows = [
        {"artist": singer, "album": "One", "title": "A", "track_number": 1, "isrc": new_isrc()},
        {"artist": singer, "album": "One", "title": "B", "track_number": 2},
        {"artist": singer, "album": "Two", "title": "C", "track_number": 1},
    ]
    first = report_of(await post_import(catalog, rows))
    assert first["created"] == {"artists": 1, "albums": 2, "tracks": 3}
    assert first["errors"] == []

    again = report_of(await post_import(catalog, rows))
    assert again["rows"] == 3
    assert again["created"] == {"artists": 0, "albums": 0, "tracks": 0}
    albums = await albums_of(singer)
    ids = track_ids(albums["One"]) | track_ids(albums["Two"])
    assert [(e["row"], e["code"], e["existing"]["id"]) for e in again["errors"]] == [
        (1, "catalog/duplicate-track", ids["A"]),
        (2, "catalog/duplicate-track", ids["B"]),
        (3, "catalog/duplicate-track", ids["C"]),
    ]
    assert sum(len(page["tracks"]) for page in albums.values()) == 3


@integration
async def test_an_artist_imports_for_their_own_artist_only(
    catalog: Catalog, albums_of: AlbumsOf
) -> None:
    mine = await catalog.artist(unique("Mine"))
    theirs = await catalog.artist(unique("Theirs"))
    their_album = await catalog.album(theirs["id"], "Their Old LP")
    me = catalog.manager_of(mine["id"])
    rows = [
        {"artist": mine["name"], "album": "My LP", "title": "Mine 1", "track_number": 1},
        {"artist": theirs["name"], "album": "Their New LP", "title": "No", "track_number": 1},
        {"artist": theirs["name"], "album": "Their Old LP", "title": "No", "track_number": 1},
        {"artist": unique("Nobody"), "album": "X", "title": "Y", "track_number": 1},
        {"artist": mine["name"], "album": "My LP", "title": "Mine 2", "track_number": 2},
    ]
    report = report_of(await post_import(catalog, rows, editor=me))

    assert report["created"] == {"artists": 0, "albums": 1, "tracks": 2}
    assert errors_by_row(report) == {
        2: [("/artist", "catalog/not-your-artist")],
        3: [("/artist", "catalog/not-your-artist")],
        4: [("/artist", "auth/missing-role")],
    }
    assert [t["title"] for t in (await albums_of(mine["name"]))["My LP"]["tracks"]] == [
        "Mine 1",
        "Mine 2",
    ]
    theirs_now = await albums_of(theirs["name"])
    assert set(theirs_now) == {"Their Old LP"}
    assert theirs_now["Their Old LP"]["album"]["id"] == their_album["id"]
    assert theirs_now["Their Old LP"]["tracks"] == []


@integration
async def test_an_artist_name_shared_by_several_artists_is_ambiguous_except_to_a_manager(
    catalog: Catalog, caught_up: Callable[[], Awaitable[None]]
) -> None:
    name = unique("Twin")
    first = await catalog.artist(name)
    await catalog.artist(name.upper())
    row = {"artist": name, "album": "Which", "title": "One", "track_number": 1}

    as_admin = report_of(await post_import(catalog, [row]))
    assert errors_by_row(as_admin) == {1: [("/artist", "catalog/ambiguous-artist")]}
    assert first["id"] in as_admin["errors"][0]["detail"]

    as_manager = report_of(
        await post_import(catalog, [row], editor=catalog.manager_of(first["id"]))
    )
    assert as_manager["errors"] == []
    await caught_up()
    listed = await catalog.http.get(
        "/catalog/albums",
        params={"artist_id": first["id"], "include_unpublished": "true"},
        headers=catalog.admin().headers,
    )
    assert [album["title"] for album in listed.json()["items"]] == ["Which"]


@integration
async def test_only_admins_and_artists_import(
    catalog: Catalog, caught_up: Callable[[], Awaitable[None]]
) -> None:
    rows = [{"artist": unique("Singer"), "album": "A", "title": "T", "track_number": 1}]
    listener = await post_import(catalog, rows, editor=catalog.listener())
    assert listener.status_code == 403
    assert listener.json()["type"].endswith("auth/missing-role")
    anonymous = await catalog.http.post("/catalog/import", json=rows)
    assert anonymous.status_code == 401
    await caught_up()
    found = await catalog.http.get("/catalog/search", params={"q": rows[0]["artist"]})
    assert found.json()["artists"] == []


@integration
async def test_an_import_over_the_limits_is_refused_whole(
    catalog_app: Callable[..., AbstractAsyncContextManager[Catalog]],
    caught_up: Callable[[], Awaitable[None]],
) -> None:
    async with catalog_app(import_max_rows=2, import_max_bytes=2048) as small:
        singer = unique("Singer")
        rows = [
            {"artist": singer, "album": "A", "title": f"T{n}", "track_number": n} for n in (1, 2, 3)
        ]
        too_many = await post_import(small, rows)
        assert too_many.status_code == 413, too_many.text
        problem = too_many.json()
        assert problem["type"].endswith("catalog/import-too-many-rows")
        assert (problem["rows"], problem["max_rows"]) == (3, 2)

        csv_body = "artist,album,title,track_number\n" + "".join(
            f"{singer},A,T{n},{n}\n" for n in (1, 2, 3)
        )
        too_many_csv = await post_import(small, csv_body, content_type="text/csv")
        assert too_many_csv.status_code == 413
        assert too_many_csv.json()["type"].endswith("catalog/import-too-many-rows")

        too_big = await post_import(small, [{"title": "x" * 3000}])
        assert too_big.status_code == 413

        await caught_up()
        found = await small.http.get("/catalog/search", params={"q": singer})
        assert found.json()["artists"] == []


@integration
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "multipart/form-data", "text/csv; charset=latin-1", ""],
)
async def test_bodies_other_than_json_or_csv_are_unsupported(
    catalog: Catalog, content_type: str
) -> None:
    response = await post_import(
        catalog, "artist,album,title,track_number\n", content_type=content_type
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["accept-post"] == "application/json, text/csv"


@integration
@pytest.mark.parametrize(
    ("header", "member", "expected"),
    [
        ("artist,album,title,track_number,tempo,Mood", "unknown_columns", ["tempo", "mood"]),
        ("artist,album,title", "missing_columns", ["track_number"]),
        ("artist,album,title,track_number,title", "repeated_columns", ["title"]),
    ],
)
async def test_a_csv_header_must_name_known_columns(
    catalog: Catalog, header: str, member: str, expected: list[str]
) -> None:
    response = await post_import(catalog, header + "\nA,B,C,1\n", content_type="text/csv")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("catalog/import-columns")
    assert problem[member] == expected
    assert all(repr(name) in problem["detail"] for name in expected)


@integration
@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("", "text/csv", 422),
        ('{"rows": [', "application/json", 400),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400),
        ('{"artist": "A"}', "application/json", 422),
        ('{"rows": [], "more": 1}', "application/json", 422),
        ('artist,album,title,track_number\n"A"x,B,C,1\n', "text/csv", 400),
    ],
)
async def test_a_body_that_is_not_an_import_is_refused_whole(
    catalog: Catalog, body: str, content_type: str, status: int
) -> None:
    response = await post_import(catalog, body, content_type=content_type)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


@integration
async def test_a_csv_that_is_not_utf8_is_unreadable(catalog: Catalog) -> None:
    response = await catalog.http.post(
        "/catalog/import",
        content="artist,album,title,track_number\nBjörk,B,C,1\n".encode("latin-1"),
        headers={**catalog.admin().headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 400
    assert response.json()["type"].endswith("catalog/import-unreadable")


@pytest.mark.unit
def test_csv_rows_keep_their_place_and_split_lists() -> None:
    body = (
        b"artist,album,title,track_number,genres\n"
        b"A,B,C,1, rock ; pop ;\n"
        b",,,,\n"
        b"A,B,D,2,,one too many\n"
        b"A,B,E\n"
    )
    rows = parse_rows(body, kind="csv", max_rows=10)
    assert [row.number for row in rows] == [1, 3, 4]
    assert rows[0].values == {
        "artist": "A",
        "album": "B",
        "title": "C",
        "track_number": "1",
        "genres": ["rock", "pop"],
    }
    assert rows[1].values is None
    assert rows[1].problem is not None
    assert rows[2].values == {"artist": "A", "album": "B", "title": "E"}


@asynccontextmanager
async def live_server(app: Any) -> AsyncIterator[str]:
    """The app on a real socket, for clients that cannot take an ASGI transport."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", log_config=None, ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@integration
async def test_the_cli_uploads_a_file_and_exits_by_the_report(
    catalog: Catalog, albums_of: AlbumsOf, tmp_path: Path
) -> None:
    singer = unique("Cli")
    path = tmp_path / "tape.csv"
    path.write_text(
        f"artist,album,title,track_number\n{singer},Tape,Side A,1\n{singer},Tape,Side B,2\n"
    )
    runner = CliRunner()

    async def run(url: str, token: str) -> Any:
        return await asyncio.to_thread(
            runner.invoke,
            cli.app,
            ["import", str(path), "--url", url, "--token-env", "CATALOG_TEST_TOKEN"],
            env={"CATALOG_TEST_TOKEN": token, "COLUMNS": "250"},
        )

    admin = catalog.issuer.token(roles=("ADMIN", "USER"))
    async with live_server(catalog.app) as url:
        first = await run(url, admin)
        again = await run(url, admin)
        refused = await run(url, catalog.issuer.token(roles=("USER",)))

    assert first.exit_code == 0, first.output
    assert "2 rows, 2 imported: created 1 artists, 1 albums and 2 tracks" in first.output
    ids = track_ids((await albums_of(singer))["Tape"])
    assert again.exit_code == cli.ROWS_FAILED, again.output
    assert "2 rows failed" in again.output
    assert ids["Side A"] in again.output
    assert ids["Side B"] in again.output
    assert refused.exit_code == cli.REFUSED, refused.output
    assert "refused the import (403)" in refused.output
