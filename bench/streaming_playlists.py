"""The per-listener cost of a media playlist: the streaming service's cached template
against parsing and dumping with ``m3u8`` on every request (what it did before), for a
3-minute and a 20-minute track.

    uv run python bench/streaming_playlists.py --runs 5

Both sides produce the same text (checked before timing). Each run times A then B,
``--calls`` calls each, in one process; the figures are medians over the runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import m3u8

from spotilike.streaming.service.playlists import media_playlist

QUERY = "u=0b7c4d2e-1f3a-4b5c-8d9e-0a1b2c3d4e5f&t=dev1.1764600000.AbCdEfGhIjKlMnOpQrStUvWxYz012345"


def stored_playlist(segments: int) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:6", "#EXT-X-MEDIA-SEQUENCE:0"]
    lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    for index in range(segments):
        lines += ["#EXTINF:6.000000,", f"segment_{index:05d}.ts"]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


def parse_and_dump(stored: str, query: str) -> str:
    """The reference: what ``media_playlist`` did before it kept templates."""
    playlist = m3u8.loads(stored)
    for segment in playlist.segments:
        segment.uri = f"{segment.uri}?{query}"
    text: str = playlist.dumps()
    return text


def cached_template(stored: str, query: str) -> str:
    return media_playlist(stored, query=query)


def per_call_us(function: Callable[[str, str], str], stored: str, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function(stored, QUERY)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5 (QUALITY.md: median of >= 5 runs)")
    print(f"{'segments':>8} {'m3u8 each time':>16} {'cached template':>16} {'ratio':>8}")
    for segments in (31, 200):
        stored = stored_playlist(segments)
        if media_playlist(stored, query=QUERY) != parse_and_dump(stored, QUERY):
            raise SystemExit("the two sides disagree on the playlist's text")
        reference, template = [], []
        for _ in range(args.runs):
            reference.append(per_call_us(parse_and_dump, stored, args.calls))
            template.append(per_call_us(cached_template, stored, args.calls))
        a, b = statistics.median(reference), statistics.median(template)
        print(f"{segments:>8} {a:>13.1f} µs {b:>13.1f} µs {b / a:>8.4f}")


if __name__ == "__main__":
    main()
