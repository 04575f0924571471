"""The song styles: tempo, harmony, instruments and patterns that make songs sound alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["STYLES", "STYLES_BY_NAME", "Style"]


@dataclass(frozen=True)
class Style:
    """What makes the songs of one style sound alike, and unlike the other styles."""

    tempo: tuple[float, float]
    minor: bool
    progressions: tuple[tuple[int, int, int, int], ...]
    lead: str
    chords: str
    bass: str
    comp: str
    bassline: str
    drums: str
    busy: float
    swing: float = 0.0
    sevenths: bool = False


# Progressions as scale degrees from 0: in major I-V-vi-IV is (0, 4, 5, 3), in natural minor
# i-VI-III-VII is (0, 5, 2, 6).
STYLES_BY_NAME: Final[Mapping[str, Style]] = {
    "pop": Style(
        (108, 124),
        False,
        ((0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4)),
        "square_lead",
        "supersaw_pad",
        "saw_bass",
        "pad",
        "pop",
        "backbeat",
        busy=0.3,
    ),
    "ballad": Style(
        (80, 90),
        False,
        ((0, 5, 3, 4), (0, 4, 5, 3), (3, 0, 4, 5)),
        "flute_lead",
        "epiano",
        "sub_bass",
        "halves",
        "roots",
        "ballad",
        busy=-0.8,
    ),
    "synthwave": Style(
        (96, 112),
        True,
        ((0, 5, 2, 6), (0, 6, 5, 6), (0, 3, 5, 4)),
        "saw_lead",
        "supersaw_pad",
        "saw_bass",
        "pad",
        "pulse",
        "halftime",
        busy=0.0,
    ),
    "house": Style(
        (120, 128),
        True,
        ((0, 5, 2, 6), (0, 3, 5, 6)),
        "bell_lead",
        "pluck",
        "sub_bass",
        "stabs",
        "offbeat",
        "four",
        busy=0.2,
        sevenths=True,
    ),
    "chiptune": Style(
        (130, 140),
        False,
        ((0, 4, 5, 3), (0, 3, 4, 3), (5, 3, 0, 4)),
        "square_lead",
        "chip_arp",
        "tri_bass",
        "arp",
        "bounce",
        "chip",
        busy=0.8,
    ),
    "lofi": Style(
        (80, 92),
        False,
        ((1, 4, 0, 5), (3, 2, 1, 0), (0, 5, 1, 4)),
        "bell_lead",
        "epiano",
        "sub_bass",
        "comp",
        "walk",
        "lofi",
        busy=-0.2,
        swing=0.3,
        sevenths=True,
    ),
    "rock": Style(
        (128, 140),
        False,
        ((0, 3, 4, 3), (5, 3, 0, 4), (0, 4, 3, 3)),
        "saw_lead",
        "organ_pad",
        "saw_bass",
        "pulse",
        "pulse",
        "rock",
        busy=0.4,
    ),
}

STYLES: Final = tuple(sorted(STYLES_BY_NAME))
"""The style names a `DemoSong` may use."""
