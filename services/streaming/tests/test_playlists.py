"""The listener's playlists: the stored ones with signed relative URIs, from a template
parsed once per stored text."""

from __future__ import annotations

import m3u8
import pytest

from spotilike.streaming.service.playlists import (
    BrokenPlaylist,
    master_playlist,
    media_playlist,
)

pytestmark = pytest.mark.unit

MASTER = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=105600,CODECS="mp4a.40.2"
96/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=176000,CODECS="mp4a.40.2"
160/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=352000,CODECS="mp4a.40.2"
320/index.m3u8
"""

MEDIA = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:6.000000,
segment_00000.ts
#EXTINF:6.000000,
segment_00001.ts
#EXTINF:2.500000,
segment_00002.ts
#EXT-X-ENDLIST
"""


def test_every_segment_gets_the_listeners_query_and_nothing_else_changes() -> None:
    for query in ("u=alice&t=one", "u=bob&t=two", "u=alice&t=one"):
        text = media_playlist(MEDIA, query=query)
        playlist = m3u8.loads(text)
        assert [s.uri for s in playlist.segments] == [
            f"segment_0000{i}.ts?{query}" for i in range(3)
        ]
        assert [s.duration for s in playlist.segments] == [6.0, 6.0, 2.5]
        assert playlist.is_endlist
        assert "\x00" not in text


def test_the_master_lists_only_the_allowed_qualities_each_with_its_own_query() -> None:
    for allowed in ((96, 160), (96, 160, 320), (96, 160)):
        text = master_playlist(MASTER, qualities=allowed, query_for=lambda kbps: f"q={kbps}")
        variants = m3u8.loads(text).playlists
        assert [v.uri for v in variants] == [f"{kbps}/index.m3u8?q={kbps}" for kbps in allowed]
        assert [v.stream_info.bandwidth for v in variants] == [
            {96: 105600, 160: 176000, 320: 352000}[kbps] for kbps in allowed
        ]


@pytest.mark.parametrize(
    "stored",
    [
        MEDIA.replace("segment_00001.ts", "../secret.ts"),
        MEDIA.replace("segment_00001.ts", "segment_00001.ts\x00"),
        "#EXTM3U\n#EXT-X-ENDLIST\n",
        MASTER,
    ],
    ids=["foreign-uri", "nul", "no-segments", "a-master"],
)
def test_a_media_playlist_not_shaped_as_audio_writes_it_is_refused(stored: str) -> None:
    with pytest.raises(BrokenPlaylist):
        media_playlist(stored, query="u=a&t=b")


def test_a_master_with_none_of_the_qualities_or_foreign_variants_is_refused() -> None:
    with pytest.raises(BrokenPlaylist):
        master_playlist(MASTER.replace("320/", "640/"), qualities=(320,), query_for=str)
    with pytest.raises(BrokenPlaylist):
        master_playlist(MEDIA, qualities=(96,), query_for=str)
