"""Bulk import of artists, albums and tracks: one track per row, from JSON or CSV.

A row names its artist and its album; the import finds them (the artist by its exact
normalized name, the album among that artist's albums by the titles' duplicate key) or
creates them, then creates the track. Every creation goes through the use case a single
edit uses (``create_artist``, ``create_album``, ``create_track``), so validation,
duplicates, ownership, events and page invalidation follow the API's rules, not a copy of
them: an ARTIST's import can only add to the artist they manage, and only an ADMIN's import
creates artists.

Rows stand alone rather than all or nothing. A label's file of thousands of tracks with
three bad rows should land the rest and say which three to fix; importing the corrected
file again is safe, because a track that already exists comes back as a duplicate with its
id instead of being created twice. There is no ``atomic`` mode: the use cases commit their
own transactions (which is what keeps them the one home of the rules), so undoing rows
already committed would take compensating deletes, each with events of its own.

What a failed row leaves behind: its values (names, identifiers, dates, genre slugs,
featured artists) are checked before anything is created, so a row rejected for its values
creates nothing. A row refused by what the catalog already holds (the title or ISRC is
taken, the position on the disc is occupied) can fail after its artists or album were
made; those stay, being valid on their own, and the next run finds them.

Album fields on a row (type, date, UPC, label, cover, genres) are applied when the import
creates the album. For an album that exists they are still checked, so a row is judged the
same on every run, but not applied: changing an album is an edit, not an import.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from http import HTTPStatus
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.catalog import repository, text
from spotilike.catalog.models import AlbumType
from spotilike.catalog.schemas import (
    AlbumCreate,
    ArtistCreate,
    Code,
    DiscNumber,
    Name,
    TrackCreate,
    TrackNumber,
    Url,
)
from spotilike.catalog.service.access import can_edit, is_admin
from spotilike.catalog.service.albums import create_album
from spotilike.catalog.service.artists import create_artist
from spotilike.catalog.service.runtime import Runtime
from spotilike.catalog.service.tracks import create_track
from spotilike.catalog.service.validation import (
    checked_isrc,
    checked_name,
    checked_release_date,
    checked_upc,
)
from spotilike.kit.auth import Principal
from spotilike.kit.errors import Forbidden, Problem, UnprocessableContent

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "ImportCounts",
    "ImportFormat",
    "ImportReport",
    "ImportRow",
    "RawRow",
    "RowError",
    "import_catalog",
    "parse_rows",
    "require_importer",
]

_log = structlog.get_logger(__name__)
T = TypeVar("T")

ImportFormat = Literal["json", "csv"]
GenreSlug = Annotated[str, Field(min_length=1, max_length=64)]
LIST_SEPARATOR = ";"
"""Separates genre slugs and featured artists inside one CSV cell."""
_SAME_NAME_LOOKUP = 10
"""How many artists of one name a lookup reads: enough to tell one from several."""


class ImportRow(BaseModel):
    """One track, and the album and artist it belongs to."""

    model_config = ConfigDict(extra="forbid")

    artist: Name
    album: Name
    album_type: AlbumType = AlbumType.ALBUM
    release_date: date | None = None
    upc: Code | None = None
    label: Name | None = None
    cover_url: Url | None = None
    genres: Annotated[list[GenreSlug], Field(max_length=10)] = []
    """Genre slugs ("art-pop"), applied to the album."""
    title: Name
    track_number: TrackNumber
    disc_number: DiscNumber = 1
    isrc: Code | None = None
    explicit: bool = False
    featured: Annotated[list[Name], Field(max_length=20)] = []
    """Names of the artists featured on the track."""


COLUMNS: tuple[str, ...] = tuple(ImportRow.model_fields)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(
    name for name, info in ImportRow.model_fields.items() if info.is_required()
)
_LIST_COLUMNS = frozenset({"genres", "featured"})


class RowError(BaseModel):
    row: int
    """1-based among the data rows: a CSV header does not count, a skipped blank row does."""
    pointer: str | None
    """The JSON pointer of the row's field at fault ("/isrc"), null for the row as a whole."""
    code: str
    detail: str
    existing: dict[str, Any] | None = None
    """What a duplicate collides with: its kind, id and title."""


