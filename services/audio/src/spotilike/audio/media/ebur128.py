"""EBU R128 loudness from FFmpeg's ``ebur128`` filter, and the playback gain it implies.

The filter (run with ``peak=true``, so true peak is measured on 4x oversampled audio) prints
a summary when it closes; that text is the only place FFmpeg reports the whole-track
figures, hence the parsing. ``loudnorm`` would give the same numbers as JSON but resamples
everything to 192 kHz on the way, several times the cost.

The gain brings the track to -14 LUFS integrated, the level Spotify and YouTube play at,
except that it never lifts the true peak above -1 dBTP: a quiet track with sharp peaks gets
less than the full lift rather than clipping in the player. A track with nothing above the
-70 LUFS absolute gate has no measurable loudness (ebur128 prints -70.0 for it) and gets a
gain of 0 dB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ABSOLUTE_GATE_LUFS",
    "TARGET_LUFS",
    "TRUE_PEAK_CEILING_DBTP",
    "Loudness",
    "gain_to_target",
    "parse_summary",
]

TARGET_LUFS = -14.0
TRUE_PEAK_CEILING_DBTP = -1.0
ABSOLUTE_GATE_LUFS = -70.0

_NUMBER = r"(-?(?:inf|\d+(?:\.\d+)?))"
_INTEGRATED = re.compile(r"Integrated loudness:\s+I:\s+" + _NUMBER + r" LUFS")
_RANGE = re.compile(r"Loudness range:\s+LRA:\s+" + _NUMBER + r" LU\b")
_TRUE_PEAK = re.compile(r"True peak:\s+Peak:\s+" + _NUMBER + r" dBFS")


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float
    lra: float
    """Loudness range, in LU."""
    gain_db: float
    """Playback gain to `TARGET_LUFS`, capped so the true peak stays at or below -1 dBTP."""


def gain_to_target(integrated_lufs: float, true_peak_dbtp: float) -> float:
    if integrated_lufs <= ABSOLUTE_GATE_LUFS:
        return 0.0
    gain = TARGET_LUFS - integrated_lufs
    headroom = TRUE_PEAK_CEILING_DBTP - true_peak_dbtp
    return round(min(gain, headroom), 2)


def parse_summary(log: str) -> Loudness:
    """Read the last ebur128 summary in an FFmpeg log; ValueError if there is none."""
    start = log.rfind("Summary:")
    if start < 0:
        raise ValueError("no ebur128 summary in the log")
    summary = log[start:]
    integrated = _field(_INTEGRATED, summary)
    true_peak = _field(_TRUE_PEAK, summary)
    return Loudness(
        integrated_lufs=integrated,
        true_peak_dbtp=true_peak,
        lra=_field(_RANGE, summary),
        gain_db=gain_to_target(integrated, true_peak),
    )


def _field(pattern: re.Pattern[str], summary: str) -> float:
    match = pattern.search(summary)
    if match is None:
        raise ValueError(f"ebur128 summary without {pattern.pattern!r}")
    return float(match.group(1))
