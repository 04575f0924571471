"""Mastering: loudness after ITU-R BS.1770 and a soft limiter below the peak ceiling."""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spotilike.tools.demo.music.samples import Audio

__all__ = ["TARGET_LUFS", "master"]


TARGET_LUFS: Final = -16.0
# Vorbis overshoots the source's peaks a little; 1 dB of room keeps the decoded file unclipped.
_CEILING: Final = 10 ** (-1.0 / 20)
_KNEE: Final = 0.6 * _CEILING


def master(mix: Audio, sample_rate: int) -> NDArray[np.float32]:
    """Bring the mix to about `TARGET_LUFS`, then round off the few peaks above the knee.

    The soft limiter never reaches the ceiling, so the output is peak-safe whatever the mix;
    at the target loudness it only touches drum transients.
    """
    loudness = _loudness(mix, sample_rate)
    if math.isfinite(loudness):
        mix = mix * 10 ** ((TARGET_LUFS - loudness) / 20)
    magnitude = np.abs(mix)
    room = _CEILING - _KNEE
    limited = _KNEE + room * np.tanh((magnitude - _KNEE) / room)
    out = np.where(magnitude > _KNEE, np.sign(mix) * limited, mix)
    return out.astype(np.float32)


# ITU-R BS.1770-4 K-weighting at 48 kHz: the head's high shelf, then the RLB high-pass.
_SHELF: Final = (
    (1.53512485958697, -2.69169618940638, 1.19839281085285),
    (1.0, -1.69065929318241, 0.73248077421585),
)
_HIGH_PASS: Final = ((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621))


def _k_weighting(f: Audio) -> Audio:
    """Power gain of the K-weighting filters at frequencies ``f`` (the 48 kHz biquads' response).

    Evaluated, not run: the filters act on 100 ms spectra, which needs no IIR loop.
    """
    z = np.exp(-2j * math.pi * np.minimum(f, 23_999.0) / 48_000)
    gain = np.ones(f.size)
    for b, a in (_SHELF, _HIGH_PASS):
        response = (b[0] + b[1] * z + b[2] * z**2) / (a[0] + a[1] * z + a[2] * z**2)
        gain *= np.abs(response) ** 2
    return gain


def _loudness(mix: Audio, sample_rate: int) -> float:
    """Integrated loudness after ITU-R BS.1770: K-weighting, 400 ms blocks, two gates.

    The K-weighting is applied as a power gain to the spectra of 100 ms chunks (Parseval
    gives each chunk's weighted power) and a block is four chunks. On the demo songs this
    agrees with FFmpeg's ebur128 to 0.1 LU.
    """
    chunk = int(0.1 * sample_rate)
    count = mix.shape[1] // chunk
    if count < 4:
        return -math.inf
    spectra = np.fft.rfft(mix[:, : count * chunk].reshape(2, count, chunk))
    f = np.asarray(np.fft.rfftfreq(chunk, 1.0 / sample_rate), dtype=np.float64)
    weights = np.full(f.size, 2.0)
    weights[0] = 1.0
    if chunk % 2 == 0:
        weights[-1] = 1.0
    # Mean square per chunk from its one-sided spectrum, summed over the two channels.
    power = np.sum(np.abs(spectra) ** 2 * (_k_weighting(f) * weights), axis=(0, 2))
    power /= chunk * chunk
    blocks = np.convolve(power, np.full(4, 0.25), mode="valid")
    blocks = blocks[blocks > 10 ** ((-70 + 0.691) / 10)]
    if blocks.size == 0:
        return -math.inf
    relative = float(np.mean(blocks)) * 0.1
    return -0.691 + 10 * math.log10(float(np.mean(blocks[blocks > relative])))