class ImportCounts(BaseModel):
    artists: int
    albums: int
    tracks: int


class ImportReport(BaseModel):
    rows: int
    """The rows read, blank CSV rows left out."""
    created: ImportCounts
    errors: list[RowError]


@dataclass(frozen=True)
class RawRow:
    """A data row as read from the body, before validation."""

    number: int
    values: object
    problem: str | None = None
    """Why the row cannot be read at all (a CSV row longer than its header)."""


def require_importer(principal: Principal) -> None:
    if not (is_admin(principal) or principal.has_role("ARTIST")):
        raise Forbidden("Importing needs the ADMIN or ARTIST role.", code="auth/missing-role")


def _unreadable(detail: str) -> Problem:
    return Problem(detail, status=HTTPStatus.BAD_REQUEST, code="catalog/import-unreadable")


def parse_rows(body: bytes, *, kind: ImportFormat, max_rows: int) -> list[RawRow]:
    """The body's data rows: 400 if it cannot be read, 422 if it is not shaped like an
    import, 413 if it holds more than ``max_rows`` rows."""
    rows = _csv_rows(body) if kind == "csv" else _json_rows(body)
    if len(rows) > max_rows:
        raise Problem(
            f"the import has {len(rows)} rows and at most {max_rows} are taken at once; "
            "split it into several imports",
            status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            code="catalog/import-too-many-rows",
            extensions={"rows": len(rows), "max_rows": max_rows},
        )
    return rows


def _json_rows(body: bytes) -> list[RawRow]:
    try:
        document = json.loads(body)
    except RecursionError:
        raise _unreadable("the JSON is nested too deeply") from None
    except ValueError as error:
        raise _unreadable(f"the body is not JSON: {error}") from None
    if isinstance(document, dict) and set(document) == {"rows"}:
        document = document["rows"]
    if not isinstance(document, list):
        raise UnprocessableContent(
            'the body must be a JSON array of rows, or an object {"rows": [...]}',
            code="catalog/import-shape",
        )
    return [RawRow(number, values) for number, values in enumerate(document, start=1)]


def _csv_rows(body: bytes) -> list[RawRow]:
    """Rows of a CSV whose first line names the columns (in any case).

    Rows with no value at all, as spreadsheets leave at the end, are skipped but keep their
    place in the numbering, so row N is still the file's Nth row after the header.
    """
    try:
        content = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _unreadable(f"the CSV is not UTF-8: byte {error.start} is not valid") from None
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    rows: list[RawRow] = []
    try:
        columns = _columns(next(reader, None))
        for number, record in enumerate(reader, start=1):
            if any(value.strip() for value in record):
                rows.append(_csv_row(number, columns, record))
    except csv.Error as error:
        raise _unreadable(f"the CSV is malformed at line {reader.line_num}: {error}") from None
    return rows


def _columns(header: list[str] | None) -> list[str]:
    if header is None or not any(name.strip() for name in header):
        raise UnprocessableContent(
            "the CSV needs a header row naming its columns, from: " + ", ".join(COLUMNS),
            code="catalog/import-columns",
            extensions={"columns": list(COLUMNS), "required_columns": list(REQUIRED_COLUMNS)},
        )
    names = [name.strip().lower() for name in header]
    unknown = [name for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if names.count(name) > 1})
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if unknown or repeated or missing:
        found = [
            f"{what} columns: {', '.join(map(repr, which))}"
            for what, which in (("unknown", unknown), ("repeated", repeated), ("missing", missing))
            if which
        ]
        raise UnprocessableContent(
            f"{'; '.join(found)} (the columns are {', '.join(COLUMNS)}; "
            f"{', '.join(REQUIRED_COLUMNS)} are required)",
            code="catalog/import-columns",
            extensions={
                "unknown_columns": unknown,
                "repeated_columns": repeated,
                "missing_columns": missing,
                "columns": list(COLUMNS),
                "required_columns": list(REQUIRED_COLUMNS),
            },
        )
    return names


