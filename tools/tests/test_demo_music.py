"""The demo catalog's generated music: deterministic, well-levelled, and actually music.

"Music" is checked with small signal analyses written here (pitch peaks, moving melody,
onsets on the tempo grid, chords as 3-6 simultaneous pitch classes), each of which is shown
to reject a drone and noise, so a passing song is not a test tone in disguise.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from numpy.typing import NDArray

from spotilike.tools.demo import music
from spotilike.tools.demo.music import (
    DEMO_SONGS,
    SAMPLE_RATE,
    STYLES,
    TARGET_LUFS,
    DemoSong,
    compose,
    render,
    write_ogg,
)
from spotilike.tools.demo.music.composer import MAJOR, MINOR

pytestmark = pytest.mark.unit

Signal = NDArray[np.float64]
LOWEST, HIGHEST = 55, 96
IDS = [song.style + "-" + str(song.seed) for song in DEMO_SONGS]


@functools.cache
def played(song: DemoSong) -> NDArray[np.float32]:
    return render(song)


def mono(audio: NDArray[np.float32]) -> Signal:
    return np.asarray(audio, dtype=np.float64).mean(axis=1)


def spectra(signal: Signal, size: int, hop: int) -> tuple[Signal, Signal]:
    """Power spectra of Hann-windowed frames (frames x bins) and the bin frequencies."""
    frames = np.lib.stride_tricks.sliding_window_view(signal, size)[::hop] * np.hanning(size)
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2, np.fft.rfftfreq(size, 1.0 / SAMPLE_RATE)


def semitones(power: Signal, freqs: Signal, low: int, high: int) -> Signal:
    """Mean power per semitone (MIDI ``low`` to ``high``) of each row of ``power``."""
    midi = np.round(69 + 12 * np.log2(np.maximum(freqs, 1e-9) / 440)).astype(int)
    inside = (freqs > 0) & (midi >= low) & (midi <= high)
    rows = np.atleast_2d(power)[:, inside]
    index = midi[inside] - low
    counts = np.bincount(index, minlength=high - low + 1)
    summed = np.stack([np.bincount(index, weights=row, minlength=high - low + 1) for row in rows])
    return summed / np.maximum(counts, 1)


def pitch_profile(signal: Signal) -> Signal:
    """Mean power per semitone, MIDI 55-96, of the whole signal.

    The floor is G3 because the kick's pitch sweep and the bass fundamentals smear energy
    over every pitch class below it.
    """
    power, freqs = spectra(signal, 16384, 8192)
    return semitones(power.mean(axis=0), freqs, LOWEST, HIGHEST)[0]


def strong_pitches(signal: Signal) -> set[int]:
    """Semitones with energy: within 25 dB of the strongest and 10 dB above the floor.

    The floor is the 25th percentile, not the median: in tonal music seven of twelve
    semitones are in the key, so the median is itself a played note.
    """
    energy = pitch_profile(signal)
    floor = np.percentile(energy, 25)
    strong = (energy >= 10 ** (-25 / 10) * energy.max()) & (energy >= 10 * floor)
    return {LOWEST + int(i) for i in np.flatnonzero(strong)}


def key_share(signal: Signal, tonic: int, scale: tuple[int, ...]) -> float:
    """Share of the pitched energy that falls on the seven notes of the key."""
    energy = pitch_profile(signal)
    in_key = {(tonic + step) % 12 for step in scale}
    mask = np.array([(LOWEST + i) % 12 in in_key for i in range(energy.size)])
    return float(energy[mask].sum() / energy.sum())


def dominant_pitches(signal: Signal) -> Signal:
    """The loudest semitone of each ~93 ms frame that has sound."""
    power, freqs = spectra(signal, 4096, 2048)
    energy = semitones(power, freqs, LOWEST, HIGHEST)
    loud = energy.sum(axis=1) > 1e-3 * energy.sum(axis=1).max()
    return np.asarray(LOWEST + np.argmax(energy[loud], axis=1), dtype=np.float64)


def onset_strength(signal: Signal) -> Signal:
    """Spectral flux of 23 ms frames every 11.6 ms, relative to the frame's level: the share
    of each frame's sound that is new."""
    power, _ = spectra(signal, 1024, 512)
    compressed = np.log1p(100 * np.sqrt(power))
    flux = np.maximum(np.diff(compressed, axis=0), 0.0).sum(axis=1)
    return np.asarray(flux / np.maximum(compressed[1:].sum(axis=1), 1e-9))


