"""One write: a primary transaction, then the cache entries it made stale.

Pages are invalidated only after the commit (the kit's ``after_commit``). Invalidating
inside the transaction would let a reader between the invalidation and the commit load
the old rows and cache them for the whole TTL; after the commit, the page cache's own
guard keeps a load that began before the invalidation from storing what it read. The
same holds for the consumers, whose sessions are the consumer runner's transactions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.catalog.service.runtime import Runtime
from spotilike.kit.db import after_commit

__all__ = ["Write", "album_page_key", "artist_page_key", "write"]


def album_page_key(album_id: UUID) -> str:
    return f"album:{album_id}"


def artist_page_key(artist_id: UUID) -> str:
    return f"artist:{artist_id}"


class Write:
    """A transaction's session and the pages it makes stale."""

    def __init__(self, runtime: Runtime, session: AsyncSession) -> None:
        self.session = session
        self._runtime = runtime
        self._stale: set[str] = set()

    def touches_album(self, album_id: UUID) -> None:
        self._mark(album_page_key(album_id))

    def touches_artist(self, artist_id: UUID) -> None:
        self._mark(artist_page_key(artist_id))

    def _mark(self, key: str) -> None:
        if not self._stale:
            after_commit(self.session, self._invalidate)
        self._stale.add(key)

    async def _invalidate(self) -> None:
        await self._runtime.pages.invalidate(*sorted(self._stale))


@asynccontextmanager
async def write(runtime: Runtime, *, caller: str | None) -> AsyncIterator[Write]:
    async with runtime.database.transaction(caller=caller) as session:
        yield Write(runtime, session)
