"""The published set: master and media playlists, segments and the download file."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import m3u8
import pytest
from mutagen.mp4 import MP4
from mutagen.oggvorbis import OggVorbis

from spotilike.audio.media import Renditions, run_ffmpeg, transcode

pytestmark = pytest.mark.integration

NOMINAL_KBPS = (96, 160, 320)


@dataclass(frozen=True)
class Transcoded:
    source: Path
    renditions: Renditions
    source_seconds: float
    progress: list[int]


@pytest.fixture(scope="module")
def transcoded(make_input, sine_source, tmp_path_factory) -> Transcoded:
    # Some noise on top of the tone gives the encoders something to spend bits on.
    seconds = 20.0
    source = make_input(
        "music-like.ogg",
        f"{sine_source()},volume=1[tone];anoisesrc=color=pink:amplitude=0.1:r=44100[noise];"
        "[tone][noise]amix=inputs=2:duration=first",
        seconds=seconds,
        encode=("-c:a", "libvorbis", "-q:a", "5", "-metadata", "title=Tag From The Upload"),
    )
    progress: list[int] = []
    out_dir = tmp_path_factory.mktemp("published") / "track"
    renditions = transcode(source, out_dir, progress=progress.append)
    return Transcoded(
        source=source, renditions=renditions, source_seconds=seconds, progress=progress
    )


def decoded_seconds(path: Path, input_format: str) -> float:
    received = bytearray()
    run = run_ffmpeg(
        path,
        input_format=input_format,
        arguments=["-ac", "1", "-ar", "48000", "-f", "s16le", "pipe:1"],
        loglevel="error",
        on_stdout=received.extend,
    )
    assert run.error_lines == ()
    return len(received) / 2 / 48000


def load(path: Path) -> m3u8.M3U8:
    return m3u8.loads(path.read_text(encoding="utf-8"))


def test_the_set_holds_exactly_the_published_files(transcoded):
    directory = transcoded.renditions.directory

    assert sorted(entry.name for entry in directory.iterdir()) == [
        "160",
        "320",
        "96",
        "download.m4a",
        "master.m3u8",
    ]
    assert [entry.name for entry in directory.parent.iterdir()] == ["track"]
    for variant in transcoded.renditions.variants:
        files = sorted(variant.playlist.parent.iterdir())
        assert files == sorted([variant.playlist, *variant.segments])


def test_master_lists_three_aac_variants_with_measured_bandwidth(transcoded):
    master = load(transcoded.renditions.master)

    assert master.is_variant
    assert master.is_independent_segments
    assert [playlist.uri for playlist in master.playlists] == [
        f"{kbps}/index.m3u8" for kbps in NOMINAL_KBPS
    ]
    for playlist, variant in zip(master.playlists, transcoded.renditions.variants, strict=True):
        info = playlist.stream_info
        assert info.codecs == "mp4a.40.2"
        assert (info.bandwidth, info.average_bandwidth) == (
            variant.bandwidth,
            variant.average_bandwidth,
        )


def test_average_bandwidth_is_the_real_bytes_over_the_real_duration(transcoded):
    averages = []
    for variant in transcoded.renditions.variants:
        playlist = load(variant.playlist)
        size = sum((variant.playlist.parent / s.uri).stat().st_size for s in playlist.segments)
        duration = sum(segment.duration for segment in playlist.segments)

        assert variant.average_bandwidth == pytest.approx(size * 8 / duration, abs=1)
        averages.append(variant.average_bandwidth)
    assert averages == sorted(averages)
    for average, kbps in zip(averages, NOMINAL_KBPS, strict=True):
        # MPEG-TS framing adds up to about a tenth; the encoder may spend less than asked.
        assert average <= kbps * 1000 * 1.15


def test_bandwidth_is_a_peak_between_the_segment_bit_rates(transcoded):
    for variant in transcoded.renditions.variants:
        playlist = load(variant.playlist)
        target = playlist.target_duration
        rates = [
            ((variant.playlist.parent / s.uri).stat().st_size * 8 / s.duration, s.duration)
            for s in playlist.segments
        ]
        full_length = [rate for rate, duration in rates if 0.5 * target <= duration]

        # Any single segment of at least half the target duration is a run RFC 8216
        # measures, and no run can exceed its densest segment.
        assert variant.bandwidth >= max(full_length)
        assert variant.bandwidth <= max(rate for rate, _ in rates) + 1
        assert variant.bandwidth >= variant.average_bandwidth


def test_media_playlists_are_vod_with_six_second_segments(transcoded):
    for variant in transcoded.renditions.variants:
        playlist = load(variant.playlist)
        durations = [segment.duration for segment in playlist.segments]

        assert playlist.playlist_type == "vod"
        assert playlist.is_endlist
        assert playlist.is_independent_segments
        assert playlist.target_duration <= 6
        assert all(round(duration) <= playlist.target_duration for duration in durations)
        assert sum(durations) == pytest.approx(transcoded.source_seconds, abs=6)
        assert variant.duration_seconds == pytest.approx(sum(durations))
        assert all(re.fullmatch(r"segment_\d{5}\.ts", s.uri) for s in playlist.segments)


def test_every_segment_decodes_and_together_they_cover_the_track(transcoded):
    for variant in transcoded.renditions.variants:
        total = sum(decoded_seconds(segment, "mpegts") for segment in variant.segments)

        assert total == pytest.approx(transcoded.source_seconds, abs=0.1)


def test_the_download_is_aac_in_mp4_with_the_index_first_and_no_upload_tags(transcoded):
    download = transcoded.renditions.download
    boxes = []
    with download.open("rb") as file:
        while header := file.read(8):
            size, kind = struct.unpack(">I4s", header)
            boxes.append(kind.decode())
            file.seek(size - 8, 1)
    info = MP4(download).info

    assert boxes.index("moov") < boxes.index("mdat")
    assert info.codec == "mp4a.40.2"
    assert info.channels == 2
    assert info.length == pytest.approx(transcoded.source_seconds, abs=0.1)
    assert decoded_seconds(download, "mp4") == pytest.approx(transcoded.source_seconds, abs=0.1)
    assert OggVorbis(transcoded.source).tags["title"] == ["Tag From The Upload"]
    assert "©nam" not in (MP4(download).tags or {})


def test_progress_rises_to_100(transcoded):
    assert transcoded.progress == sorted(set(transcoded.progress))
    assert transcoded.progress[-1] == 100
    assert len(transcoded.progress) > 2


def test_an_existing_output_directory_is_not_overwritten(tone, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()

    with pytest.raises(FileExistsError):
        transcode(tone.path, taken)
    assert list(taken.iterdir()) == []


def test_mono_48k_opus_keeps_its_rate_and_channels(make_input, sine_source, tmp_path):
    source = make_input(
        "mono-opus.ogg",
        sine_source(channels=1),
        seconds=8,
        encode=("-c:a", "libopus", "-b:a", "64k"),
        rate=48000,
    )

    renditions = transcode(source, tmp_path / "track", segment_seconds=4)
    info = MP4(renditions.download).info

    assert (info.channels, info.sample_rate) == (1, 48000)
    for variant in renditions.variants:
        assert load(variant.playlist).target_duration <= 4
