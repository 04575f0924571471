"""Waveform peaks and loudness of real decodes, alone and together with validation."""

from __future__ import annotations

import math

import pytest

from spotilike.audio.media import analyse, loudness, peaks
from spotilike.audio.media.ebur128 import TARGET_LUFS, TRUE_PEAK_CEILING_DBTP

pytestmark = pytest.mark.integration


def test_peaks_follow_the_audiowaveform_format(tone):
    waveform = peaks(tone.path)

    assert waveform["version"] == 2
    assert waveform["channels"] == 1
    assert waveform["bits"] == 8
    assert waveform["sample_rate"] == tone.sample_rate
    assert waveform["samples_per_pixel"] == tone.sample_rate // 10
    assert waveform["length"] == math.ceil(tone.seconds * 10)
    assert len(waveform["data"]) == 2 * waveform["length"]


def test_peaks_show_the_amplitude_of_the_tone(tone):
    data = peaks(tone.path)["data"]
    lows, highs = data[0::2], data[1::2]
    # 8-bit values are 16-bit ones shifted right, which rounds toward minus infinity.
    high, low = math.floor(tone.amplitude * 128), math.floor(-tone.amplitude * 128)

    # Every pixel holds whole cycles of the tone, so each reaches its positive and negative
    # peak; lossy coding moves them by a hair.
    assert all(abs(value - high) <= 1 for value in highs)
    assert all(abs(value - low) <= 1 for value in lows)


def test_more_pixels_per_second_give_a_longer_waveform(tone):
    waveform = peaks(tone.path, pixels_per_second=25)

    assert waveform["samples_per_pixel"] == round(tone.sample_rate / 25)
    assert waveform["length"] == math.ceil(tone.seconds * tone.sample_rate / round(44100 / 25))


def test_loudness_of_the_tone_matches_bs1770(tone):
    measured = loudness(tone.path)
    peak_dbfs = 20 * math.log10(tone.amplitude)

    # Two channels of a 997 Hz sine peaking at -20 dBFS: each is -23 LUFS, together -20.
    assert measured.integrated_lufs == pytest.approx(peak_dbfs, abs=0.5)
    assert measured.true_peak_dbtp == pytest.approx(peak_dbfs, abs=0.5)
    assert measured.lra <= 1.0
    assert measured.gain_db == pytest.approx(TARGET_LUFS - measured.integrated_lufs)


def test_the_gain_stops_at_the_true_peak_ceiling(make_input):
    # A quiet tone with one near-full-scale click per second: low loudness, high peak.
    path = make_input(
        "clicks.ogg",
        "aevalsrc=0.01*sin(2*PI*997*t)+0.9*lt(mod(n\\,44100)\\,2):s=44100",
        seconds=10,
        encode=("-c:a", "flac"),
    )

    measured = loudness(path)

    assert TARGET_LUFS - measured.integrated_lufs > 20
    assert measured.true_peak_dbtp > -2
    assert measured.gain_db == pytest.approx(TRUE_PEAK_CEILING_DBTP - measured.true_peak_dbtp)


def test_analyse_gives_the_standalone_results_from_one_decode(tone):
    reported: list[int] = []

    analysis = analyse(tone.path, progress=reported.append)

    assert analysis.waveform == peaks(tone.path)
    assert analysis.loudness == loudness(tone.path)
    assert analysis.info.decoded_seconds == pytest.approx(tone.seconds, abs=0.01)
    assert reported[-1] == 100
