"""The drum part of a score: each style's one-bar pattern, with intro, fills and ending."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from spotilike.tools.demo.music.styles import Style

__all__ = ["GridHit", "drum_bar", "is_fill"]

# Drum patterns, one character per sixteenth: X accent, x normal, o ghost, . nothing.
_DRUMS: Final[Mapping[str, Mapping[str, str]]] = {
    "backbeat": {
        "kick": "X.....x.X.......",
        "snare": "....X.......X...",
        "hat": "x.o.x.o.x.o.x.o.",
    },
    "four": {"kick": "X...X...X...X...", "snare": "....x.......x...", "hat": "..x...x...x...x."},
    "rock": {"kick": "X.x.....X.x.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "chip": {"kick": "X.......X.......", "snare": "....X.......X...", "hat": "xoxoxoxoxoxoxoxo"},
    "lofi": {"kick": "X......x..x.....", "snare": "....X.......X..o", "hat": "x.o.x.o.x.o.x.o."},
    "ballad": {"kick": "X.......x.......", "snare": "....x.......x...", "hat": "..o...o...o...o."},
    "halftime": {
        "kick": "X.........x.....",
        "snare": "........X.......",
        "hat": "x.x.x.x.x.x.x.x.",
    },
}
_ACCENTS: Final = {"X": 1.0, "x": 0.75, "o": 0.45}


@dataclass(frozen=True)
class GridHit:
    """A drum hit placed on the sixteenth grid; `compose` turns it into a timed `Hit`."""

    bar: int
    step: int
    drum: str
    velocity: float


def is_fill(b: int, bars: int) -> bool:
    """Whether bar ``b`` ends in a snare fill: every eighth bar and the one before the last."""
    return b == bars - 2 or (b % 8 == 7 and b < bars - 2)


def drum_bar(style: Style, b: int, *, intro: bool, last: bool, fill: bool) -> list[GridHit]:
    """One bar of drums on the sixteenth grid.

    The intro has hats only, a fill rolls the snare into the next section, and the song ends
    on a single kick and open hat under the held chord.
    """
    if last:
        return [GridHit(b, 0, "kick", 1.0), GridHit(b, 0, "open_hat", 0.8)]
    pattern = _DRUMS[style.drums]
    hits: list[GridHit] = []
    for drum, row in pattern.items():
        if intro and drum != "hat":
            continue
        for step, mark in enumerate(row):
            if fill and drum == "snare" and step >= 12:
                continue
            if mark in _ACCENTS:
                hits.append(GridHit(b, step, drum, _ACCENTS[mark]))
    if fill:
        hits.extend(GridHit(b, 12 + i, "snare", 0.5 + 0.15 * i) for i in range(4))
    return hits
