"""The instruments: wavetable and FM voices with ADSR envelopes, and a noise drum kit."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spotilike.tools.demo.music.effects import band_pass, pan_gains
from spotilike.tools.demo.music.samples import Audio

__all__ = ["TIMBRES", "Timbre", "drum_kit", "voice"]

_TABLE_SIZE: Final = 2048
_HARMONICS: Final = 64


@dataclass(frozen=True)
class Timbre:
    """One instrument: an oscillator, its amplitude envelope and its filter envelope.

    Wavetable voices fade from a dark to a bright table of the same waveform as the filter
    envelope opens, which sounds like a low-pass sweep without a per-sample IIR filter.
    """

    wave: str
    attack: float
    decay: float
    sustain: float
    release: float
    bright: float = 6000.0
    dark: float = 1500.0
    sweep: float = 0.2
    voices: int = 1
    detune: float = 0.0
    spread: float = 0.0
    vibrato: float = 0.0
    fm_ratio: float = 1.0
    fm_index: float = 0.0


TIMBRES: Final[Mapping[str, Timbre]] = {
    "saw_lead": Timbre(
        "saw",
        0.01,
        0.25,
        0.7,
        0.15,
        bright=5000,
        dark=1800,
        sweep=0.15,
        voices=2,
        detune=8,
        spread=0.2,
        vibrato=12,
    ),
    "square_lead": Timbre(
        "square", 0.005, 0.12, 0.6, 0.06, bright=7000, dark=3000, sweep=0.1, vibrato=10
    ),
    "flute_lead": Timbre("triangle", 0.06, 0.2, 0.8, 0.25, bright=6000, dark=4000, vibrato=18),
    "bell_lead": Timbre("fm", 0.003, 0.9, 0.15, 0.4, sweep=0.5, fm_ratio=2.0, fm_index=2.2),
    "epiano": Timbre("fm", 0.004, 1.4, 0.3, 0.35, sweep=0.35, fm_ratio=1.0, fm_index=1.6),
    "supersaw_pad": Timbre(
        "saw",
        0.25,
        0.6,
        0.8,
        0.5,
        bright=2800,
        dark=900,
        sweep=0.8,
        voices=3,
        detune=18,
        spread=0.8,
    ),
    "organ_pad": Timbre(
        "organ", 0.04, 0.1, 0.9, 0.15, bright=5000, dark=3500, voices=2, detune=6, spread=0.5
    ),
    "pluck": Timbre(
        "saw",
        0.002,
        0.22,
        0.0,
        0.08,
        bright=6000,
        dark=500,
        sweep=0.07,
        voices=2,
        detune=10,
        spread=0.6,
    ),
    "chip_arp": Timbre("square", 0.002, 0.07, 0.35, 0.03, bright=6000, dark=2500, sweep=0.05),
    "sub_bass": Timbre("sine", 0.005, 0.25, 0.8, 0.08),
    "saw_bass": Timbre("saw", 0.004, 0.18, 0.55, 0.06, bright=1600, dark=280, sweep=0.09),
    "tri_bass": Timbre("triangle", 0.003, 0.1, 0.8, 0.04),
}


def voice(
    timbre: Timbre, pitch: int, gate: float, sample_rate: int, rng: np.random.Generator
) -> Audio:
    """One note at full velocity as stereo samples (2, frames): the gate plus the release."""
    freq = 440.0 * 2.0 ** ((pitch - 69) / 12)
    t = np.arange(int((gate + timbre.release) * sample_rate)) / sample_rate
    level = _adsr(t, gate, timbre)
    if timbre.wave == "fm":
        # Two-operator FM; the index falls with time, so the attack is bright and the tail mellow.
        modulation = timbre.fm_index * (0.25 + 0.75 * np.exp(-t / timbre.sweep))
        modulator = np.sin(2 * math.pi * timbre.fm_ratio * freq * t)
        mono = np.sin(2 * math.pi * freq * t + modulation * modulator) * level
        return np.stack((mono, mono)) * pan_gains(0.0)
    dark = _table(timbre.wave, pitch, timbre.dark, sample_rate)
    bright = _table(timbre.wave, pitch, timbre.bright, sample_rate)
    opening = np.exp(-t / timbre.sweep)
    sound = np.zeros((2, t.size))
    offsets = np.linspace(-1.0, 1.0, timbre.voices) if timbre.voices > 1 else np.zeros(1)
    for offset in offsets:
        f = freq * 2.0 ** (offset * timbre.detune / 2400)
        if timbre.vibrato:
            # Delayed vibrato, as a singer would: short notes stay straight.
            depth = (2.0 ** (timbre.vibrato / 1200) - 1) * np.clip((t - 0.15) / 0.3, 0.0, 1.0)
            phase = np.cumsum(f * (1 + depth * np.sin(2 * math.pi * 5.5 * t))) / sample_rate
        else:
            phase = f * t
        index, fraction = _position(phase + rng.random())
        low = _read(dark, index, fraction)
        mono = low + (_read(bright, index, fraction) - low) * opening
        sound += pan_gains(float(offset) * timbre.spread) * mono
    scaled: Audio = sound * (level / math.sqrt(timbre.voices))
    return scaled


def _adsr(t: Audio, gate: float, timbre: Timbre) -> Audio:
    attack = max(timbre.attack, 1e-3)
    corners = (0.0, attack, attack + max(timbre.decay, 1e-3))
    levels = (0.0, 1.0, timbre.sustain)
    held = np.interp(t, corners, levels)
    at_release = float(np.interp(gate, corners, levels))
    released = at_release * np.clip(1.0 - (t - gate) / max(timbre.release, 1e-3), 0.0, 1.0)
    return np.where(t < gate, held, released)


@functools.lru_cache(maxsize=1024)
def _table(wave: str, pitch: int, cutoff: float, sample_rate: int) -> Audio:
    """One cycle of a band-limited waveform through a 2-pole low-pass, RMS-normalised.

    Built from harmonics, so nothing aliases; harmonics above 0.45 of the sample rate are
    dropped for the note's pitch. The table has one extra sample for interpolation.
    """
    freq = 440.0 * 2.0 ** ((pitch - 69) / 12)
    k = np.arange(1, _HARMONICS + 1, dtype=np.float64)
    odd = k % 2 == 1
    if wave == "saw":
        amplitudes = 1.0 / k
    elif wave == "square":
        amplitudes = np.where(odd, 1.0 / k, 0.0)
    elif wave == "triangle":
        amplitudes = np.where(odd, (-1.0) ** ((k - 1) // 2) / k**2, 0.0)
    elif wave == "organ":
        amplitudes = np.zeros(_HARMONICS)
        amplitudes[[0, 1, 2, 3, 5, 7]] = (1.0, 0.5, 0.35, 0.2, 0.12, 0.08)
    elif wave == "sine":
        amplitudes = np.zeros(_HARMONICS)
        amplitudes[[0, 1]] = (1.0, 0.12)
    else:
        raise ValueError(f"unknown waveform {wave!r}")
    amplitudes = amplitudes / np.sqrt(1.0 + (k * freq / cutoff) ** 4)
    amplitudes[k * freq > 0.45 * sample_rate] = 0.0
    cycle = amplitudes @ _basis()
    cycle /= math.sqrt(2.0 * float(np.mean(cycle**2)))
    return np.append(cycle, cycle[0])


@functools.cache
def _basis() -> Audio:
    x = np.arange(_TABLE_SIZE) / _TABLE_SIZE
    return np.sin(2 * math.pi * np.outer(np.arange(1, _HARMONICS + 1), x))


def _position(phase: Audio) -> tuple[NDArray[np.intp], Audio]:
    """Table index and interpolation fraction for a phase in cycles (never negative).

    The table size is a power of two, so a mask wraps the index; that is much cheaper than
    taking the phase modulo 1.
    """
    position = phase * _TABLE_SIZE
    whole = position.astype(np.intp)
    return whole & (_TABLE_SIZE - 1), position - whole


def _read(table: Audio, index: NDArray[np.intp], fraction: Audio) -> Audio:
    sample: Audio = table[index] + (table[index + 1] - table[index]) * fraction
    return sample


def drum_kit(sample_rate: int, rng: np.random.Generator) -> dict[str, Audio]:
    """Kick, snare and hats, made once per song and reused for every hit.

    The kick is a sine swept down from about 170 Hz to 48 Hz with a click on top; snare and
    hats are noise bursts through band-passes of their own.
    """

    def clock(seconds: float) -> Audio:
        return np.arange(int(seconds * sample_rate)) / sample_rate

    def noise(t: Audio, low: float, high: float) -> Audio:
        return band_pass(rng.standard_normal(t.size), sample_rate, low, high)

    t = clock(0.4)
    sweep = 48.0 + 120.0 * np.exp(-t / 0.04)
    kick = np.sin(2 * math.pi * np.cumsum(sweep) / sample_rate) * np.exp(-t / 0.18)
    kick += noise(t, 1000, 8000) * np.exp(-t / 0.004) * 0.3
    t = clock(0.3)
    snare = noise(t, 1200, 9000) * np.exp(-t / 0.08)
    snare += 0.5 * np.sin(2 * math.pi * 190 * t) * np.exp(-t / 0.05)
    t = clock(0.08)
    hat = noise(t, 7000, 16000) * np.exp(-t / 0.015)
    t = clock(0.4)
    open_hat = noise(t, 6000, 16000) * np.exp(-t / 0.1)
    kit = {"kick": kick, "snare": snare, "hat": hat, "open_hat": open_hat}
    return {name: sound / float(np.max(np.abs(sound))) for name, sound in kit.items()}
