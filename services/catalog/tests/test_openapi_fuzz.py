"""Schemathesis against the catalog service's own OpenAPI document: every check, no 5xx.

Each operation is fuzzed in every phase schemathesis has for a single operation (explicit
examples, coverage, fuzzing; positive and negative data) and every response goes through
every check, twice: once with an admin's token, who may change anything and reads pages
straight from the database, and once with a listener's, who may change nothing and reads
pages through the page cache. The app runs under uvicorn on a loopback port, in a thread
of its own, so its lifespan owns the database and Valkey pools as in production and every
request crosses a real HTTP parser.

Before an operation is fuzzed, its own artist, genre, albums (one published, one draft)
and tracks (one playable, one draft) are created, and about half of the generated ids are
pointed at them, so cases reach the rows behind the 404s as well as the 404s.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from schemathesis import Case, HookContext, Response
from schemathesis.core import NOT_SET
from schemathesis.core.failures import Failure
from schemathesis.openapi.checks import RejectedPositiveData

sys.path.insert(0, str(Path(__file__).parent))
from catalog_support import processed

from spotilike.catalog.app import create_catalog_app
from spotilike.catalog.settings import CatalogSettings
from spotilike.kit.errors import PROBLEM_TYPE_BASE
from spotilike.kit.pagination import encode_cursor
from spotilike.tools.pytest_plugin import (
    ScratchDatabase,
    TokenIssuer,
    drop_framing_headers,
    fuzz_settings,
    served_in_thread,
)

pytestmark = pytest.mark.integration

_START_TIMEOUT_SECONDS = 30.0

# Parametrizing needs the document at collection time, before any fixture exists; the app
# under test is built by the same factory and must serve exactly this document.
OPENAPI = create_catalog_app(CatalogSettings(), run_workers=False).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)

_SEMANTIC_POINTERS = {
    # Whether the referenced rows exist: the schema can only say "a UUID".
    "/artist_id",
    "/album_id",
    "/parent_id",
    # The text rules count code points after NFC and whitespace folding, and refuse
    # control, private-use and unassigned characters, by the running Python's Unicode.
    "/name",
    "/title",
    "/label",
    "/slug",
    # Identifiers checked by their published format and check digit.
    "/isrc",
    "/upc",
    # Relative to today's date.
    "/release_date",
    # A slot already taken on the album.
    "/track_number",
    # Drafts are for admins and the artist's manager only.
    "/include_unpublished",
    # Only cursors the endpoint issued decode, and only searches with a letter or digit.
    "/cursor",
    "/q",
}
_SEMANTIC_POINTER_PREFIXES = ("/genre_ids/", "/featured_artist_ids/")


def _semantic(error: dict[str, Any]) -> bool:
    pointer = str(error.get("pointer", ""))
    return "type" not in error and (
        pointer in _SEMANTIC_POINTERS or pointer.startswith(_SEMANTIC_POINTER_PREFIXES)
    )


@schema.hook
def filter_failure(context: HookContext, failure: Failure, case: Case, response: Response) -> bool:
    """Keeps every failure except a schema-valid request refused for a rule no schema states.

    positive_data_acceptance expects a schema-valid request to succeed (or to be refused
    as unauthorised, missing or conflicting). The catalog also refuses, with a 422 that
    points at the field, what only its own rows, its text rules or the date can judge;
    those 422s are the API working. The service's own 422s carry ``in``, ``pointer`` and
    ``detail`` per error; schema validation errors also carry a ``type``, so a 422 from
    the schema itself always stays a failure, as does any other rejection.
    """
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 422:
        return True
    problem = response.json()
    if str(problem.get("type", "")).removeprefix(PROBLEM_TYPE_BASE) != "validation-failed":
        return True
    errors = problem.get("errors") or []
    return not (errors and all(_semantic(error) for error in errors))


@pytest.fixture(scope="module")
def catalog_server(
    catalog_database: ScratchDatabase,
    redis_url: str,
    kafka_bootstrap: str,
    token_issuer: TokenIssuer,
) -> Iterator[str]:
    """The base URL of a catalog app served by uvicorn, trusting the test's token issuer.

    One app for the module: starting one per operation cost more than fuzzing most of
    them, and the state operations share (database, Valkey) outlives an app anyway; each
    operation gets rows of its own instead.
    """
    settings = CatalogSettings(
        env="test",
        database_url=catalog_database.primary_url,
        database_replica_url=catalog_database.replica_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    app = create_catalog_app(
        settings,
        run_workers=False,
        token_verifier=token_issuer.verifier(),
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
    )
    with served_in_thread(app, start_timeout=_START_TIMEOUT_SECONDS) as base_url:
        assert httpx.get(base_url + "/openapi.json").json() == OPENAPI
        yield base_url


@dataclass
class Seeded:
    """The rows one operation's cases are aimed at: id parameter name to existing ids."""

    ids: dict[str, list[str]]

    def aim(self, case: Case) -> None:
        """Points about half the cases that take a known id at a row that exists.

        Only a generated id in canonical UUID form is replaced, by another one, so the
        case stays as positive or as negative as it was generated. Choosing on the id's
        last bits keeps each case reproducible; the other half still reach the 404 path.
        """
        for container in (case.path_parameters, case.query, case.body):
            if not isinstance(container, dict):
                continue
            for name, choices in self.ids.items():
                if name in container:
                    container[name] = self._pick(container[name], choices)
            genre_ids = container.get("genre_ids")
            if isinstance(genre_ids, list) and "genre_id" in self.ids:
                container["genre_ids"] = [self._pick(g, self.ids["genre_id"]) for g in genre_ids]

    @staticmethod
    def _pick(generated: Any, choices: list[str]) -> Any:
        try:
            parsed = uuid.UUID(str(generated))
        except ValueError:
            return generated
        if str(parsed) != generated or parsed.int % 2:
            return generated
        return choices[(parsed.int >> 1) % len(choices)]


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def seeded(
    catalog_server: str, catalog_database: ScratchDatabase, token_issuer: TokenIssuer
) -> Seeded:
    admin = token_issuer.headers(roles=("ADMIN", "USER"))
    with httpx.Client(base_url=catalog_server, headers=admin, timeout=30.0) as http:
        suffix = uuid.uuid4().hex[:8]
        artist = _created(http.post("/catalog/artists", json={"name": f"Fuzz Artist {suffix}"}))
        genre = _created(http.post("/catalog/genres", json={"name": f"Fuzz Genre {suffix}"}))
        albums = [
            _created(
                http.post(
                    "/catalog/albums",
                    json={
                        "artist_id": artist["id"],
                        "title": f"Fuzz Album {n} {suffix}",
                        "release_date": "2024-05-17",
                        "genre_ids": [genre["id"]],
                    },
                )
            )
            for n in (1, 2)
        ]
        tracks = [
            _created(
                http.post(
                    "/catalog/tracks",
                    json={
                        "album_id": albums[0]["id"],
                        "title": f"Fuzz Track {n} {suffix}",
                        "track_number": n,
                        "genre_ids": [genre["id"]],
                    },
                )
            )
            for n in (1, 2)
        ]
        # The app runs without its consumers, and no audio service sends its results here.
        asyncio.run(processed(catalog_database, tracks[0]["id"]))
        _created(http.post(f"/catalog/tracks/{tracks[0]['id']}/publish"))
        _created(http.post(f"/catalog/albums/{albums[0]['id']}/publish"))
    # The fuzzer's identities never wrote, so their reads go to the replica.
    asyncio.run(catalog_database.replica_caught_up())
    return Seeded(
        ids={
            "artist_id": [artist["id"]],
            "genre_id": [genre["id"]],
            "album_id": [album["id"] for album in albums],
            "track_id": [track["id"] for track in tracks],
        }
    )


