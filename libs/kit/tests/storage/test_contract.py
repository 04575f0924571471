"""What every adapter must do: each test runs against the filesystem and against S3 (moto)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from storagesupport import chunked, names_in, pattern

from spotilike.kit.storage import (
    CHUNK_SIZE,
    InvalidKey,
    NotFoundInStorage,
    ObjectStorage,
    RangeNotSatisfiable,
    published_key,
)


async def read(storage: ObjectStorage, key: str) -> bytes:
    async with await storage.get(key) as stream:
        return await stream.read_all()


async def test_put_then_get_returns_the_same_bytes(storage: ObjectStorage) -> None:
    data = pattern(CHUNK_SIZE * 2 + 123)
    stored = await storage.put("uploads/a.ogg", chunked(data, 10_000))
    assert (stored.key, stored.size) == ("uploads/a.ogg", len(data))
    stream = await storage.get("uploads/a.ogg")
    chunks = [chunk async for chunk in stream]
    assert b"".join(chunks) == data
    assert all(len(chunk) <= CHUNK_SIZE for chunk in chunks)
    assert (stream.size, stream.object_size, stream.content_type) == (
        len(data),
        len(data),
        "audio/ogg",
    )


async def test_put_replaces_the_previous_object(storage: ObjectStorage) -> None:
    await storage.put("a/b.txt", chunked(b"first version, longer"))
    await storage.put("a/b.txt", chunked(b"second"))
    assert await read(storage, "a/b.txt") == b"second"
    assert (await storage.stat("a/b.txt")).size == 6


async def test_an_empty_object_is_an_object(storage: ObjectStorage) -> None:
    await storage.put("empty.bin", chunked(b""))
    assert await read(storage, "empty.bin") == b""
    assert (await storage.stat("empty.bin")).size == 0
    assert await storage.exists("empty.bin")


async def test_stat_describes_the_object(storage: ObjectStorage) -> None:
    await storage.put("tracks/1/waveform.json", chunked(b'{"data": []}'))
    info = await storage.stat("tracks/1/waveform.json")
    assert (info.key, info.size, info.content_type) == (
        "tracks/1/waveform.json",
        12,
        "application/json",
    )
    assert info.modified_at.utcoffset() == UTC.utcoffset(None)


async def test_missing_objects_raise_not_found(storage: ObjectStorage) -> None:
    for call in (
        lambda: storage.get("nope/x"),
        lambda: storage.get_range("nope/x", 0, 1),
        lambda: storage.stat("nope/x"),
        lambda: storage.current_version("nope"),
        lambda: storage.resolve("nope", "master.m3u8"),
    ):
        with pytest.raises(NotFoundInStorage):
            await call()
    assert not await storage.exists("nope/x")


async def test_a_folder_is_not_an_object(storage: ObjectStorage) -> None:
    await storage.put("a/b/c.txt", chunked(b"c"))
    assert not await storage.exists("a/b")
    with pytest.raises(NotFoundInStorage):
        await storage.get("a/b")


@pytest.mark.parametrize(
    ("start", "end", "expected_slice"),
    [
        (0, 0, slice(0, 1)),
        (0, 99, slice(0, 100)),
        (10, 19, slice(10, 20)),
        (CHUNK_SIZE - 1, CHUNK_SIZE + 1, slice(CHUNK_SIZE - 1, CHUNK_SIZE + 2)),
        (5, None, slice(5, None)),
        (300_000, 10_000_000, slice(300_000, None)),
    ],
)
async def test_range_reads_return_the_inclusive_range(
    storage: ObjectStorage, start: int, end: int | None, expected_slice: slice
) -> None:
    data = pattern(400_000, seed=3)
    await storage.put("tracks/1/seg.ts", chunked(data, 65_536))
    async with await storage.get_range("tracks/1/seg.ts", start, end) as stream:
        body = await stream.read_all()
    assert body == data[expected_slice]
    assert (stream.size, stream.object_size) == (len(body), len(data))


async def test_a_range_past_the_end_is_not_satisfiable(storage: ObjectStorage) -> None:
    await storage.put("short.bin", chunked(b"0123456789"))
    with pytest.raises(RangeNotSatisfiable) as caught:
        await storage.get_range("short.bin", 10, 20)
    assert caught.value.size == 10
    with pytest.raises(ValueError, match="invalid byte range"):
        await storage.get_range("short.bin", 5, 4)


async def test_a_stream_closed_early_yields_nothing_more(storage: ObjectStorage) -> None:
    await storage.put("big.bin", chunked(pattern(CHUNK_SIZE * 3), 65_536))
    stream = await storage.get("big.bin")
    first = await anext(stream)
    await stream.aclose()
    assert len(first) > 0
    assert [chunk async for chunk in stream] == []


async def test_list_walks_a_folder_in_key_order(storage: ObjectStorage) -> None:
    keys = ["tracks/4/b.ts", "tracks/4/a/z.ts", "tracks/4/a.ts", "tracks/42/x.ts", "other/y"]
    for index, key in enumerate(keys):
        await storage.put(key, chunked(b"x" * index))
    listed = [info async for info in storage.list("tracks/4")]
    assert [info.key for info in listed] == ["tracks/4/a.ts", "tracks/4/a/z.ts", "tracks/4/b.ts"]
    assert [info.size for info in listed] == [2, 1, 0]
    everything = [info.key async for info in storage.list("")]
    assert everything == sorted(keys)
    assert [info async for info in storage.list("absent")] == []


async def test_delete_removes_one_object_and_ignores_missing_ones(storage: ObjectStorage) -> None:
    await storage.put("a/1", chunked(b"1"))
    await storage.put("a/2", chunked(b"2"))
    await storage.delete("a/1")
    await storage.delete("a/1")
    await storage.delete("never/was")
    assert [info.key async for info in storage.list("a")] == ["a/2"]


async def test_delete_prefix_removes_the_folder_only(storage: ObjectStorage) -> None:
    for key in ["tracks/4/a.ts", "tracks/4/hls/b.ts", "tracks/4/hls/c.ts", "tracks/42/d.ts"]:
        await storage.put(key, chunked(b"data"))
    assert await storage.delete_prefix("tracks/4") == 3
    assert [info.key async for info in storage.list("")] == ["tracks/42/d.ts"]
    assert await storage.delete_prefix("tracks/4") == 0
    with pytest.raises(InvalidKey):
        await storage.delete_prefix("")


async def test_files_go_in_and_come_out_streamed(storage: ObjectStorage, tmp_path: Path) -> None:
    data = pattern(CHUNK_SIZE * 4 + 17, seed=9)
    source = tmp_path / "source.ogg"
    source.write_bytes(data)
    stored = await storage.put_file("uploads/u1.ogg", source)
    assert stored.size == len(data)
    target = tmp_path / "out" / "copy.ogg"
    downloaded = await storage.download_to("uploads/u1.ogg", target)
    assert downloaded.size == len(data)
    assert target.read_bytes() == data
    assert sorted(path.name for path in target.parent.iterdir()) == ["copy.ogg"]


async def test_download_of_a_missing_object_creates_no_file(
    storage: ObjectStorage, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundInStorage):
        await storage.download_to("nope.ogg", tmp_path / "nope.ogg")
    assert not (tmp_path / "nope.ogg").exists()


TRAVERSALS = ["../escape", "a/../../escape", "/etc/passwd", "..\\escape", "a\x00b", "a//b", ""]


@pytest.mark.parametrize("key", TRAVERSALS)
async def test_traversal_keys_are_refused_by_every_operation(
    storage: ObjectStorage, key: str, tmp_path: Path
) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"x")
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: storage.put(key, chunked(b"x")),
        lambda: storage.put_file(key, source),
        lambda: storage.get(key),
        lambda: storage.get_range(key, 0, 0),
        lambda: storage.stat(key),
        lambda: storage.exists(key),
        lambda: storage.delete(key),
        lambda: storage.download_to(key, tmp_path / "out.bin"),
        lambda: storage.presigned_get(key, expires_seconds=60),
        lambda: storage.presigned_put(key, expires_seconds=60, content_type="a/b", size=1),
        lambda: storage.resolve("tracks/1", key),
    ]
    if key:
        calls += [
            lambda: storage.delete_prefix(key),
            lambda: storage.publish_prefix(key, "tracks/1"),
            lambda: storage.publish_prefix("staging/1", key),
            lambda: storage.current_version(key),
            lambda: storage.prune_versions(key, grace_seconds=0),
        ]
    for call in calls:
        with pytest.raises(InvalidKey):
            await call()
    with pytest.raises(InvalidKey):
        [info async for info in storage.list(key or "../x")]
    assert [info async for info in storage.list("")] == []
    assert names_in(tmp_path) in (
        ["source.bin"],
        ["source.bin", "storage"],
    )


HLS_NAMES = [
    "master.m3u8",
    "96k/index.m3u8",
    "96k/segment_00000.ts",
    "160k/index.m3u8",
    "160k/segment_00000.ts",
    "320k/index.m3u8",
    "320k/segment_00000.ts",
]


async def stage(storage: ObjectStorage, generation: int) -> str:
    staging = f"staging/job-{generation}"
    for name in HLS_NAMES:
        await storage.put(f"{staging}/{name}", chunked(f"gen-{generation}:{name}".encode()))
    return staging


async def test_publish_makes_the_staged_set_current(storage: ObjectStorage) -> None:
    staging = await stage(storage, 1)
    assert await storage.publish_prefix(staging, "tracks/t1") == len(HLS_NAMES)
    assert [info async for info in storage.list(staging)] == []
    for name in HLS_NAMES:
        key = await storage.resolve("tracks/t1", name)
        assert await read(storage, key) == f"gen-1:{name}".encode()
    first = await storage.current_version("tracks/t1")

    await storage.publish_prefix(await stage(storage, 2), "tracks/t1")
    second = await storage.current_version("tracks/t1")
    assert second != first
    assert await read(storage, await storage.resolve("tracks/t1", "master.m3u8")) == (
        b"gen-2:master.m3u8"
    )
    # A reader that resolved the first version before the switch can still finish it.
    assert await read(storage, published_key("tracks/t1", first, "master.m3u8")) == (
        b"gen-1:master.m3u8"
    )


async def test_publish_refuses_an_empty_staging_prefix(storage: ObjectStorage) -> None:
    with pytest.raises(NotFoundInStorage):
        await storage.publish_prefix("staging/never-written", "tracks/t1")
    with pytest.raises(NotFoundInStorage):
        await storage.current_version("tracks/t1")


async def test_publish_refuses_overlapping_prefixes(storage: ObjectStorage) -> None:
    await storage.put("tracks/t1/staging/a", chunked(b"a"))
    with pytest.raises(InvalidKey):
        await storage.publish_prefix("tracks/t1/staging", "tracks/t1")
    assert [info.key async for info in storage.list("")] == ["tracks/t1/staging/a"]


async def test_prune_keeps_versions_inside_the_grace_period(storage: ObjectStorage) -> None:
    await storage.publish_prefix(await stage(storage, 1), "tracks/t1")
    await storage.publish_prefix(await stage(storage, 2), "tracks/t1")
    assert await storage.prune_versions("tracks/t1", grace_seconds=3600) == 0
    versions = {info.key.split("/")[3] async for info in storage.list("tracks/t1/versions")}
    assert len(versions) == 2


async def test_prune_drops_superseded_versions_and_keeps_the_current(
    storage: ObjectStorage,
) -> None:
    for generation in (1, 2, 3):
        await storage.publish_prefix(await stage(storage, generation), "tracks/t1")
    current = await storage.current_version("tracks/t1")
    assert await storage.prune_versions("tracks/t1", grace_seconds=0) == 2 * len(HLS_NAMES)
    remaining = [info.key async for info in storage.list("tracks/t1")]
    assert remaining == sorted(
        ["tracks/t1/CURRENT"] + [published_key("tracks/t1", current, n) for n in HLS_NAMES]
    )
    assert await storage.prune_versions("tracks/t1", grace_seconds=0) == 0


@dataclass
class Reader:
    """Reads the whole current set over and over and records what it saw."""

    storage: ObjectStorage
    final: str
    seen: set[int] = field(default_factory=set)
    mixed: list[dict[str, bytes]] = field(default_factory=list)
    complete_passes: int = 0
    interrupted_passes: int = 0
    passes_during_publish: int = 0
    publishing: bool = False
    wanted: asyncio.Event | None = None
    stop: bool = False

    async def run(self) -> None:
        while not self.stop:
            wanted, self.wanted = self.wanted, None
            during_publish = self.publishing
            try:
                contents = await self.read_set()
            except NotFoundInStorage:
                self.interrupted_passes += 1
                self.wanted = self.wanted or wanted
                await asyncio.sleep(0)
                continue
            self.complete_passes += 1
            self.passes_during_publish += during_publish or self.publishing
            generations = {content.split(b":", 1)[0] for content in contents.values()}
            expected = {
                name: b"%s:%s" % (next(iter(generations)), name.encode()) for name in HLS_NAMES
            }
            if len(generations) != 1 or contents != expected:
                self.mixed.append(contents)
            else:
                self.seen.add(int(next(iter(generations)).removeprefix(b"gen-")))
            if wanted is not None:
                wanted.set()

    async def read_set(self) -> dict[str, bytes]:
        version = await self.storage.current_version(self.final)
        contents = {}
        for name in HLS_NAMES:
            contents[name] = await read(self.storage, published_key(self.final, version, name))
        return contents


@pytest.mark.parametrize("prune", [False, True], ids=["keep-old", "prune-old"])
async def test_a_concurrent_reader_never_sees_a_mixed_set(
    storage: ObjectStorage, prune: bool
) -> None:
    generations = 8
    await storage.publish_prefix(await stage(storage, 0), "tracks/t1")
    reader = Reader(storage, "tracks/t1")
    reading = asyncio.create_task(reader.run())
    try:
        for generation in range(1, generations + 1):
            reader.publishing = True
            staging = await stage(storage, generation)
            await storage.publish_prefix(staging, "tracks/t1")
            if prune:
                await storage.prune_versions("tracks/t1", grace_seconds=0)
            reader.publishing = False
            # Wait for one pass that starts after this publish, so every generation is read
            # once; all the other passes overlap the staging and publishing above.
            wanted = asyncio.Event()
            reader.wanted = wanted
            await wanted.wait()
    finally:
        reader.stop = True
        await reading
    assert reader.mixed == []
    assert reader.seen == set(range(generations + 1))
    assert reader.passes_during_publish > 0
    if not prune:
        assert reader.interrupted_passes == 0