def _csv_row(number: int, columns: list[str], record: list[str]) -> RawRow:
    if len(record) > len(columns):
        return RawRow(
            number,
            None,
            problem=f"the row has {len(record)} values and the header {len(columns)} columns",
        )
    values: dict[str, object] = {}
    # Spreadsheets drop trailing empty cells, so a short row only leaves those fields out.
    for column, cell in zip(columns, record, strict=False):
        value = cell.strip()
        if not value:
            continue
        if column in _LIST_COLUMNS:
            values[column] = [p.strip() for p in value.split(LIST_SEPARATOR) if p.strip()]
        else:
            values[column] = value
    return RawRow(number, values)


@dataclass(frozen=True)
class _Issue:
    pointer: str | None
    code: str
    detail: str
    existing: dict[str, Any] | None = None


class _RowRejected(Exception):  # noqa: N818 - control flow inside one row, never raised out
    def __init__(self, issues: list[_Issue]) -> None:
        super().__init__(f"{len(issues)} issue(s)")
        self.issues = issues


def _pointer(location: tuple[int | str, ...]) -> str | None:
    if not location:
        return None
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in location)


def _renamed(pointer: str, renames: Mapping[str, str]) -> str:
    """A use case's pointer into its request, as a pointer into the import row."""
    for old, new in renames.items():
        if pointer == old or pointer.startswith(old + "/"):
            return new + pointer[len(old) :]
    return pointer


def _issues(
    problem: Problem, *, renames: Mapping[str, str] | None = None, pointer: str | None = None
) -> list[_Issue]:
    """A use case's problem as row issues; ``pointer`` is where a refusal points."""
    entries = problem.extensions.get("errors")
    if isinstance(problem, UnprocessableContent) and isinstance(entries, list) and entries:
        return [
            _Issue(
                _renamed(str(entry.get("pointer", "")), renames or {}) or None,
                problem.code,
                str(entry.get("detail", problem.detail)),
            )
            for entry in entries
        ]
    existing = problem.extensions.get("existing")
    return [
        _Issue(
            pointer if isinstance(problem, Forbidden) else None,
            problem.code,
            problem.detail,
            existing if isinstance(existing, dict) else None,
        )
    ]


def _attempt(issues: list[_Issue], check: Callable[[], T]) -> T | None:
    try:
        return check()
    except UnprocessableContent as problem:
        issues.extend(_issues(problem))
        return None


@dataclass(frozen=True)
class _Checked:
    """A row whose values passed the checks that need no database."""

    row: ImportRow
    artist_key: str
    album_key: str
    slugs: list[str]
    featured: list[tuple[str, str]]
    """Names of the featured artists and their search keys, in the row's order."""


def _validated(raw: RawRow) -> ImportRow:
    if raw.problem is not None:
        raise _RowRejected([_Issue(None, "validation-failed", raw.problem)])
    try:
        return ImportRow.model_validate(raw.values)
    except ValidationError as error:
        raise _RowRejected(
            [
                _Issue(_pointer(entry["loc"]), "validation-failed", entry["msg"])
                for entry in error.errors(include_url=False)
            ]
        ) from None