def _credentials(case: Case, token: str) -> dict[str, str] | None:
    """The bearer token for the case, or None.

    None where the operation declares no security, and where the case itself is the
    negative test of the token (dropped or mangled on purpose): a header sent over it
    would turn the case back into a valid one.
    """
    if not case.operation.definition.raw.get("security"):
        return None
    if schema.is_security_param_negated(case):
        return None
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def fuzzer() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def caller_token(roles: tuple[str, ...], token_issuer: TokenIssuer) -> str:
    """One caller per operation and pass, as one client would be."""
    return token_issuer.token(roles=roles)


@pytest.mark.parametrize("roles", [("ADMIN", "USER"), ("USER",)], ids=["admin", "listener"])
@schema.parametrize()
# The rows are set up once per operation and identity, on purpose: each operation's
# examples share them, and no operation aims at rows another one changed.
@fuzz_settings()
def test_catalog_api_conforms_to_its_openapi(
    case: Case,
    catalog_server: str,
    seeded: Seeded,
    caller_token: str,
    fuzzer: requests.Session,
) -> None:
    seeded.aim(case)
    drop_framing_headers(case.headers)
    case.call_and_validate(
        base_url=catalog_server, session=fuzzer, headers=_credentials(case, caller_token)
    )


_SOME_ID = "0190f3a4-7c1e-7b2a-9d4e-5f6a7b8c9d0e"


@dataclass(frozen=True)
class Hostile:
    """A request built by hand: values the fuzzer can draw but, in 25 examples, rarely does."""

    path: str
    method: str
    query: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    artist: bool = False
    """Whether the path takes the seeded artist's id."""


@pytest.mark.parametrize(
    "hostile",
    [
        # PostgreSQL text cannot hold U+0000; every free-text value must be refused first.
        Hostile("/catalog/search", "GET", query={"q": "a\x00b"}),
        Hostile("/catalog/artists", "POST", body={"name": "Nul Bio", "bio": "a\x00b"}),
        Hostile("/catalog/artists/{artist_id}", "PATCH", body={"bio": "a\x00b"}, artist=True),
        # A cursor is opaque but not signed: what it decodes to is client input.
        Hostile(
            "/catalog/albums",
            "GET",
            query={"sort": "title", "cursor": encode_cursor(["a\x00", _SOME_ID])},
        ),
        Hostile(
            "/catalog/tracks",
            "GET",
            query={"sort": "popularity", "cursor": encode_cursor([10**30, _SOME_ID])},
        ),
        Hostile(
            "/catalog/artists",
            "GET",
            query={"sort": "name", "cursor": encode_cursor([12, _SOME_ID])},
        ),
    ],
    ids=[
        "search-nul",
        "artist-bio-nul",
        "artist-patch-bio-nul",
        "cursor-title-nul",
        "cursor-popularity-out-of-range",
        "cursor-name-not-text",
    ],
)
def test_hostile_values_are_refused_not_failed(
    hostile: Hostile,
    catalog_server: str,
    seeded: Seeded,
    token_issuer: TokenIssuer,
    fuzzer: requests.Session,
) -> None:
    operation = schema[hostile.path][hostile.method]
    case = operation.Case(
        path_parameters={"artist_id": seeded.ids["artist_id"][0]} if hostile.artist else None,
        query=hostile.query,
        body=NOT_SET if hostile.body is None else hostile.body,
    )
    admin = token_issuer.token(roles=("ADMIN", "USER"))
    drop_framing_headers(case.headers)
    response = case.call_and_validate(
        base_url=catalog_server, session=fuzzer, headers=_credentials(case, admin)
    )
    assert response.status_code < 500
