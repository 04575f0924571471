"""The local filesystem adapter: the default for development and single-machine setups.

Keys map to paths under ``root`` (``a/b.ts`` is ``root/a/b.ts``); the key rules in
:mod:`spotilike.kit.storage.keys` keep every path inside it. Each object is written to a
temporary file in its own directory and renamed over the old one, so a reader sees the
old bytes or the new ones; a reader that already has the file open keeps reading the old
bytes to the end. Files are read and written in chunks in worker threads.

Folders are the filesystem's own: a key cannot be both an object and a folder here
(``a`` and ``a/b`` cannot coexist, unlike on S3), deleting an object leaves its folder,
and :meth:`FilesystemStorage.delete_prefix` first renames the whole folder into
``root/.spotilike-trash/`` (readers see all of it or none of it) and then removes it.
The filesystem stores no content types: :meth:`FilesystemStorage.stat` reports the type
the key's extension implies. There is no presigning; services stream these objects
through their own endpoints.

Publishing renames the staging folder to ``<final>/versions/<version>/`` in one
``os.rename`` and then replaces ``<final>/CURRENT`` (see
:mod:`spotilike.kit.storage.publishing`). Both folders are under ``root``, on one
filesystem, so the rename is atomic and nothing is copied.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from spotilike.kit.storage.errors import NotFoundInStorage
from spotilike.kit.storage.keys import (
    RESERVED_SEGMENT_PREFIX,
    folder,
    guess_content_type,
    validate_key,
)
from spotilike.kit.storage.localfiles import file_chunks, write_atomically
from spotilike.kit.storage.port import (
    CHUNK_SIZE,
    ObjectInfo,
    ObjectStream,
    StoredObject,
    check_expiry,
    satisfiable_range,
)
from spotilike.kit.storage.publishing import (
    check_disjoint,
    is_version,
    new_version,
    parse_pointer,
    pointer_key,
    prunable_versions,
    published_key,
    versions_prefix,
)

__all__ = ["FilesystemStorage"]

_TRASH = RESERVED_SEGMENT_PREFIX + "trash"
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)
_POINTER_MAX_BYTES = 256


class FilesystemStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.absolute()

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def _folder_path(self, folder_prefix: str) -> Path:
        return self.root.joinpath(*folder_prefix.removesuffix("/").split("/"))

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str | None = None
    ) -> StoredObject:
        size = await write_atomically(self._path(key), chunks)
        return StoredObject(key=key, size=size)

    async def put_file(
        self, key: str, path: Path, *, content_type: str | None = None
    ) -> StoredObject:
        return await self.put(key, file_chunks(path), content_type=content_type)

    async def get(self, key: str) -> ObjectStream:
        return await self._open(key, 0, None, whole=True)

    async def get_range(self, key: str, start: int, end: int | None = None) -> ObjectStream:
        return await self._open(key, start, end, whole=False)

    async def _open(self, key: str, start: int, end: int | None, *, whole: bool) -> ObjectStream:
        path = self._path(key)
        try:
            handle, size = await asyncio.to_thread(_open_regular, path)
        except _MISSING:
            raise NotFoundInStorage(key) from None
        try:
            if whole:
                first, last = 0, size - 1
            else:
                first, last = satisfiable_range(key, start, end, size)
                await asyncio.to_thread(handle.seek, first)
        except BaseException:
            await asyncio.to_thread(handle.close)
            raise
        remaining = last - first + 1

        async def read() -> bytes:
            nonlocal remaining
            if remaining <= 0:
                return b""
            chunk = await asyncio.to_thread(handle.read, min(CHUNK_SIZE, remaining))
            remaining -= len(chunk)
            return chunk

        async def close() -> None:
            await asyncio.to_thread(handle.close)

        return ObjectStream(
            read=read,
            close=close,
            size=last - first + 1,
            object_size=size,
            content_type=guess_content_type(key),
        )

    async def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        try:
            status = await asyncio.to_thread(path.stat)
        except _MISSING:
            raise NotFoundInStorage(key) from None
        if not stat.S_ISREG(status.st_mode):
            raise NotFoundInStorage(key)
        return ObjectInfo(
            key=key,
            size=status.st_size,
            content_type=guess_content_type(key),
            modified_at=_timestamp(status.st_mtime),
        )

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except NotFoundInStorage:
            return False
        return True

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(NotADirectoryError, IsADirectoryError):
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(self._delete_folder, self._folder_path(folder(prefix)))

    def _delete_folder(self, path: Path) -> int:
        if not path.is_dir():
            return 0
        trash = self.root / _TRASH / new_version()
        trash.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.rename(trash)
        except _MISSING:
            return 0
        count = len(_scan(trash, ""))
        shutil.rmtree(trash)
        return count

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        base = folder(prefix, allow_root=True)
        start = self._folder_path(base) if base else self.root
        for info in await asyncio.to_thread(_scan, start, base):
            yield info

    async def download_to(self, key: str, path: Path) -> StoredObject:
        async with await self.get(key) as stream:
            size = await write_atomically(path, stream)
        return StoredObject(key=key, size=size)

    async def presigned_get(self, key: str, *, expires_seconds: int) -> str | None:
        validate_key(key)
        check_expiry(expires_seconds)
        return None

    async def presigned_put(
        self, key: str, *, expires_seconds: int, content_type: str, size: int
    ) -> str | None:
        validate_key(key)
        check_expiry(expires_seconds)
        return None

    async def publish_prefix(self, staging_prefix: str, final_prefix: str) -> int:
        staging, final = check_disjoint(staging_prefix, final_prefix)
        version = new_version()
        target = self._folder_path(versions_prefix(final)) / version
        count = await asyncio.to_thread(self._move_in, self._folder_path(staging), target, staging)
        await write_atomically(self._path(pointer_key(final)), _once(version.encode("ascii")))
        return count

    def _move_in(self, source: Path, target: Path, staging: str) -> int:
        if not source.is_dir():
            raise NotFoundInStorage(staging)
        count = len(_scan(source, ""))
        if count == 0:
            raise NotFoundInStorage(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The folder's own time marks when the version arrived, for prune_versions: its
        # files keep the times they were staged at, which may be long before.
        os.utime(source)
        source.rename(target)
        return count

    async def current_version(self, final_prefix: str) -> str:
        version, _written_at = await self._read_pointer(final_prefix)
        return version

    async def _read_pointer(self, final_prefix: str) -> tuple[str, datetime]:
        key = pointer_key(final_prefix)
        try:
            content, mtime = await asyncio.to_thread(_read_small, self._path(key))
        except _MISSING:
            raise NotFoundInStorage(key) from None
        return parse_pointer(key, content), _timestamp(mtime)

    async def resolve(self, final_prefix: str, name: str) -> str:
        validate_key(name)
        return published_key(final_prefix, await self.current_version(final_prefix), name)

    async def prune_versions(self, final_prefix: str, *, grace_seconds: float) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=grace_seconds)
        try:
            current: str | None
            written_at: datetime | None
            current, written_at = await self._read_pointer(final_prefix)
        except NotFoundInStorage:
            current, written_at = None, None
        versions = await asyncio.to_thread(
            _version_times, self._folder_path(versions_prefix(final_prefix))
        )
        deleted = 0
        for version in prunable_versions(
            versions, current=current, pointer_written_at=written_at, cutoff=cutoff
        ):
            deleted += await self.delete_prefix(versions_prefix(final_prefix) + version)
        return deleted

    async def aclose(self) -> None:
        return None


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _open_regular(path: Path) -> tuple[BinaryIO, int]:
    handle = path.open("rb")
    status = os.fstat(handle.fileno())
    if not stat.S_ISREG(status.st_mode):
        handle.close()
        raise FileNotFoundError(path)
    return handle, status.st_size


def _read_small(path: Path) -> tuple[bytes, float]:
    # Content and time from one open file: the pointer may be replaced meanwhile, and
    # prune_versions must not pair one pointer's version with another's time.
    with path.open("rb") as handle:
        return handle.read(_POINTER_MAX_BYTES), os.fstat(handle.fileno()).st_mtime


def _scan(start: Path, base: str) -> list[ObjectInfo]:
    """Every object under ``start`` in key order, skipping in-flight and trashed files."""
    found = []
    for directory, folders, files in os.walk(start):
        folders[:] = [name for name in folders if not name.startswith(RESERVED_SEGMENT_PREFIX)]
        relative = Path(directory).relative_to(start).as_posix()
        inner = "" if relative == "." else relative + "/"
        for name in files:
            if name.startswith(RESERVED_SEGMENT_PREFIX):
                continue
            try:
                status = (Path(directory) / name).lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISREG(status.st_mode):
                found.append(
                    ObjectInfo(
                        key=base + inner + name,
                        size=status.st_size,
                        content_type=None,
                        modified_at=_timestamp(status.st_mtime),
                    )
                )
    found.sort(key=lambda info: info.key)
    return found


def _version_times(path: Path) -> dict[str, datetime]:
    try:
        with os.scandir(path) as scan:
            entries = list(scan)
    except _MISSING:
        return {}
    return {
        entry.name: _timestamp(entry.stat(follow_symlinks=False).st_mtime)
        for entry in entries
        if entry.is_dir(follow_symlinks=False) and is_version(entry.name)
    }
