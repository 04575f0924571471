"""The import itself: who may import, and each row's artists, album and track found or
created through the same use cases a single edit uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.catalog import repository
from spotilike.catalog.schemas import AlbumCreate, ArtistCreate, TrackCreate
from spotilike.catalog.service.access import can_edit, is_admin
from spotilike.catalog.service.albums import create_album
from spotilike.catalog.service.artists import create_artist
from spotilike.catalog.service.imports import checks
from spotilike.catalog.service.imports.report import ImportCounts, ImportReport, RowError
from spotilike.catalog.service.imports.rows import ImportFormat, ImportRow, RawRow, parse_rows
from spotilike.catalog.service.runtime import Runtime
from spotilike.catalog.service.tracks import create_track
from spotilike.kit.auth import Principal
from spotilike.kit.errors import Forbidden, Problem

__all__ = ["import_catalog", "require_importer"]

_log = structlog.get_logger(__name__)
_SAME_NAME_LOOKUP = 10
"""How many artists of one name a lookup reads: enough to tell one from several."""


def require_importer(principal: Principal) -> None:
    if not (is_admin(principal) or principal.has_role("ARTIST")):
        raise Forbidden("Importing needs the ADMIN or ARTIST role.", code="auth/missing-role")


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
            checked = checks.checked(checks.validated(raw))
            found = await self._find(checked)
            await self._create(checked, found)
        except checks.RowRejected as rejected:
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

    async def _find(self, checked: checks.Checked) -> _Found:
        row = checked.row
        issues: list[checks.Issue] = []
        # The primary: a replica may not have the rows this import just made.
        async with self.runtime.database.write_session() as session:
            genre_ids: list[UUID] = []
            for index, slug in enumerate(checked.slugs):
                genre_id = await self._genre(session, slug)
                if genre_id is None:
                    detail = f"no genre has the slug {slug!r}"
                    issues.append(checks.Issue(f"/genres/{index}", "validation-failed", detail))
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
            raise checks.RowRejected(issues)
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
            raise checks.RowRejected([checks.Issue(pointer, "catalog/ambiguous-artist", detail)])
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

    async def _create(self, checked: checks.Checked, found: _Found) -> None:
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
            raise checks.RowRejected(
                checks.issues_of(problem, renames=_TRACK_POINTERS, pointer="/artist")
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
            raise checks.RowRejected(
                checks.issues_of(problem, renames={"/name": pointer}, pointer=pointer)
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
            raise checks.RowRejected(
                checks.issues_of(problem, renames=_ALBUM_POINTERS, pointer="/artist")
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
