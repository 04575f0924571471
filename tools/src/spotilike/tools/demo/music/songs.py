"""The demo songs and the scores the composer writes for them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from spotilike.tools.demo.music.styles import STYLES, STYLES_BY_NAME

__all__ = ["DEMO_SONGS", "DemoSong", "Hit", "Note", "Score"]

_MIN_SECONDS: Final = 4.0
_MAX_SECONDS: Final = 600.0


@dataclass(frozen=True)
class DemoSong:
    """One track of the demo catalog: what to call it and how to generate it."""

    title: str
    seconds: float
    seed: int
    style: str

    def __post_init__(self) -> None:
        if self.style not in STYLES_BY_NAME:
            raise ValueError(f"unknown style {self.style!r}, expected one of {STYLES}")
        if not _MIN_SECONDS <= self.seconds <= _MAX_SECONDS:
            raise ValueError(
                f"seconds must be between {_MIN_SECONDS} and {_MAX_SECONDS}, got {self.seconds}"
            )


@dataclass(frozen=True)
class Note:
    """A pitched note of the score; times in seconds, pitch as a MIDI number."""

    start: float
    length: float
    pitch: int
    velocity: float
    part: str


@dataclass(frozen=True)
class Hit:
    """A drum hit of the score."""

    start: float
    drum: str
    velocity: float


@dataclass(frozen=True)
class Score:
    """The composition `render` plays; exposed so tests can hold the audio against it.

    ``chords`` holds one voicing (MIDI numbers) per bar.
    """

    bpm: float
    tonic: int
    minor: bool
    bars: int
    chords: tuple[tuple[int, ...], ...]
    notes: tuple[Note, ...]
    hits: tuple[Hit, ...]

    @property
    def bar_seconds(self) -> float:
        return 240.0 / self.bpm


DEMO_SONGS: Final = (
    DemoSong("Paper Compass", 30.0, 11, "pop"),
    DemoSong("Slow Harbour Light", 40.0, 23, "ballad"),
    DemoSong("Neon Overpass", 36.0, 37, "synthwave"),
    DemoSong("Glasshouse Tuesday", 32.0, 41, "house"),
    DemoSong("Pixel Orchard", 24.0, 53, "chiptune"),
    DemoSong("Rain on the Radiator", 38.0, 67, "lofi"),
    DemoSong("Garage Comet", 26.0, 71, "rock"),
    DemoSong("Midnight Ferris Wheel", 34.0, 83, "synthwave"),
    DemoSong("Copper Kites", 28.0, 97, "pop"),
    DemoSong("Velvet Static", 30.0, 101, "house"),
)
"""The demo catalog: ten songs, a little over five minutes in all."""
