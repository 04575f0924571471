"""Which uploads pass, and the reasons the others are refused with."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from mutagen.ogg import OggPage

from spotilike.audio.media import Limits, MediaError, validate

pytestmark = pytest.mark.integration


def refusal(path: Path, limits: Limits | None = None) -> MediaError:
    with pytest.raises(MediaError) as caught:
        validate(path, limits or Limits())
    error = caught.value
    # A reason is a sentence for the artist: no FFmpeg wording, no paths, no traceback.
    assert error.reason.endswith(".")
    assert str(path.parent) not in error.reason
    assert "ffmpeg" not in error.reason.lower()
    assert "Traceback" not in error.reason
    return error


def page_offsets(path: Path) -> list[int]:
    offsets = []
    with path.open("rb") as file:
        while True:
            try:
                page = OggPage(file)
            except EOFError:
                return offsets
            offsets.append(page.offset)


@pytest.mark.parametrize(
    ("codec", "encode", "rate", "decoded_rate"),
    [
        ("vorbis", ("-c:a", "libvorbis", "-q:a", "4"), 44100, 44100),
        ("opus", ("-c:a", "libopus", "-b:a", "96k"), 48000, 48000),
        ("flac", ("-c:a", "flac"), 44100, 44100),
        ("opus", ("-c:a", "libopus", "-b:a", "48k"), 24000, 48000),
    ],
)
def test_vorbis_opus_and_flac_in_ogg_are_accepted(
    make_input, sine_source, codec, encode, rate, decoded_rate
):
    path = make_input(
        f"accepted-{codec}-{rate}.ogg", sine_source(), seconds=10, encode=encode, rate=rate
    )
    reported: list[int] = []

    info = validate(path, progress=reported.append)

    assert info.codec == codec
    assert info.channels == 2
    assert info.sample_rate == decoded_rate
    assert info.duration_seconds == pytest.approx(10, abs=0.01)
    assert info.decoded_seconds == pytest.approx(info.duration_seconds, abs=0.01)
    assert info.size_bytes == path.stat().st_size
    assert info.peak_dbfs == pytest.approx(-20, abs=0.5)
    assert reported == sorted(set(reported))
    assert reported[-1] == 100


def test_mono_is_accepted(make_input, sine_source):
    path = make_input("mono.ogg", sine_source(channels=1), seconds=5)

    assert validate(path).channels == 1


def test_opposite_channels_are_not_silence(make_input):
    # The mono mix of L = -R is zero; the silence check looks at every channel.
    path = make_input(
        "opposite.ogg", "aevalsrc=0.1*sin(2*PI*997*t)|-0.1*sin(2*PI*997*t):s=44100", seconds=5
    )

    assert validate(path).peak_dbfs == pytest.approx(-20, abs=0.5)


def test_six_channels_are_refused(make_input, sine_source):
    path = make_input("surround.ogg", sine_source(channels=6), seconds=5)

    error = refusal(path)

    assert error.code == "channels"
    assert error.reason == "The audio has 6 channels; upload mono or stereo."


def test_silence_is_refused(make_input):
    path = make_input("silence.ogg", "anullsrc=r=44100:cl=stereo", seconds=10)

    error = refusal(path)

    assert error.code == "silent"
    assert error.reason == "The file is silent; upload a track with audible sound."


def test_a_file_cut_inside_a_page_is_truncated(tone, tmp_path):
    data = tone.path.read_bytes()
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(data[: len(data) * 6 // 10])

    error = refusal(cut)

    assert error.code == "truncated"
    assert error.reason.startswith("The file ends early: it stops after ")


def test_a_file_cut_between_pages_is_truncated(tone, tmp_path):
    # Cut exactly before the last page: every remaining page is whole and the container
    # duration matches the decode, but the end-of-stream page is missing.
    last_page = page_offsets(tone.path)[-1]
    cut = tmp_path / "cut-at-page.ogg"
    cut.write_bytes(tone.path.read_bytes()[:last_page])

    error = refusal(cut)

    assert error.code == "truncated"
    assert "in the middle of the audio" in error.reason


def test_flipped_bytes_in_the_middle_are_damage(tone, tmp_path):
    data = bytearray(tone.path.read_bytes())
    middle = len(data) // 2
    for index in range(middle, middle + 64):
        data[index] ^= 0xFF
    flipped = tmp_path / "flipped.ogg"
    flipped.write_bytes(bytes(data))

    error = refusal(flipped)

    assert error.code == "damaged"
    assert error.reason.startswith("The file is damaged")


def test_a_lost_page_is_damage_with_the_durations(make_input, sine_source, tmp_path):
    # Dropping whole pages from the middle keeps every page valid; only the decode, which
    # comes out short of the last granule position, can tell.
    path = make_input("long-tone.ogg", sine_source(), seconds=30)
    offsets = page_offsets(path)
    data = path.read_bytes()
    middle = len(offsets) // 2
    holed = tmp_path / "holed.ogg"
    holed.write_bytes(data[: offsets[middle]] + data[offsets[middle + 4] :])

    error = refusal(holed)

    assert error.code == "damaged"
    assert error.reason.startswith("The file is damaged: it plays ")
    assert error.reason.endswith(" of its 30 seconds.")


def test_an_empty_file_is_refused(tmp_path):
    empty = tmp_path / "empty.ogg"
    empty.touch()

    error = refusal(empty)

    assert error.code == "empty"
    assert error.reason == "The file is empty."


def test_random_bytes_are_not_ogg(tmp_path):
    noise = tmp_path / "noise.ogg"
    noise.write_bytes(random.Random(3).randbytes(50_000))

    error = refusal(noise)

    assert error.code == "not_ogg"
    assert error.reason == "The file is not an Ogg audio file."


def test_a_too_long_track_is_refused(tone):
    error = refusal(tone.path, Limits(max_seconds=5))

    assert error.code == "too_long"
    assert error.reason == f"The track lasts {tone.seconds:g} seconds; the limit is 5 seconds."


def test_a_too_short_track_is_refused(make_input, sine_source):
    path = make_input("blip.ogg", sine_source(), seconds=0.5)

    error = refusal(path)

    assert error.code == "too_short"
    assert error.reason == "The track lasts 0.5 seconds; it must last at least 1 second."


def test_a_too_big_file_is_refused(tone):
    limit = tone.path.stat().st_size - 1

    error = refusal(tone.path, Limits(max_bytes=limit))

    assert error.code == "too_big"
    assert error.reason.endswith(f"the limit is {limit:,} bytes.")


@pytest.mark.parametrize("same_file_twice", [False, True])
def test_chained_streams_are_refused(make_input, sine_source, tmp_path, same_file_twice):
    # Two logical streams one after the other, as concatenating two files makes; the same
    # file twice repeats its serial number, which must not hide the second stream.
    first = make_input("one.ogg", sine_source(), seconds=3)
    then = first if same_file_twice else make_input("two.ogg", sine_source(channels=1), seconds=3)
    chained = tmp_path / "chained.ogg"
    chained.write_bytes(first.read_bytes() + then.read_bytes())

    error = refusal(chained)

    assert error.code == "streams"
    assert error.reason == "The file holds 2 streams; upload a file with exactly one audio track."


def test_grouped_streams_are_refused(ffmpeg_cli, sine_source, tmp_path):
    grouped = tmp_path / "grouped.ogg"
    ffmpeg_cli(
        *("-f", "lavfi", "-i", sine_source(), "-f", "lavfi", "-i", sine_source(channels=1)),
        *("-t", "3", "-map", "0:a", "-map", "1:a", "-c:a", "libvorbis", str(grouped)),
    )

    error = refusal(grouped)

    assert error.code == "streams"


def test_video_in_ogg_is_refused(ffmpeg_cli, tmp_path):
    video = tmp_path / "video.ogg"
    ffmpeg_cli(
        *("-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-t", "2"),
        *("-c:v", "libtheora", str(video)),
    )

    error = refusal(video)

    assert error.code == "codec"
    assert error.reason == (
        "The file holds Theora video; upload Vorbis, Opus or FLAC audio in an Ogg file."
    )
