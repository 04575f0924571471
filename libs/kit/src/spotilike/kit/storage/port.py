"""The object storage port: what every adapter offers, and the values it hands back.

Reads are streamed: :meth:`ObjectStorage.get` and :meth:`ObjectStorage.get_range` check
that the object exists (raising :class:`NotFoundInStorage` before the first byte, so an
HTTP handler can still answer 404) and return an :class:`ObjectStream` that yields chunks
of at most :data:`CHUNK_SIZE` bytes. Writes take any async iterable of chunks and never
hold more than a bounded buffer. See :mod:`spotilike.kit.storage` for publishing.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from spotilike.kit.storage.errors import RangeNotSatisfiable

__all__ = [
    "CHUNK_SIZE",
    "MAX_PRESIGN_SECONDS",
    "ObjectInfo",
    "ObjectStorage",
    "ObjectStream",
    "StoredObject",
    "check_expiry",
    "satisfiable_range",
]

CHUNK_SIZE = 256 * 1024
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object's metadata. ``content_type`` is ``None`` in listings (S3 does not list it)."""

    key: str
    size: int
    content_type: str | None
    modified_at: datetime


class ObjectStream(AsyncIterator[bytes]):
    """An object's bytes, read one chunk at a time.

    ``size`` is how many bytes this stream yields (the range's length for a range read),
    ``object_size`` the whole object's (for ``Content-Range``). The stream closes itself
    when exhausted; a reader that stops early must call :meth:`aclose` or use
    ``async with``, or the file handle or HTTP connection stays open.
    """

    def __init__(
        self,
        *,
        read: Callable[[], Awaitable[bytes]],
        close: Callable[[], Awaitable[None]],
        size: int,
        object_size: int,
        content_type: str | None,
    ) -> None:
        self._read = read
        self._close = close
        self._closed = False
        self.size = size
        self.object_size = object_size
        self.content_type = content_type

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        try:
            chunk = await self._read()
        except BaseException:
            await self.aclose()
            raise
        if not chunk:
            await self.aclose()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._close()

    async def read_all(self) -> bytes:
        """The rest of the stream as one value; only for objects known to be small."""
        parts = [chunk async for chunk in self]
        return b"".join(parts)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class ObjectStorage(Protocol):
    """Object storage as the services use it: the local filesystem or S3-compatible storage.

    Every key and prefix goes through :func:`spotilike.kit.storage.keys.validate_key`
    first. Writes of one object are atomic: a reader sees the old content or the new one,
    never part of it.
    """

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str | None = None
    ) -> StoredObject:
        """Store the streamed chunks under ``key``, replacing what was there.

        Without ``content_type`` the key's extension decides it (see ``guess_content_type``).
        """
        ...

    async def put_file(
        self, key: str, path: Path, *, content_type: str | None = None
    ) -> StoredObject: ...

    async def get(self, key: str) -> ObjectStream: ...

    async def get_range(self, key: str, start: int, end: int | None = None) -> ObjectStream:
        """Bytes ``start`` to ``end`` inclusive (to the end of the object when ``end`` is
        ``None`` or past it); :class:`RangeNotSatisfiable` when ``start`` is past the end."""
        ...

    async def stat(self, key: str) -> ObjectInfo: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder ``prefix``; returns how many there were."""
        ...

    def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """Objects under the folder ``prefix`` (everything for ``""``), in key order."""
        ...

    async def download_to(self, key: str, path: Path) -> StoredObject:
        """Copy the object to a local file, which appears only once it is complete."""
        ...

    async def presigned_get(self, key: str, *, expires_seconds: int) -> str | None:
        """A URL a client can GET the object from directly, or ``None`` when the backend
        cannot presign (the filesystem: serve the bytes through the service instead)."""
        ...

    async def presigned_put(
        self, key: str, *, expires_seconds: int, content_type: str, size: int
    ) -> str | None:
        """A URL a client can PUT exactly ``size`` bytes of ``content_type`` to, or ``None``.

        The client must send ``Content-Type`` and ``Content-Length`` with those values.
        """
        ...

    async def publish_prefix(self, staging_prefix: str, final_prefix: str) -> int:
        """Make everything under ``staging_prefix`` the current set under ``final_prefix``.

        Readers that go through :meth:`resolve` (or :meth:`current_version`) see the
        previous set or the new one, never a mix. The staging objects are gone afterwards.
        Returns the number of objects published.
        """
        ...

    async def current_version(self, final_prefix: str) -> str:
        """The version currently published under ``final_prefix``, or NotFoundInStorage."""
        ...

    async def resolve(self, final_prefix: str, name: str) -> str:
        """The key of ``name`` in the set currently published under ``final_prefix``."""
        ...

    async def prune_versions(self, final_prefix: str, *, grace_seconds: float) -> int:
        """Delete superseded and abandoned versions that nobody can still be reading.

        See :func:`spotilike.kit.storage.publishing.prunable_versions` for the rule.
        Returns the number of objects deleted.
        """
        ...

    async def aclose(self) -> None: ...


def satisfiable_range(key: str, start: int, end: int | None, size: int) -> tuple[int, int]:
    """The inclusive byte range actually served, ``end`` clamped to the object's last byte."""
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range {start}-{end}")
    if start >= size:
        raise RangeNotSatisfiable(key, start, size)
    last = size - 1 if end is None else min(end, size - 1)
    return start, last


def check_expiry(expires_seconds: int) -> int:
    if not 1 <= expires_seconds <= MAX_PRESIGN_SECONDS:
        raise ValueError(f"presigned URLs last 1 to {MAX_PRESIGN_SECONDS} seconds")
    return expires_seconds