def onsets(flux: Signal) -> int:
    """Peaks of the relative flux above 0.2 (a fifth of the frame is new), 50 ms apart."""
    reach = 4
    count = 0
    for i in range(reach, flux.size - reach):
        if flux[i] > 0.2 and flux[i] == flux[i - reach : i + reach + 1].max():
            count += 1
    return count


def beat_period(flux: Signal) -> tuple[float, float]:
    """The strongest period of the flux between 0.25 and 2.5 s, and its autocorrelation."""
    hop = 512 / SAMPLE_RATE
    centred = flux - flux.mean()
    correlation = np.correlate(centred, centred, mode="full")[centred.size - 1 :]
    correlation /= correlation[0]
    lags = np.arange(int(0.25 / hop), int(2.5 / hop))
    best = int(lags[np.argmax(correlation[lags])])
    return best * hop, float(correlation[best])


def chroma(power: Signal, freqs: Signal) -> Signal:
    """Energy per pitch class (C=0) of each row, from MIDI 55-84."""
    energy = semitones(power, freqs, LOWEST, 84)
    folded = np.zeros((energy.shape[0], 12))
    for i in range(energy.shape[1]):
        folded[:, (LOWEST + i) % 12] += energy[:, i]
    return folded


def chord_share(signal: Signal) -> float:
    """Share of sounding ~190 ms frames in which 3 to 6 pitch classes are within 8 dB of the
    strongest: chords, where one note has one and noise has all twelve."""
    classes = chroma(*spectra(signal, 8192, 4096))
    loud = classes.sum(axis=1) > 1e-3 * classes.sum(axis=1).max()
    strong = (classes[loud] >= 0.15 * classes[loud].max(axis=1, keepdims=True)).sum(axis=1)
    return float(np.mean((strong >= 3) & (strong <= 6)))


