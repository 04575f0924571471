"""The pure parts of the media core: wording, loudness parsing and gain, bit rates, peaks."""

from __future__ import annotations

import math

import imageio_ffmpeg
import numpy as np
import pytest

from spotilike.audio.media import ffmpeg_path
from spotilike.audio.media.ebur128 import (
    ABSOLUTE_GATE_LUFS,
    TARGET_LUFS,
    TRUE_PEAK_CEILING_DBTP,
    gain_to_target,
    parse_summary,
)
from spotilike.audio.media.errors import spoken_duration
from spotilike.audio.media.ffmpeg import ProgressMeter
from spotilike.audio.media.hls import average_bitrate, peak_segment_bitrate
from spotilike.audio.media.waveform import WaveformBuilder

pytestmark = pytest.mark.unit

# The shape FFmpeg 9's ebur128 prints when it closes, with the level prefix we ask for.
SUMMARY = """[out#0/s16le @ 0x55] [info] Output #0, s16le, to 'pipe:1':
[Parsed_ebur128_1 @ 0x7f47d8002d80] [info] Summary:

  Integrated loudness:
    I:         -28.9 LUFS
    Threshold: -38.9 LUFS

  Loudness range:
    LRA:         4.7 LU
    Threshold: -48.9 LUFS
    LRA low:   -31.2 LUFS
    LRA high:  -26.5 LUFS

  True peak:
    Peak:       -3.4 dBFS
[out#0/s16le @ 0x559c65995300] [info] video:0KiB audio:10336KiB
"""

SILENT_SUMMARY = """[Parsed_ebur128_0 @ 0x7f96a8001c00] [info] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold:   0.0 LUFS
    LRA low:     0.0 LUFS
    LRA high:    0.0 LUFS

  True peak:
    Peak:       -inf dBFS
"""


@pytest.mark.parametrize(
    ("seconds", "beside", "spoken"),
    [
        (0.4, 0.0, "0.4 seconds"),
        (1.0, 0.0, "1 second"),
        (10.0, 5.0, "10 seconds"),
        (35.75, 0.0, "35.8 seconds"),
        (62.0, 0.0, "1:02"),
        (210.0, 62.0, "3:30"),
        (59.0, 60.0, "0:59"),
        (3725.0, 0.0, "1:02:05"),
    ],
)
def test_durations_are_spoken_as_a_person_would(seconds: float, beside: float, spoken: str):
    assert spoken_duration(seconds, beside=beside) == spoken


def test_ebur128_summary_is_read_from_the_log():
    loudness = parse_summary(SUMMARY)

    assert loudness.integrated_lufs == -28.9
    assert loudness.lra == 4.7
    assert loudness.true_peak_dbtp == -3.4
    assert loudness.gain_db == gain_to_target(-28.9, -3.4)


def test_the_last_summary_wins_and_a_log_without_one_is_an_error():
    assert parse_summary(SUMMARY + SILENT_SUMMARY).integrated_lufs == -70.0
    with pytest.raises(ValueError, match="no ebur128 summary"):
        parse_summary("[info] size=N/A time=00:00:10.00\n")


def test_silence_has_no_loudness_to_correct():
    loudness = parse_summary(SILENT_SUMMARY)

    assert loudness.true_peak_dbtp == -math.inf
    assert loudness.integrated_lufs <= ABSOLUTE_GATE_LUFS
    assert loudness.gain_db == 0.0


def test_gain_reaches_the_target_when_the_peak_allows_it():
    assert gain_to_target(-20.0, -8.0) == TARGET_LUFS - -20.0
    assert gain_to_target(-9.0, -0.5) == TARGET_LUFS - -9.0


def test_gain_is_capped_so_the_true_peak_stays_below_the_ceiling():
    integrated, true_peak = -30.0, -6.0

    gain = gain_to_target(integrated, true_peak)

    assert gain < TARGET_LUFS - integrated
    assert true_peak + gain == TRUE_PEAK_CEILING_DBTP


def test_uniform_segments_peak_at_their_average():
    segments = [(75_000, 6.0)] * 5

    assert peak_segment_bitrate(segments, 6) == average_bitrate(segments) == 100_000


def test_one_heavy_segment_sets_the_peak():
    segments = [(75_000, 6.0), (150_000, 6.0), (75_000, 6.0)]

    assert peak_segment_bitrate(segments, 6) == 150_000 * 8 / 6.0
    assert average_bitrate(segments) == math.ceil(300_000 * 8 / 18.0)


def test_a_tiny_last_segment_does_not_count_alone():
    # 2 kB of container overhead in 23 ms would read as 700 kb/s on its own; RFC 8216 only
    # measures runs lasting half to one and a half target durations.
    segments = [(75_000, 6.0), (75_000, 6.0), (2_000, 0.023)]

    peak = peak_segment_bitrate(segments, 6)

    assert peak == math.ceil(77_000 * 8 / 6.023)
    assert peak < 2_000 * 8 / 0.023


def test_a_track_shorter_than_half_a_segment_peaks_at_its_average():
    assert peak_segment_bitrate([(20_000, 2.0)], 6) == 80_000


def _reference_peaks(samples: np.ndarray, samples_per_pixel: int) -> list[int]:
    data = []
    for start in range(0, samples.size, samples_per_pixel):
        block = samples[start : start + samples_per_pixel]
        data += [int(block.min()) >> 8, int(block.max()) >> 8]
    return data


def test_waveform_does_not_depend_on_how_the_pcm_is_chunked():
    generator = np.random.default_rng(7)
    samples = generator.integers(-32768, 32768, size=44100 * 3 + 123, dtype=np.int32)
    cuts = np.sort(generator.choice(samples.size, size=40, replace=False))
    builder = WaveformBuilder(sample_rate=44100, pixels_per_second=10)

    for chunk in np.split(samples, cuts):
        builder.feed(chunk)
    waveform = builder.result()

    assert waveform["samples_per_pixel"] == 4410
    assert waveform["length"] == math.ceil(samples.size / 4410)
    assert waveform["data"] == _reference_peaks(samples, 4410)
    assert {waveform["version"], waveform["channels"], waveform["bits"]} == {2, 1, 8}


def test_eight_bit_peaks_span_the_whole_sixteen_bit_range():
    builder = WaveformBuilder(sample_rate=100, pixels_per_second=100)
    builder.feed(np.array([-32768, 32767, -1, 0], dtype=np.int32))

    assert builder.result()["data"] == [-128, -128, 127, 127, -1, -1, 0, 0]


def test_pixels_per_second_must_fit_the_sample_rate():
    with pytest.raises(ValueError, match="pixels_per_second"):
        WaveformBuilder(sample_rate=44100, pixels_per_second=0)


def test_progress_rises_in_whole_percent_and_reaches_100_only_when_finished():
    reported: list[int] = []
    meter = ProgressMeter(reported.append, total_seconds=8.0)

    for seconds in (0.0, 0.05, 1.0, 1.01, 4.0, 3.0, 8.0, 9.0):
        meter.advance(seconds)
    assert reported == [0, 12, 50, 99]
    meter.finish()
    meter.finish()
    assert reported == [0, 12, 50, 99, 100]


def test_ffmpeg_comes_from_the_environment_or_from_imageio(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SPOTILIKE_FFMPEG", "/opt/ffmpeg/bin/ffmpeg")
    assert ffmpeg_path() == "/opt/ffmpeg/bin/ffmpeg"

    monkeypatch.delenv("SPOTILIKE_FFMPEG")
    assert ffmpeg_path() == imageio_ffmpeg.get_ffmpeg_exe()
