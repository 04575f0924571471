"""The layout of published sets, shared by both adapters.

A set published under a final prefix ``P`` lives in its own version folder, and a small
pointer object names the current one::

    P/CURRENT                      the current version id, as ASCII text
    P/versions/<version>/<name>    the objects of each version, never modified once written

Publishing first makes a complete version folder (a directory rename on the filesystem,
server-side copies on S3), then replaces ``P/CURRENT``, a single-object write that is
atomic on both backends (``os.replace``; S3 and R2 are strongly consistent for a PUT). A
reader that reads ``CURRENT`` and then only objects of that version sees one complete
set: the version folder was complete before the pointer named it, and it is never
changed afterwards. A reader that must present several objects as one set across
requests (an HLS master playlist and its segments) should resolve the version once and
carry it, e.g. in its URLs, and use :func:`published_key`.

Old versions are not deleted by publishing, because a reader may have resolved one just
before the pointer moved. :func:`prunable_versions` decides which versions can go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

import uuid_utils

from spotilike.kit.storage.errors import InvalidKey, StorageError
from spotilike.kit.storage.keys import folder, validate_key

__all__ = [
    "POINTER_NAME",
    "VERSIONS_FOLDER",
    "check_disjoint",
    "is_version",
    "new_version",
    "parse_pointer",
    "pointer_key",
    "prunable_versions",
    "published_key",
    "versions_prefix",
]

POINTER_NAME = "CURRENT"
VERSIONS_FOLDER = "versions"

_VERSION = re.compile(r"[0-9a-f]{32}")


def new_version() -> str:
    """A fresh version id: a UUIDv7 in hex, so ids sort by creation time."""
    return uuid_utils.uuid7().hex


def is_version(text: str) -> bool:
    return _VERSION.fullmatch(text) is not None


def pointer_key(final_prefix: str) -> str:
    return folder(final_prefix) + POINTER_NAME


def versions_prefix(final_prefix: str) -> str:
    return folder(final_prefix) + VERSIONS_FOLDER + "/"


def published_key(final_prefix: str, version: str, name: str) -> str:
    """The key of ``name`` inside one published version of ``final_prefix``."""
    if not is_version(version):
        raise InvalidKey(f"not a version id: {version!r}")
    return validate_key(versions_prefix(final_prefix) + version + "/" + validate_key(name))


def parse_pointer(key: str, content: bytes) -> str:
    version = content.decode("ascii", errors="replace").strip()
    if not is_version(version):
        raise StorageError(f"{key!r} does not hold a version id")
    return version


def check_disjoint(staging_prefix: str, final_prefix: str) -> tuple[str, str]:
    """Both prefixes as folders, refusing a staging folder inside the final one or around it."""
    staging, final = folder(staging_prefix), folder(final_prefix)
    if staging.startswith(final) or final.startswith(staging):
        raise InvalidKey(f"staging {staging!r} and final {final!r} prefixes must not overlap")
    return staging, final


def prunable_versions(
    versions: Mapping[str, datetime],
    *,
    current: str | None,
    pointer_written_at: datetime | None,
    cutoff: datetime,
) -> list[str]:
    """The versions that can be deleted, given when each was last written.

    ``versions`` maps each version id to the newest write inside it (the publish time on
    S3, where objects are copied in; on the filesystem the folder's time, set when it is
    moved in). ``cutoff`` is now minus the grace period. A version goes only if it is not
    the current one, nothing in it was written after ``cutoff`` (so it is not a publish
    still copying objects in), and the pointer itself was last written before ``cutoff``:
    every superseded version stopped being current at the latest when the pointer was
    last written, so any reader that resolved it has had the whole grace period to finish.
    The grace period must cover the slowest reader and the clock skew between the
    storage and this host (S3 timestamps are the server's).
    """
    if pointer_written_at is not None and pointer_written_at > cutoff:
        return []
    return sorted(
        version
        for version, written_at in versions.items()
        if version != current and written_at <= cutoff
    )
