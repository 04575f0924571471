"""What only the filesystem adapter does: temp files, renames, no presigning."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from storagesupport import chunked, names_in

from spotilike.kit.storage import (
    CHUNK_SIZE,
    POINTER_NAME,
    FilesystemStorage,
    storage_from_url,
)

pytestmark = pytest.mark.unit


def files_under(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


async def test_a_write_in_progress_is_invisible(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    await storage.put("a/b.bin", chunked(b"old"))
    half_written = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"new-"
        half_written.set()
        await release.wait()
        yield b"content"

    writing = asyncio.create_task(storage.put("a/b.bin", slow()))
    await half_written.wait()
    async with await storage.get("a/b.bin") as stream:
        assert await stream.read_all() == b"old"
    assert [info.key async for info in storage.list("")] == ["a/b.bin"]
    assert len(files_under(tmp_path)) == 2
    release.set()
    await writing
    async with await storage.get("a/b.bin") as stream:
        assert await stream.read_all() == b"new-content"
    assert files_under(tmp_path) == ["a/b.bin"]


async def test_a_failed_write_leaves_the_old_object_and_no_temp_file(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    await storage.put("a/b.bin", chunked(b"old"))

    async def failing() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("the uploader went away")

    with pytest.raises(ConnectionResetError):
        await storage.put("a/b.bin", failing())
    assert files_under(tmp_path) == ["a/b.bin"]
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"old"


async def test_an_open_reader_keeps_the_bytes_it_started_with(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    old = b"o" * (CHUNK_SIZE * 2)
    await storage.put("a.bin", chunked(old, CHUNK_SIZE))
    async with await storage.get("a.bin") as stream:
        first = await anext(stream)
        await storage.put("a.bin", chunked(b"n" * 10))
        rest = b"".join([chunk async for chunk in stream])
    assert first + rest == old


async def test_stored_files_are_ordinary_readable_files(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    await storage.put("a.bin", chunked(b"x"))
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o644


async def test_keys_cannot_reach_outside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    storage = FilesystemStorage(root)
    (tmp_path / "secret.txt").write_text("secret")
    for key in ["../secret.txt", "a/../../secret.txt", str(tmp_path / "secret.txt")]:
        with pytest.raises(ValueError, match="key"):
            await storage.get(key)
        with pytest.raises(ValueError, match="key"):
            await storage.put(key, chunked(b"overwritten"))
        with pytest.raises(ValueError, match="key"):
            await storage.delete(key)
    assert (tmp_path / "secret.txt").read_text() == "secret"
    assert not root.exists()


async def test_publish_swaps_a_pointer_file_to_a_renamed_folder(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    await storage.put("staging/j1/master.m3u8", chunked(b"#EXTM3U\n"))
    await storage.put("staging/j1/160k/segment_00000.ts", chunked(b"ts"))
    assert await storage.publish_prefix("staging/j1", "tracks/t1") == 2
    version = (tmp_path / "tracks" / "t1" / POINTER_NAME).read_text()
    assert version == await storage.current_version("tracks/t1")
    assert files_under(tmp_path) == [
        "tracks/t1/CURRENT",
        f"tracks/t1/versions/{version}/160k/segment_00000.ts",
        f"tracks/t1/versions/{version}/master.m3u8",
    ]
    assert not (tmp_path / "staging" / "j1").exists()


async def test_delete_prefix_leaves_no_trash_behind(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    await storage.put("tracks/t1/a", chunked(b"a"))
    await storage.put("tracks/t1/b/c", chunked(b"c"))
    assert await storage.delete_prefix("tracks/t1/") == 2
    assert files_under(tmp_path) == []
    assert names_in(tmp_path) == [".spotilike-trash", "tracks"]
    assert names_in(tmp_path / ".spotilike-trash") == []


async def test_filesystem_storage_presigns_nothing(tmp_path: Path) -> None:
    storage = storage_from_url(tmp_path.as_uri())
    await storage.put("a.ogg", chunked(b"x"))
    assert await storage.presigned_get("a.ogg", expires_seconds=60) is None
    assert (
        await storage.presigned_put("a.ogg", expires_seconds=60, content_type="audio/ogg", size=1)
        is None
    )
    await storage.aclose()
