"""Studio effects shared by the instruments and the mix: band-pass, room reverb, panning."""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from spotilike.tools.demo.music.samples import Audio

__all__ = ["band_pass", "pan_gains", "room_reverb"]


def band_pass(signal: Audio, sample_rate: int, low: float, high: float) -> Audio:
    """Band-pass along the last axis by shaping the spectrum (2-pole slopes each side)."""
    spectrum = np.fft.rfft(signal)
    f = np.maximum(np.fft.rfftfreq(signal.shape[-1], 1.0 / sample_rate), 1e-6)
    shape = 1.0 / np.sqrt((1.0 + (low / f) ** 4) * (1.0 + (f / high) ** 4))
    return np.fft.irfft(spectrum * shape, signal.shape[-1])


_REVERB_DECIMATION: Final = 4


def room_reverb(send: Audio, sample_rate: int, rng: np.random.Generator) -> Audio:
    """A small room: convolution with decaying noise, different left and right for width.

    The room's response is dark (nothing above 4 kHz), so the convolution runs at a quarter
    of the sample rate, which makes it a few times cheaper than at full rate.
    """
    step = _REVERB_DECIMATION
    rate = sample_rate / step
    frames = send.shape[1]
    usable = frames - frames % step
    # A 4-sample average is a crude anti-alias filter; the room's own low-pass does the rest.
    low = send[:, :usable].reshape(2, -1, step).mean(axis=2)
    t = np.arange(int(1.6 * rate)) / rate
    response = band_pass(rng.standard_normal((2, t.size)), int(rate), 200, 4000) * np.exp(-t / 0.3)
    response[:, : int(0.012 * rate)] = 0.0
    response /= np.sqrt(np.sum(response**2, axis=1, keepdims=True))
    size = 1 << (low.shape[1] + t.size - 2).bit_length()
    wet = np.fft.irfft(np.fft.rfft(low, size) * np.fft.rfft(response, size), size)
    wet = wet[:, : low.shape[1]]
    coarse = (np.arange(low.shape[1]) + 0.5) * step - 0.5
    fine = np.arange(frames)
    return np.stack([np.interp(fine, coarse, channel) for channel in wet])


def pan_gains(position: float) -> Audio:
    """Constant-power gains (left, right) for a position from -1 to 1, as a column."""
    angle = (position + 1.0) * math.pi / 4
    return np.array([[math.cos(angle)], [math.sin(angle)]])