def _checked(row: ImportRow) -> _Checked:
    """The rules that need no database, applied before anything is created."""
    issues: list[_Issue] = []
    artist = _attempt(issues, partial(checked_name, row.artist, field="artist"))
    album = _attempt(issues, partial(checked_name, row.album, field="album"))
    _attempt(issues, partial(checked_name, row.title, field="title"))
    if row.label is not None:
        _attempt(issues, partial(checked_name, row.label, field="label"))
    _attempt(issues, partial(checked_isrc, row.isrc))
    _attempt(issues, partial(checked_upc, row.upc))
    _attempt(issues, partial(checked_release_date, row.release_date))
    slugs: list[str] = []
    for index, given in enumerate(row.genres):
        try:
            slugs.append(text.slugify(given))
        except text.TextRejected as error:
            issues.append(_Issue(f"/genres/{index}", "validation-failed", error.message))
    artist_key = text.search_key(artist) if artist is not None else ""
    featured: list[tuple[str, str]] = []
    for index, given in enumerate(row.featured):
        name = _attempt(issues, partial(checked_name, given, field=f"featured/{index}"))
        if name is None:
            continue
        key = text.search_key(name)
        if key == artist_key:
            issues.append(
                _Issue(
                    f"/featured/{index}",
                    "validation-failed",
                    "the row's artist cannot also feature",
                )
            )
        elif key in {k for _, k in featured}:
            issues.append(_Issue(f"/featured/{index}", "validation-failed", "named twice"))
        featured.append((name, key))
    if issues or artist is None or album is None:
        raise _RowRejected(issues)
    return _Checked(
        row=row,
        artist_key=artist_key,
        album_key=text.duplicate_key(album),
        slugs=slugs,
        featured=featured,
    )


@dataclass
class _Found:
    """What a row refers to that the catalog already has; ``None`` is still to create."""

    artist_id: UUID | None
    album_id: UUID | None
    featured_ids: list[UUID | None]
    genre_ids: list[UUID]


_ALBUM_POINTERS = {"/title": "/album", "/artist_id": "/artist", "/genre_ids": "/genres"}
_TRACK_POINTERS = {"/album_id": "/album", "/featured_artist_ids": "/featured"}