def lufs(audio: NDArray[np.float32]) -> float:
    result = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-hide_banner",
            "-f",
            "f32le",
            "-ar",
            str(SAMPLE_RATE),
            "-ac",
            "2",
            "-i",
            "pipe:0",
            "-af",
            "ebur128",
            "-f",
            "null",
            "-",
        ],
        input=audio.astype("<f4").tobytes(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", result.stderr.decode())[-1])


def start(note: music.Note) -> float:
    return note.start


def drone(seconds: float = 12.0) -> Signal:
    """A sawtooth on A2: rich in harmonics, but one note forever."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    k = np.arange(1, 40)[:, None]
    return np.asarray(0.2 * (np.sin(2 * math.pi * 110 * k * t) / k).sum(axis=0))


def noise(seconds: float = 12.0) -> Signal:
    return np.random.default_rng(5).standard_normal(int(seconds * SAMPLE_RATE)) * 0.1


def test_the_detectors_reject_a_drone_and_noise() -> None:
    # A harmonic-rich drone does show many spectral peaks (its harmonic series); the melody
    # and chord checks are the ones that tell it from music.
    assert len(strong_pitches(noise())) < 3
    assert key_share(noise(), 0, MAJOR) < 0.65
    for control in (drone(), noise()):
        assert onsets(onset_strength(control)) < 3
        assert chord_share(control) < 0.1
    assert len(set(dominant_pitches(drone()))) <= 2


def test_the_catalog_is_ten_invented_songs_of_several_minutes_in_every_style() -> None:
    assert len(DEMO_SONGS) == 10
    assert len({song.title for song in DEMO_SONGS}) == 10
    assert all(20 <= song.seconds <= 45 for song in DEMO_SONGS)
    assert sum(song.seconds for song in DEMO_SONGS) >= 180
    assert {song.style for song in DEMO_SONGS} == set(STYLES)
    assert len({song.seed for song in DEMO_SONGS}) == 10


def test_a_song_is_checked_when_made() -> None:
    with pytest.raises(ValueError, match="style"):
        DemoSong("Nope", 30.0, 1, "polka")
    with pytest.raises(ValueError, match="seconds"):
        DemoSong("Too short", 1.0, 1, "pop")


def test_the_same_seed_gives_the_same_song() -> None:
    song = DEMO_SONGS[0]
    assert compose(song) == compose(dataclasses.replace(song))
    assert np.array_equal(render(song), render(dataclasses.replace(song)))


def test_different_songs_differ() -> None:
    scores = [compose(song) for song in DEMO_SONGS]
    fingerprints = {(round(s.bpm), s.tonic, s.chords[:4]) for s in scores}
    assert len(fingerprints) == len(DEMO_SONGS)
    one, other = played(DEMO_SONGS[0]), played(DEMO_SONGS[9])
    assert one.shape == other.shape
    assert not np.allclose(one, other, atol=0.01)
    same_style_other_seed = dataclasses.replace(DEMO_SONGS[0], seed=12345)
    assert compose(same_style_other_seed).notes != compose(DEMO_SONGS[0]).notes


@pytest.mark.parametrize(("seconds", "sample_rate"), [(7.3, 44100), (12.0, 22050), (45.0, 44100)])
def test_the_duration_is_what_was_asked(seconds: float, sample_rate: int) -> None:
    audio = render(DemoSong("Any", seconds, 3, "lofi"), sample_rate=sample_rate)
    assert audio.dtype == np.float32
    assert audio.shape == (round(seconds * sample_rate), 2)


@pytest.mark.parametrize("song", DEMO_SONGS[:3], ids=lambda song: song.style)
def test_tempo_and_length_of_the_catalog_songs(song: DemoSong) -> None:
    score = compose(song)
    assert 78 <= score.bpm <= 142
    assert score.bars * score.bar_seconds == pytest.approx(song.seconds)
    assert max(n.start for n in score.notes) < song.seconds


@pytest.mark.parametrize("song", DEMO_SONGS, ids=IDS)
def test_levels_are_safe_and_audible(song: DemoSong) -> None:
    audio = played(song).astype(np.float64)
    assert np.all(np.isfinite(audio))
    assert np.abs(audio).max() < 10 ** (-1 / 20)
    rms_db = 20 * math.log10(float(np.sqrt(np.mean(audio**2))))
    assert -24 < rms_db < -12
    second = SAMPLE_RATE
    body = audio[: int((song.seconds - 2) * second)]
    windows = body[: body.shape[0] // second * second].reshape(-1, second, 2)
    assert np.all(np.sqrt(np.mean(windows**2, axis=(1, 2))) > 10 ** (-40 / 20))
    assert not np.allclose(audio[:, 0], audio[:, 1])


@pytest.mark.parametrize("song", DEMO_SONGS[:2], ids=lambda song: song.style)
def test_the_loudness_is_near_the_target(song: DemoSong) -> None:
    assert lufs(played(song)) == pytest.approx(TARGET_LUFS, abs=1.0)


@pytest.mark.parametrize("song", DEMO_SONGS, ids=IDS)
def test_the_spectrum_has_many_distinct_pitches_in_the_songs_key(song: DemoSong) -> None:
    signal = mono(played(song))
    score = compose(song)
    peaks = strong_pitches(signal)
    assert len(peaks) >= 8
    assert len({p % 12 for p in peaks}) >= 6
    scale = MINOR if score.minor else MAJOR
    assert key_share(signal, score.tonic, scale) > 0.85


@pytest.mark.parametrize("song", DEMO_SONGS, ids=IDS)
def test_the_pitch_moves_like_a_melody(song: DemoSong) -> None:
    dominant = dominant_pitches(mono(played(song)))
    assert len(set(dominant)) >= 8
    assert np.mean(np.diff(dominant) != 0) > 0.05


@pytest.mark.parametrize("song", DEMO_SONGS, ids=IDS)
def test_there_is_rhythm_on_the_tempo(song: DemoSong) -> None:
    score = compose(song)
    flux = onset_strength(mono(played(song)))
    assert onsets(flux) >= 3 * score.bars
    period, strength = beat_period(flux)
    beat = 60.0 / score.bpm
    assert min(abs(period / (beat * m) - 1) for m in (0.5, 1, 2, 4)) < 0.05
    assert strength > 0.2


@pytest.mark.parametrize("song", DEMO_SONGS, ids=IDS)
def test_chords_sound(song: DemoSong) -> None:
    assert chord_share(mono(played(song))) > 0.1


@pytest.mark.parametrize("song", DEMO_SONGS, ids=IDS)
def test_the_sound_follows_the_scores_chords(song: DemoSong) -> None:
    """In most bars the chord's pitch classes are clearly louder than the others."""
    score = compose(song)
    signal = mono(played(song))
    bar = score.bar_seconds * SAMPLE_RATE
    matched = 0
    for b, chord in enumerate(score.chords):
        segment = signal[int((b + 0.1) * bar) : int((b + 0.9) * bar)]
        power = np.abs(np.fft.rfft(segment * np.hanning(segment.size))) ** 2
        energy = chroma(power, np.fft.rfftfreq(segment.size, 1.0 / SAMPLE_RATE))[0]
        classes = {p % 12 for p in chord}
        inside = np.median([energy[c] for c in classes])
        outside = np.median([energy[c] for c in range(12) if c not in classes])
        matched += 10 * math.log10(inside / outside) >= 8
    assert matched >= 0.8 * score.bars


def test_the_score_has_harmony_bass_and_a_rhythmic_melody() -> None:
    for song in DEMO_SONGS:
        score = compose(song)
        assert all(len({p % 12 for p in chord}) >= 3 for chord in score.chords)
        sixteenth = score.bar_seconds / 16
        bass = [n for n in score.notes if n.part == "bass"]
        for b, chord in enumerate(score.chords):
            first = min((n for n in bass if n.start >= b * score.bar_seconds - 1e-9), key=start)
            assert first.pitch % 12 in {p % 12 for p in chord}
        lead = sorted((n for n in score.notes if n.part == "lead"), key=start)
        assert len({n.pitch for n in lead}) >= 6
        assert len({round(n.length / sixteenth, 1) for n in lead}) >= 3
        gaps = [b.start - (a.start + a.length) for a, b in itertools.pairwise(lead)]
        assert any(gap > sixteenth for gap in gaps), "no rests in the melody"
        assert len(score.hits) >= 4 * score.bars


def test_write_ogg_writes_a_vorbis_file_of_the_right_length(tmp_path: Path) -> None:
    song = DEMO_SONGS[4]
    target = tmp_path / "seed" / "pixel.ogg"
    assert write_ogg(song, target) == target
    data = target.read_bytes()
    assert data.startswith(b"OggS")
    assert b"\x01vorbis" in data[:200]
    assert b"Pixel Orchard" in data[:4096]
    assert [p.name for p in target.parent.iterdir()] == ["pixel.ogg"]
    decoded = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-f",
            "ogg",
            "-i",
            str(target),
            "-f",
            "f32le",
            "-ac",
            "2",
            "-ar",
            str(SAMPLE_RATE),
            "-",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    samples = np.frombuffer(decoded, dtype="<f4").reshape(-1, 2)
    assert samples.shape[0] / SAMPLE_RATE == pytest.approx(song.seconds, abs=0.2)
    assert np.abs(samples).max() <= 1.0


def test_a_failed_encode_leaves_the_old_file_and_no_debris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = shutil.which("false")
    assert failing is not None
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: failing)
    target = tmp_path / "song.ogg"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="ffmpeg exited"):
        write_ogg(DemoSong("Broken", 5.0, 1, "pop"), target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["song.ogg"]
