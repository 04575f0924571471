"""The playlists a listener gets: audio's stored playlists with signed, relative URIs.

The stored master lists every rendition as ``<kbps>/index.m3u8`` and each media playlist
its segments as ``segment_NNNNN.ts`` (audio's layout). We parse them with ``m3u8``, drop
the variants the listener may not have, and replace each URI with the same relative path
plus ``?u=<user>&t=<token>``. URIs stay relative so the playlists work behind any prefix
the gateway mounts us at. Each stored playlist is parsed once per process (for each set
of qualities, for a master); a listener's copy is the cached text with their query put in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Final

import m3u8

__all__ = [
    "MEDIA_PLAYLIST_NAME",
    "SEGMENT_NAME",
    "BrokenPlaylist",
    "master_playlist",
    "media_playlist",
    "quality_of_variant",
]

MEDIA_PLAYLIST_NAME: Final = "index.m3u8"
SEGMENT_NAME: Final = re.compile(r"segment_[0-9]{5}\.ts")
_VARIANT_URI: Final = re.compile(r"(96|160|320)/index\.m3u8")


class BrokenPlaylist(Exception):  # noqa: N818 - a state of stored data, reported as 502
    """A stored playlist does not have the shape audio writes; it is never passed on."""


def quality_of_variant(uri: str) -> int:
    match = _VARIANT_URI.fullmatch(uri)
    if match is None:
        raise BrokenPlaylist(f"unexpected variant URI {uri!r} in a master playlist")
    return int(match[1])


def master_playlist(
    stored: str, *, qualities: tuple[int, ...], query_for: Callable[[int], str]
) -> str:
    """The stored master with only ``qualities`` listed, each variant's URI followed by
    ``?`` and ``query_for(kbps)``."""
    text = _master_template(stored, qualities)
    for kbps in qualities:
        text = text.replace(f"{_QUERY}{kbps}{_QUERY}", query_for(kbps))
    return text


def media_playlist(stored: str, *, query: str) -> str:
    """The stored media playlist with ``?`` and ``query`` after every segment's URI."""
    return _media_template(stored).replace(_QUERY, query)


# Parsing and dumping with m3u8 cost about 65 µs a segment line (docs/benchmarks.md), and
# only the query differs between listeners: each stored playlist is parsed and checked
# once, into a template with a placeholder where the query goes.
_QUERY: Final = "\x00"


def _refuse_placeholder(stored: str) -> None:
    if _QUERY in stored:
        raise BrokenPlaylist("the stored playlist contains a NUL character")


@functools.lru_cache(maxsize=128)
def _master_template(stored: str, qualities: tuple[int, ...]) -> str:
    _refuse_placeholder(stored)
    master = m3u8.loads(stored)
    if not master.is_variant:
        raise BrokenPlaylist("the stored master playlist lists no variants")
    kept = m3u8.PlaylistList()
    for variant in master.playlists:
        kbps = quality_of_variant(variant.uri)
        if kbps in qualities:
            variant.uri = f"{kbps}/{MEDIA_PLAYLIST_NAME}?{_QUERY}{kbps}{_QUERY}"
            kept.append(variant)
    if not kept:
        raise BrokenPlaylist(f"the stored master has none of the qualities {qualities}")
    master.playlists = kept
    text: str = master.dumps()
    return text


@functools.lru_cache(maxsize=128)
def _media_template(stored: str) -> str:
    _refuse_placeholder(stored)
    playlist = m3u8.loads(stored)
    if playlist.is_variant or not playlist.segments:
        raise BrokenPlaylist("the stored media playlist has no segments")
    for segment in playlist.segments:
        if not SEGMENT_NAME.fullmatch(segment.uri or ""):
            raise BrokenPlaylist(f"unexpected segment URI {segment.uri!r} in a media playlist")
        segment.uri = f"{segment.uri}?{_QUERY}"
    text: str = playlist.dumps()
    return text
