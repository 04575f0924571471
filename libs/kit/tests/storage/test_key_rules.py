from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from spotilike.kit.storage import (
    FilesystemStorage,
    InvalidKey,
    RangeNotSatisfiable,
    S3Storage,
    StorageError,
    guess_content_type,
    published_key,
    storage_from_url,
    validate_key,
)
from spotilike.kit.storage.keys import folder
from spotilike.kit.storage.port import check_expiry, satisfiable_range
from spotilike.kit.storage.publishing import (
    check_disjoint,
    new_version,
    parse_pointer,
    prunable_versions,
)

pytestmark = pytest.mark.unit

REFUSED_KEYS = [
    "",
    "/etc/passwd",
    "../escape",
    "a/../../escape",
    "a/..",
    "..",
    ".",
    "./a",
    "a/./b",
    "a//b",
    "a/",
    "a\\..\\b",
    "..\\escape",
    "a\x00b",
    "a\nb",
    "a/.spotilike-tmp-x.part",
    "x" * 1025,
    "é" * 513,
    "bad-\udc80-surrogate",
]


@pytest.mark.parametrize("key", REFUSED_KEYS)
def test_refused_keys_raise_invalid_key(key: str) -> None:
    with pytest.raises(InvalidKey):
        validate_key(key)


def test_invalid_key_is_a_value_error() -> None:
    assert issubclass(InvalidKey, ValueError)


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "tracks/01J/hls/160k/segment_00001.ts",
        "uploads/ünïcode ß.ogg",
        "...",
        "a..b/.hidden",
        "x" * 1024,
        "é" * 512,
    ],
)
def test_accepted_keys_come_back_unchanged(key: str) -> None:
    assert validate_key(key) == key


def test_prefixes_are_folders() -> None:
    assert folder("tracks/42") == "tracks/42/"
    assert folder("tracks/42/") == "tracks/42/"
    assert folder("", allow_root=True) == ""
    with pytest.raises(InvalidKey):
        folder("")
    with pytest.raises(InvalidKey):
        folder("/")
    with pytest.raises(InvalidKey):
        folder("../tracks")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("tracks/1/hls/160k/segment_00001.ts", "video/mp2t"),
        ("tracks/1/hls/master.m3u8", "application/vnd.apple.mpegurl"),
        ("uploads/song.OGG", "audio/ogg"),
        ("tracks/1/waveform.json", "application/json"),
        ("covers/a.jpg", "image/jpeg"),
        ("tracks/1/CURRENT", None),
        ("tracks/1/.ts", None),
    ],
)
def test_content_type_follows_the_extension(key: str, expected: str | None) -> None:
    assert guess_content_type(key) == expected


@pytest.mark.parametrize(
    ("start", "end", "size", "expected"),
    [
        (0, None, 10, (0, 9)),
        (0, 0, 10, (0, 0)),
        (3, 5, 10, (3, 5)),
        (9, 9, 10, (9, 9)),
        (4, 1000, 10, (4, 9)),
    ],
)
def test_ranges_are_clamped_to_the_object(
    start: int, end: int | None, size: int, expected: tuple[int, int]
) -> None:
    assert satisfiable_range("k", start, end, size) == expected


