"""Object keys: what the port accepts, and the content type a key implies.

Keys are checked the same way for every adapter, so a key that works against the local
filesystem works against S3 and the other way round. A key is a ``/``-separated path of
non-empty segments, at most 1024 bytes of UTF-8 (S3's limit). Refused, as
:class:`InvalidKey`: the empty key, a leading ``/``, ``.`` and ``..`` segments, empty
segments (``a//b``, a trailing ``/``), backslashes, NUL and other control characters, and
segments starting with ``.spotilike-``, which the filesystem adapter keeps for its
in-flight files. With those rules a key can never name a path outside the filesystem
adapter's root.

A prefix names a folder: ``tracks/42`` and ``tracks/42/`` both mean everything under
``tracks/42/`` (never ``tracks/420``). Prefixes follow the key rules once the trailing
``/`` is dropped; the empty prefix (everything) is accepted only where a method says so.
"""

from __future__ import annotations

import mimetypes

from spotilike.kit.storage.errors import InvalidKey

__all__ = [
    "MAX_KEY_BYTES",
    "RESERVED_SEGMENT_PREFIX",
    "folder",
    "guess_content_type",
    "validate_key",
]

MAX_KEY_BYTES = 1024
RESERVED_SEGMENT_PREFIX = ".spotilike-"

# The system's mime.types disagrees with HLS on some extensions (``.ts`` comes back as a
# Qt translation file), so the media types this platform serves are fixed here.
_MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".aac": "audio/aac",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".oga": "audio/ogg",
    ".flac": "audio/flac",
    ".json": "application/json",
}


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if the port accepts it, else raise :class:`InvalidKey`."""
    if not key:
        raise InvalidKey("an object key must not be empty")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKey("an object key must be valid UTF-8") from None
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKey(f"an object key must be at most {MAX_KEY_BYTES} bytes")
    if key.startswith("/"):
        raise InvalidKey(f"an object key must be relative: {key!r}")
    if "\\" in key:
        raise InvalidKey(f"an object key must not contain a backslash: {key!r}")
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in key):
        raise InvalidKey(f"an object key must not contain control characters: {key!r}")
    for segment in key.split("/"):
        if segment in {"", ".", ".."}:
            raise InvalidKey(f"an object key must not have empty, '.' or '..' segments: {key!r}")
        if segment.startswith(RESERVED_SEGMENT_PREFIX):
            raise InvalidKey(f"segments starting with {RESERVED_SEGMENT_PREFIX!r} are reserved")
    return key


def folder(prefix: str, *, allow_root: bool = False) -> str:
    """The prefix as a folder: validated, with exactly one trailing ``/`` (``""`` for the root)."""
    stripped = prefix.removesuffix("/")
    if not stripped:
        if allow_root:
            return ""
        raise InvalidKey("this operation needs a non-empty prefix")
    return validate_key(stripped) + "/"


def guess_content_type(key: str) -> str | None:
    """The media type the key's extension implies, or ``None`` when it implies none."""
    name = key.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    if dot > 0 and (known := _MEDIA_TYPES.get(name[dot:].lower())) is not None:
        return known
    guessed, _encoding = mimetypes.guess_type(name, strict=False)
    return guessed