@dataclass
class _Importer:
    """One import's progress: what it found or made, so later rows need not look again."""

    runtime: Runtime
    principal: Principal
    caller: str | None
    artists: dict[str, UUID] = field(default_factory=dict)
    albums: dict[tuple[UUID, str], UUID] = field(default_factory=dict)
    genres: dict[str, UUID] = field(default_factory=dict)
    created: dict[str, int] = field(
        default_factory=lambda: {"artists": 0, "albums": 0, "tracks": 0}
    )
    errors: list[RowError] = field(default_factory=list)

    async def import_row(self, raw: RawRow) -> None:
        try:
            checked = _checked(_validated(raw))
            found = await self._find(checked)
            await self._create(checked, found)
        except _RowRejected as rejected:
            self.errors.extend(
                RowError(
                    row=raw.number,
                    pointer=issue.pointer,
                    code=issue.code,
                    detail=issue.detail,
                    existing=issue.existing,
                )
                for issue in rejected.issues
            )

    async def _find(self, checked: _Checked) -> _Found:
        row = checked.row
        issues: list[_Issue] = []
        # The primary: a replica may not have the rows this import just made.
        async with self.runtime.database.write_session() as session:
            genre_ids: list[UUID] = []
            for index, slug in enumerate(checked.slugs):
                genre_id = await self._genre(session, slug)
                if genre_id is None:
                    detail = f"no genre has the slug {slug!r}"
                    issues.append(_Issue(f"/genres/{index}", "validation-failed", detail))
                else:
                    genre_ids.append(genre_id)
            artist_id = await self._artist(session, checked.artist_key, row.artist, "/artist")
            featured_ids = [
                await self._artist(session, key, name, f"/featured/{index}")
                for index, (name, key) in enumerate(checked.featured)
            ]
            album_id = None
            if artist_id is not None:
                album_id = await self._album(session, artist_id, checked.album_key)
        if issues:
            raise _RowRejected(issues)
        return _Found(artist_id, album_id, featured_ids, genre_ids)

    async def _genre(self, session: AsyncSession, slug: str) -> UUID | None:
        if slug not in self.genres:
            genre = await repository.genre_by_slug(session, slug)
            if genre is None:
                return None
            self.genres[slug] = genre.id
        return self.genres[slug]

    async def _artist(
        self, session: AsyncSession, key: str, name: str, pointer: str
    ) -> UUID | None:
        """The one artist of this name; among several, the one the caller manages."""
        if key in self.artists:
            return self.artists[key]
        named = await repository.artists_named(session, key, limit=_SAME_NAME_LOOKUP)
        if len(named) > 1:
            named = [a for a in named if can_edit(self.principal, a)] or list(named)
        if not named:
            return None
        if len(named) > 1:
            ids = ", ".join(str(a.id) for a in named)
            detail = f"several artists are named {name!r} ({ids}); rename one to import"
            raise _RowRejected([_Issue(pointer, "catalog/ambiguous-artist", detail)])
        self.artists[key] = named[0].id
        return named[0].id

    async def _album(self, session: AsyncSession, artist_id: UUID, key: str) -> UUID | None:
        if (artist_id, key) not in self.albums:
            album = await repository.album_by_duplicate_key(
                session, artist_id=artist_id, duplicate_key=key
            )
            if album is None:
                return None
            self.albums[artist_id, key] = album.id
        return self.albums[artist_id, key]

    async def _create(self, checked: _Checked, found: _Found) -> None:
        row = checked.row
        artist_id = found.artist_id
        if artist_id is None:
            artist_id = await self._new_artist(row.artist, checked.artist_key, "/artist")
        featured_ids: list[UUID] = []
        for index, ((name, key), known) in enumerate(
            zip(checked.featured, found.featured_ids, strict=True)
        ):
            featured_ids.append(
                known
                if known is not None
                else await self._new_artist(name, key, f"/featured/{index}")
            )
        album_id = found.album_id
        if album_id is None:
            album_id = await self._new_album(row, artist_id, checked.album_key, found.genre_ids)
        request = TrackCreate(
            album_id=album_id,
            title=row.title,
            track_number=row.track_number,
            disc_number=row.disc_number,
            isrc=row.isrc,
            explicit=row.explicit,
            featured_artist_ids=featured_ids,
        )
        try:
            await create_track(
                self.runtime, principal=self.principal, request=request, caller=self.caller
            )
        except Problem as problem:
            raise _RowRejected(
                _issues(problem, renames=_TRACK_POINTERS, pointer="/artist")
            ) from None
        self.created["tracks"] += 1

    async def _new_artist(self, name: str, key: str, pointer: str) -> UUID:
        try:
            view = await create_artist(
                self.runtime,
                principal=self.principal,
                request=ArtistCreate(name=name),
                caller=self.caller,
            )
        except Problem as problem:
            raise _RowRejected(
                _issues(problem, renames={"/name": pointer}, pointer=pointer)
            ) from None
        self.artists[key] = view.id
        self.created["artists"] += 1
        return view.id

    async def _new_album(
        self, row: ImportRow, artist_id: UUID, key: str, genre_ids: list[UUID]
    ) -> UUID:
        request = AlbumCreate(
            artist_id=artist_id,
            title=row.album,
            album_type=row.album_type,
            release_date=row.release_date,
            upc=row.upc,
            cover_url=row.cover_url,
            label=row.label,
            genre_ids=genre_ids,
        )
        try:
            view = await create_album(
                self.runtime, principal=self.principal, request=request, caller=self.caller
            )
        except Problem as problem:
            raise _RowRejected(
                _issues(problem, renames=_ALBUM_POINTERS, pointer="/artist")
            ) from None
        self.albums[artist_id, key] = view.id
        self.created["albums"] += 1
        return view.id


async def import_catalog(
    runtime: Runtime,
    *,
    principal: Principal,
    body: bytes,
    kind: ImportFormat,
    caller: str | None,
) -> ImportReport:
    """Imports the body's rows in order, each on its own, and reports what failed."""
    require_importer(principal)
    rows = parse_rows(body, kind=kind, max_rows=runtime.settings.import_max_rows)
    importer = _Importer(runtime, principal, caller)
    for raw in rows:
        await importer.import_row(raw)
    report = ImportReport(
        rows=len(rows), created=ImportCounts(**importer.created), errors=importer.errors
    )
    _log.info(
        "catalog_import_finished",
        subject=principal.subject,
        format=kind,
        rows=report.rows,
        failed_rows=len({error.row for error in report.errors}),
        **importer.created,
    )
    return report
