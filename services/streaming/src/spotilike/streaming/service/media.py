"""Reading renditions out of object storage without holding whole files.

On S3/R2 every read goes through a presigned GET URL: signing is CPU work per request,
and an HTTP GET against a presigned URL streams straight from the bucket with a plain
client. The URL is kept in Valkey for ``presign_cache_seconds`` (shorter than its
``presign_seconds`` lifetime), so all instances share one signature per object for most
of its life. A 403 from the bucket (a URL revoked by a key rotation, or clock skew)
drops the cached URL and signs once more. On the filesystem backend there is nothing to
sign and reads go to the storage port directly.
"""

from __future__ import annotations

import hashlib
from typing import Final

import aiohttp
import structlog
from cachetools import LRUCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

from spotilike.kit.storage import (
    NotFoundInStorage,
    ObjectInfo,
    ObjectStorage,
    ObjectStream,
    RangeNotSatisfiable,
)
from spotilike.kit.storage.port import CHUNK_SIZE

__all__ = ["MediaReader", "PlaylistTooLarge"]

_log = structlog.get_logger(__name__)

MAX_PLAYLIST_BYTES: Final = 512 * 1024
"""A 20-minute track's media playlist is ~10 KB; anything near this is not ours."""


PLAYLIST_CACHE_CHARACTERS: Final = 8 * 1024 * 1024
"""Stored playlists kept in memory per process: about a thousand tracks' sets."""


class PlaylistTooLarge(Exception):  # noqa: N818 - a state of stored data
    pass


class MediaReader:
    def __init__(
        self,
        storage: ObjectStorage,
        redis: Redis,
        *,
        presign_seconds: int,
        cache_seconds: int,
        namespace: str = "streaming",
    ) -> None:
        self._storage = storage
        self._redis = redis
        self._presign_seconds = presign_seconds
        self._cache_seconds = cache_seconds
        self._namespace = namespace
        self._direct: bool | None = None
        self._http: aiohttp.ClientSession | None = None
        self._playlists: LRUCache[str, str] = LRUCache(
            maxsize=PLAYLIST_CACHE_CHARACTERS, getsizeof=len
        )

    async def open(
        self, key: str, *, start: int | None = None, end: int | None = None
    ) -> ObjectStream:
        """The object's bytes (``start``..``end`` inclusive when ``start`` is given)."""
        if self._direct is not False:
            url = await self._presigned(key)
            if url is None:
                self._direct = True
                if start is None:
                    return await self._storage.get(key)
                return await self._storage.get_range(key, start, end)
            self._direct = False
        return await self._open_presigned(key, start, end)

    async def read_playlist(self, key: str) -> str:
        """A stored playlist's text, read from storage once per key and then kept.

        Keeping it is safe because a key's text never changes: the audio service publishes
        each rendition set under a new ``tracks/<track>/versions/<v>/`` prefix and never
        writes into a published one, and which key to read comes from the projection, so
        a new version is a new key. On S3 that is one Valkey lookup and one bucket round
        trip less for every playlist a player fetches. Failures are not kept.
        """
        cached = self._playlists.get(key)
        if cached is not None:
            return cached
        stream = await self.open(key)
        async with stream:
            if stream.size > MAX_PLAYLIST_BYTES:
                raise PlaylistTooLarge(f"{key} is {stream.size} bytes")
            data = await stream.read_all()
        text = data.decode("utf-8")
        self._playlists[key] = text
        return text

    async def stat(self, key: str) -> ObjectInfo:
        return await self._storage.stat(key)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
        await self._storage.aclose()

    async def _open_presigned(self, key: str, start: int | None, end: int | None) -> ObjectStream:
        headers = {}
        if start is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        for attempt in range(2):
            url = await self._presigned(key, fresh=attempt > 0)
            assert url is not None
            response = await self._client().get(url, headers=headers)
            if response.status == 403 and attempt == 0:
                response.release()
                continue
            return self._stream(key, response, start)
        raise AssertionError("unreachable")

    def _stream(
        self, key: str, response: aiohttp.ClientResponse, start: int | None
    ) -> ObjectStream:
        if response.status == 404:
            response.release()
            raise NotFoundInStorage(key)
        if response.status == 416:
            total = _total_from_content_range(response.headers.get("Content-Range"))
            response.release()
            raise RangeNotSatisfiable(key, start or 0, total or 0)
        if response.status not in (200, 206):
            response.release()
            raise OSError(f"object storage answered {response.status} for {key}")
        size = int(response.headers.get("Content-Length", "0"))
        total = _total_from_content_range(response.headers.get("Content-Range")) or size

        async def read() -> bytes:
            return await response.content.read(CHUNK_SIZE)

        async def close() -> None:
            response.release()

        return ObjectStream(
            read=read,
            close=close,
            size=size,
            object_size=total,
            content_type=response.headers.get("Content-Type"),
        )

    async def _presigned(self, key: str, *, fresh: bool = False) -> str | None:
        cache_key = (
            f"spotilike:{self._namespace}:presigned:{hashlib.sha256(key.encode()).hexdigest()}"
        )
        if not fresh and self._direct is False:
            try:
                cached = await self._redis.get(cache_key)
            except RedisError as exc:
                # Signing locally is always possible; the cache only saves CPU.
                _log.warning("presign_cache.unavailable", error=type(exc).__name__)
                cached = None
            if cached is not None:
                return cached.decode() if isinstance(cached, bytes) else str(cached)
        url = await self._storage.presigned_get(key, expires_seconds=self._presign_seconds)
        if url is not None:
            try:
                await self._redis.set(cache_key, url, ex=self._cache_seconds)
            except RedisError as exc:
                _log.warning("presign_cache.unavailable", error=type(exc).__name__)
        return url

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, connect=5, sock_read=30),
                auto_decompress=False,
            )
        return self._http


def _total_from_content_range(value: str | None) -> int | None:
    if not value or "/" not in value:
        return None
    total = value.rpartition("/")[2]
    return int(total) if total.isdigit() else None