@pytest.mark.parametrize(("start", "size"), [(10, 10), (11, 10), (0, 0)])
def test_ranges_past_the_end_are_not_satisfiable(start: int, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        satisfiable_range("k", start, None, size)
    assert (caught.value.start, caught.value.size) == (start, size)


@pytest.mark.parametrize(("start", "end"), [(-1, None), (5, 4)])
def test_malformed_ranges_are_value_errors(start: int, end: int | None) -> None:
    with pytest.raises(ValueError, match="invalid byte range"):
        satisfiable_range("k", start, end, 10)


@pytest.mark.parametrize("seconds", [0, -5, 7 * 24 * 3600 + 1])
def test_presign_expiry_outside_sigv4_limits_is_refused(seconds: int) -> None:
    with pytest.raises(ValueError, match="presigned"):
        check_expiry(seconds)


def test_presign_expiry_inside_limits_is_kept() -> None:
    assert check_expiry(1) == 1
    assert check_expiry(7 * 24 * 3600) == 7 * 24 * 3600


def test_published_keys_live_under_the_version_folder() -> None:
    version = new_version()
    assert published_key("tracks/7", version, "hls/master.m3u8") == (
        f"tracks/7/versions/{version}/hls/master.m3u8"
    )
    with pytest.raises(InvalidKey):
        published_key("tracks/7", "../../etc", "x")
    with pytest.raises(InvalidKey):
        published_key("tracks/7", version, "../x")


def test_versions_are_unique_and_sort_by_creation() -> None:
    versions = [new_version() for _ in range(50)]
    assert len(set(versions)) == 50
    assert versions == sorted(versions)


def test_a_pointer_must_hold_a_version_id() -> None:
    version = new_version()
    assert parse_pointer("p/CURRENT", f"{version}\n".encode()) == version
    with pytest.raises(StorageError):
        parse_pointer("p/CURRENT", b"../../elsewhere")


@pytest.mark.parametrize(
    ("staging", "final"),
    [("tracks/1", "tracks/1"), ("tracks/1/staging", "tracks/1"), ("tracks", "tracks/1")],
)
def test_overlapping_publish_prefixes_are_refused(staging: str, final: str) -> None:
    with pytest.raises(InvalidKey):
        check_disjoint(staging, final)


def test_sibling_publish_prefixes_are_accepted() -> None:
    assert check_disjoint("staging/tracks/1", "tracks/1") == ("staging/tracks/1/", "tracks/1/")
    assert check_disjoint("tracks/1-staging", "tracks/1") == ("tracks/1-staging/", "tracks/1/")


NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_superseded_versions_go_once_the_pointer_is_older_than_the_grace() -> None:
    versions = {"a" * 32: NOW - 5 * HOUR, "b" * 32: NOW - 3 * HOUR, "c" * 32: NOW - 2 * HOUR}
    assert prunable_versions(
        versions, current="c" * 32, pointer_written_at=NOW - 2 * HOUR, cutoff=NOW - HOUR
    ) == ["a" * 32, "b" * 32]


def test_nothing_goes_while_the_pointer_moved_within_the_grace() -> None:
    versions = {"a" * 32: NOW - 5 * HOUR, "c" * 32: NOW - 5 * HOUR}
    assert (
        prunable_versions(
            versions, current="c" * 32, pointer_written_at=NOW - HOUR / 2, cutoff=NOW - HOUR
        )
        == []
    )


def test_a_version_still_being_written_stays() -> None:
    versions = {"a" * 32: NOW - 5 * HOUR, "d" * 32: NOW - HOUR / 60}
    assert (
        prunable_versions(
            versions, current="a" * 32, pointer_written_at=NOW - 5 * HOUR, cutoff=NOW - HOUR
        )
        == []
    )


def test_abandoned_versions_go_when_nothing_was_ever_published() -> None:
    versions = {"a" * 32: NOW - 5 * HOUR, "d" * 32: NOW - HOUR / 60}
    assert prunable_versions(
        versions, current=None, pointer_written_at=None, cutoff=NOW - HOUR
    ) == ["a" * 32]


def test_file_urls_make_filesystem_storage(tmp_path: Path) -> None:
    storage = storage_from_url((tmp_path / "a b").as_uri())
    assert isinstance(storage, FilesystemStorage)
    assert storage.root == tmp_path / "a b"
    assert isinstance(storage_from_url(f"file://localhost{tmp_path}"), FilesystemStorage)


def test_s3_urls_make_s3_storage() -> None:
    storage = storage_from_url(
        "s3://media-bucket?endpoint=https://acct.r2.cloudflarestorage.com",
        access_key="id",
        secret_key="secret",
    )
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.endpoint_url, storage.region, storage.addressing_style) == (
        "media-bucket",
        "https://acct.r2.cloudflarestorage.com",
        "auto",
        "path",
    )
    aws = storage_from_url("s3://media-bucket?region=eu-west-1&addressing=virtual")
    assert isinstance(aws, S3Storage)
    assert (aws.endpoint_url, aws.region, aws.addressing_style) == (None, "eu-west-1", "virtual")


@pytest.mark.parametrize(
    "url",
    [
        "relative/path",
        "file://relative/path",
        "file:///srv/storage?x=1",
        "s3://key:secret@bucket?endpoint=http://127.0.0.1:9000",
        "s3://bucket/extra/path",
        "s3://Bad_Bucket",
        "s3://bucket?endpoint=http://a&endpoint=http://b",
        "s3://bucket?unknown=1",
        "s3://bucket?addressing=sideways",
        "gs://bucket",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        storage_from_url(url)
