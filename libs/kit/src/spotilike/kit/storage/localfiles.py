"""Streaming local files in and out without blocking the event loop.

Each read, write and sync runs in a worker thread (``asyncio.to_thread``), one chunk at
a time, so a large file never sits in memory and the loop keeps serving other requests.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO

from spotilike.kit.storage.keys import RESERVED_SEGMENT_PREFIX
from spotilike.kit.storage.port import CHUNK_SIZE

__all__ = ["TEMP_PREFIX", "file_chunks", "write_atomically"]

TEMP_PREFIX = RESERVED_SEGMENT_PREFIX + "tmp-"


async def file_chunks(path: Path, *, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, chunk_size):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


async def write_atomically(path: Path, chunks: AsyncIterable[bytes]) -> int:
    """Write the chunks to ``path`` through a temporary file beside it; returns the size.

    The temporary file is synced and then renamed over ``path`` (``os.replace``, atomic on
    POSIX within one filesystem), so readers see the old file or the whole new one. If
    the stream fails, the temporary file is removed and ``path`` is left as it was.
    """
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    descriptor, temp_name = await asyncio.to_thread(
        tempfile.mkstemp, prefix=TEMP_PREFIX, suffix=".part", dir=path.parent
    )
    temp = Path(temp_name)
    size = 0
    try:
        handle = os.fdopen(descriptor, "wb")
        try:
            async for chunk in chunks:
                await asyncio.to_thread(handle.write, chunk)
                size += len(chunk)
            await asyncio.to_thread(_sync, handle)
        finally:
            await asyncio.to_thread(handle.close)
        # mkstemp creates files readable by the owner only; stored objects are ordinary files.
        await asyncio.to_thread(temp.chmod, 0o644)
        await asyncio.to_thread(os.replace, temp, path)
    except BaseException:
        await asyncio.to_thread(temp.unlink, missing_ok=True)
        raise
    return size


def _sync(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())
