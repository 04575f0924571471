"""The managed list of genres (ADMIN edits, everyone reads)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import uuid_utils.compat as uuid_compat
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.catalog import repository, text
from spotilike.catalog.models import Genre
from spotilike.catalog.schemas import GenreCreate, GenreUpdate
from spotilike.catalog.service.runtime import Runtime
from spotilike.catalog.service.validation import checked_name, duplicate
from spotilike.catalog.service.writing import write
from spotilike.kit.errors import NotFound, invalid_field

__all__ = ["create_genre", "delete_genre", "list_genres", "update_genre"]


async def list_genres(session: AsyncSession) -> Sequence[Genre]:
    return await repository.genres(session)


async def _parent(session: AsyncSession, parent_id: UUID | None, *, child: UUID | None) -> None:
    if parent_id is None:
        return
    ancestor: UUID | None = parent_id
    for _ in range(32):
        if ancestor is None:
            return
        if ancestor == child:
            raise invalid_field("/parent_id", "a genre cannot be its own ancestor")
        found = await repository.genre(session, ancestor)
        if found is None:
            raise invalid_field("/parent_id", f"no genre {ancestor}")
        ancestor = found.parent_id
    raise invalid_field("/parent_id", "the genre tree is deeper than 32 levels")


async def create_genre(runtime: Runtime, *, request: GenreCreate, caller: str | None) -> Genre:
    name = checked_name(request.name, field="name")
    try:
        slug = text.slugify(request.slug or name)
    except text.TextRejected as error:
        raise invalid_field("/slug", error.message) from None
    async with write(runtime, caller=caller) as work:
        existing = await repository.genre_by_slug(work.session, slug)
        if existing is not None:
            raise duplicate(existing, "a genre with this slug exists")
        await _parent(work.session, request.parent_id, child=None)
        genre = Genre(id=uuid_compat.uuid7(), slug=slug, name=name, parent_id=request.parent_id)
        await repository.add(work.session, genre)
    return genre


async def update_genre(
    runtime: Runtime, *, genre_id: UUID, request: GenreUpdate, caller: str | None
) -> Genre:
    async with write(runtime, caller=caller) as work:
        genre = await repository.genre(work.session, genre_id)
        if genre is None:
            raise NotFound(f"no genre {genre_id}", code="catalog/genre-not-found")
        fields = request.model_dump(exclude_unset=True)
        if fields.get("name") is not None:
            genre.name = checked_name(fields["name"], field="name")
        if "parent_id" in fields:
            await _parent(work.session, request.parent_id, child=genre.id)
            genre.parent_id = request.parent_id
        await work.session.flush()
    return genre


async def delete_genre(runtime: Runtime, *, genre_id: UUID, caller: str | None) -> None:
    async with write(runtime, caller=caller) as work:
        genre = await repository.genre(work.session, genre_id)
        if genre is None:
            raise NotFound(f"no genre {genre_id}", code="catalog/genre-not-found")
        await work.session.delete(genre)
