"""Waveform peaks in the JSON format of BBC's audiowaveform (version 2), which peaks.js and
wavesurfer.js read directly.

audiowaveform itself is a C++ program, not a library, and nothing on PyPI writes its format;
the computation is a min/max per pixel, which numpy does over the decoded PCM as it streams
by, so the whole track is never in memory. The choices follow audiowaveform's: channels are
mixed to one by their mean, each pixel covers a whole number of samples, the last pixel
covers what is left, and 8-bit values are the 16-bit ones shifted right by 8 (so the full
16-bit range maps onto -128..127). 8 bits halve the JSON and are all a waveform at screen
resolution can show.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
import numpy.typing as npt

__all__ = ["Waveform", "WaveformBuilder"]

_EMPTY = np.empty(0, dtype=np.int32)


class Waveform(TypedDict):
    version: int
    channels: int
    sample_rate: int
    samples_per_pixel: int
    bits: int
    length: int
    """The number of pixels, each a (min, max) pair in ``data``."""
    data: list[int]


class WaveformBuilder:
    """Collects min/max peaks of mono 16-bit samples fed in chunks of any size."""

    def __init__(self, *, sample_rate: int, pixels_per_second: int) -> None:
        if not 1 <= pixels_per_second <= sample_rate:
            raise ValueError(f"pixels_per_second must be within 1..{sample_rate}")
        self.sample_rate = sample_rate
        self.samples_per_pixel = round(sample_rate / pixels_per_second)
        self._pending = _EMPTY
        self._minima: list[npt.NDArray[np.int32]] = []
        self._maxima: list[npt.NDArray[np.int32]] = []

    def feed(self, mono: npt.NDArray[np.int32]) -> None:
        samples = np.concatenate((self._pending, mono)) if self._pending.size else mono
        whole = samples.size - samples.size % self.samples_per_pixel
        if whole:
            pixels = samples[:whole].reshape(-1, self.samples_per_pixel)
            self._minima.append(pixels.min(axis=1))
            self._maxima.append(pixels.max(axis=1))
        self._pending = samples[whole:].copy()

    def result(self) -> Waveform:
        minima = [*self._minima]
        maxima = [*self._maxima]
        if self._pending.size:
            minima.append(self._pending.min(keepdims=True))
            maxima.append(self._pending.max(keepdims=True))
        lows = np.concatenate(minima) if minima else _EMPTY
        highs = np.concatenate(maxima) if maxima else _EMPTY
        data = np.empty(2 * lows.size, dtype=np.int32)
        data[0::2] = lows >> 8
        data[1::2] = highs >> 8
        return Waveform(
            version=2,
            channels=1,
            sample_rate=self.sample_rate,
            samples_per_pixel=self.samples_per_pixel,
            bits=8,
            length=int(lows.size),
            data=data.tolist(),
        )
