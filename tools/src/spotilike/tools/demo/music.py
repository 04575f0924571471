"""Music for the demo catalog, composed and synthesised at seed time.

`make up` fills the local stack with about ten tracks. Recordings cannot ship with the
repository (licences, size) and test tones would make the player, the waveform and the
loudness pipeline look broken, so each track is written by a tiny seeded composer (key,
tempo, chord progression, bass line, melody with rhythm and rests, drum pattern) and played
by a small numpy synthesiser (wavetable and FM voices with ADSR envelopes, noise drums, a
convolution reverb), then normalised to about -16 LUFS below a -1 dBFS sample peak.

We write our own because nothing in reach fits: music libraries either stop at MIDI (they
need FluidSynth and a soundfont to make sound) or are large generative models. This one is
deterministic by seed, which the tests and repeatable seeds rely on, and renders a
30-second track in a fraction of a second because every note is one vectorised numpy
operation, never a loop over samples.
"""

from __future__ import annotations

import functools
import math
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import imageio_ffmpeg
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DEMO_SONGS",
    "SAMPLE_RATE",
    "STYLES",
    "TARGET_LUFS",
    "DemoSong",
    "Hit",
    "Note",
    "Score",
    "compose",
    "render",
    "write_ogg",
]

Audio = NDArray[np.float64]

SAMPLE_RATE: Final = 44100
TARGET_LUFS: Final = -16.0
# Vorbis overshoots the source's peaks a little; 1 dB of room keeps the decoded file unclipped.
_CEILING: Final = 10 ** (-1.0 / 20)
_KNEE: Final = 0.6 * _CEILING
_TABLE_SIZE: Final = 2048
_HARMONICS: Final = 64
_MIN_SECONDS: Final = 4.0
_MAX_SECONDS: Final = 600.0

_MAJOR: Final = (0, 2, 4, 5, 7, 9, 11)
_MINOR: Final = (0, 2, 3, 5, 7, 8, 10)

# One bar of melody rhythm in sixteenths; a negative length is a rest.
_RHYTHMS: Final = (
    (4, 4, 4, 4),
    (2, 2, 4, 2, 2, 4),
    (6, 2, 4, 4),
    (3, 3, 2, 4, -4),
    (4, -2, 2, 4, 4),
    (2, 2, 2, 2, 8),
    (8, 4, 4),
    (-4, 4, 2, 2, 4),
    (3, 3, 4, 2, 2, 2),
    (2, 2, 2, 2, 2, 2, 4),
    (12, -4),
    (6, 6, -2, 2),
    (1, 1, 2, 4, 2, 2, -4),
)
# Melodic steps in scale degrees: mostly steps, some leaps, a few repeated notes.
_STEPS: Final = (-3, -2, -1, 0, 1, 2, 3, 4)
_STEP_ODDS: Final = (0.05, 0.15, 0.26, 0.08, 0.26, 0.13, 0.05, 0.02)
_PHRASE_PLAN: Final = "AABA"


@dataclass(frozen=True)
class _Timbre:
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


_TIMBRES: Final[Mapping[str, _Timbre]] = {
    "saw_lead": _Timbre(
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
    "square_lead": _Timbre(
        "square", 0.005, 0.12, 0.6, 0.06, bright=7000, dark=3000, sweep=0.1, vibrato=10
    ),
    "flute_lead": _Timbre("triangle", 0.06, 0.2, 0.8, 0.25, bright=6000, dark=4000, vibrato=18),
    "bell_lead": _Timbre("fm", 0.003, 0.9, 0.15, 0.4, sweep=0.5, fm_ratio=2.0, fm_index=2.2),
    "epiano": _Timbre("fm", 0.004, 1.4, 0.3, 0.35, sweep=0.35, fm_ratio=1.0, fm_index=1.6),
    "supersaw_pad": _Timbre(
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
    "organ_pad": _Timbre(
        "organ", 0.04, 0.1, 0.9, 0.15, bright=5000, dark=3500, voices=2, detune=6, spread=0.5
    ),
    "pluck": _Timbre(
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
    "chip_arp": _Timbre("square", 0.002, 0.07, 0.35, 0.03, bright=6000, dark=2500, sweep=0.05),
    "sub_bass": _Timbre("sine", 0.005, 0.25, 0.8, 0.08),
    "saw_bass": _Timbre("saw", 0.004, 0.18, 0.55, 0.06, bright=1600, dark=280, sweep=0.09),
    "tri_bass": _Timbre("triangle", 0.003, 0.1, 0.8, 0.04),
}

# Chord rhythms: (start, length) in sixteenths. "arp" plays one chord tone per step.
_COMPS: Final[Mapping[str, tuple[tuple[int, int], ...]]] = {
    "pad": ((0, 16),),
    "halves": ((0, 8), (8, 8)),
    "stabs": ((2, 1), (6, 1), (10, 1), (14, 1)),
    "pulse": tuple((step, 2) for step in range(0, 16, 2)),
    "comp": ((0, 6), (7, 3), (10, 6)),
    "arp": tuple((step, 1) for step in range(16)),
}

# Bass lines: (start, length, chord tone) in sixteenths.
_BASSLINES: Final[Mapping[str, tuple[tuple[int, int, str], ...]]] = {
    "roots": ((0, 8, "root"), (8, 8, "fifth")),
    "pop": ((0, 4, "root"), (6, 2, "root"), (8, 4, "fifth"), (12, 2, "root"), (14, 2, "octave")),
    "pulse": tuple((step, 2, "octave" if step in (6, 14) else "root") for step in range(0, 16, 2)),
    "offbeat": ((2, 2, "root"), (6, 2, "root"), (10, 2, "root"), (14, 2, "octave")),
    "bounce": tuple((step, 2, "octave" if step % 4 else "root") for step in range(0, 16, 2)),
    "walk": ((0, 6, "root"), (6, 2, "fifth"), (8, 6, "root"), (14, 2, "octave")),
}

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
class _Style:
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
_STYLES: Final[Mapping[str, _Style]] = {
    "pop": _Style(
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
    "ballad": _Style(
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
    "synthwave": _Style(
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
    "house": _Style(
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
    "chiptune": _Style(
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
    "lofi": _Style(
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
    "rock": _Style(
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

STYLES: Final = tuple(sorted(_STYLES))
"""The style names a `DemoSong` may use."""

# Per part: mix gain, pan (-1 left to 1 right) and reverb send.
_PARTS: Final = {"lead": (0.30, 0.1, 0.30), "chords": (0.13, 0.0, 0.45), "bass": (0.38, 0.0, 0.0)}
_KIT: Final = {
    "kick": (0.75, 0.0, 0.0),
    "snare": (0.38, -0.08, 0.25),
    "hat": (0.14, 0.35, 0.05),
    "open_hat": (0.12, 0.35, 0.15),
}


@dataclass(frozen=True)
class DemoSong:
    """One track of the demo catalog: what to call it and how to generate it."""

    title: str
    seconds: float
    seed: int
    style: str

    def __post_init__(self) -> None:
        if self.style not in _STYLES:
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


def compose(song: DemoSong) -> Score:
    """Write the score of a song; the same song always gives the same score.

    The tempo is nudged so a whole number of 4/4 bars fills exactly ``song.seconds``, which
    lets the last bar be a held tonic chord instead of music cut off mid-phrase.
    """
    style = _STYLES[song.style]
    rng = np.random.default_rng(song.seed)
    bars = max(2, round(song.seconds * rng.uniform(*style.tempo) / 240.0))
    writer = _Writer(style, rng, song.seconds / bars)
    tonic = int(rng.integers(12))
    order = rng.permutation(len(style.progressions))
    main = style.progressions[int(order[0])]
    bridge = style.progressions[int(order[1 % len(order)])]
    degrees = [(bridge if (b // 4) % 4 == 2 else main)[b % 4] for b in range(bars)]
    degrees[-1] = 0
    steps = (0, 2, 4, 6) if style.sevenths else (0, 2, 4)
    chord_degrees = [frozenset((d + s) % 7 for s in steps) for d in degrees]
    classes = [tuple((tonic + writer.scale[(d + s) % 7]) % 12 for s in steps) for d in degrees]
    voicings = tuple(tuple(sorted(53 + (pc - 53) % 12 for pc in pcs)) for pcs in classes)

    notes: list[Note] = []
    grid: list[_GridHit] = []
    intro = 2 if bars >= 8 else 0
    for b in range(bars):
        last = b == bars - 1
        notes.extend(writer.chords(b, voicings[b], last=last))
        notes.extend(writer.bass(b, classes[b], last=last))
        grid.extend(_drum_bar(style, b, intro=b < intro, last=last, fill=_is_fill(b, bars)))
    notes.extend(writer.melody(60 + tonic, chord_degrees, intro))
    return Score(
        bpm=240.0 / writer.bar,
        tonic=tonic,
        minor=style.minor,
        bars=bars,
        chords=voicings,
        notes=tuple(notes),
        hits=tuple(Hit(writer.at(h.bar, h.step), h.drum, writer.vary(h.velocity)) for h in grid),
    )


class _Writer:
    """Turns bars of harmony into notes for one song, on its tempo grid and with its dice."""

    def __init__(self, style: _Style, rng: np.random.Generator, bar: float) -> None:
        self.style = style
        self.rng = rng
        self.bar = bar
        self.sixteenth = bar / 16
        self.scale = _MINOR if style.minor else _MAJOR

    def at(self, bar: int, step: int) -> float:
        """Start time of a sixteenth; with swing, the off-sixteenths come late."""
        swing = self.style.swing if step % 2 else 0.0
        return bar * self.bar + (step + swing) * self.sixteenth

    def vary(self, velocity: float) -> float:
        """A touch of randomness, so repeated notes don't sound machine-stamped."""
        return float(np.clip(velocity + self.rng.uniform(-0.05, 0.05), 0.1, 1.0))

    def chords(self, bar: int, voicing: tuple[int, ...], *, last: bool) -> list[Note]:
        comp = ((0, 16),) if last else _COMPS[self.style.comp]
        arpeggio = (*voicing, voicing[0] + 12)
        notes: list[Note] = []
        for step, length in comp:
            arp = self.style.comp == "arp" and not last
            pitches = (arpeggio[step % len(arpeggio)],) if arp else voicing
            velocity = self.vary(0.8 if step % 4 == 0 else 0.65)
            gate = length * self.sixteenth * (1.0 if length >= 8 else 0.85)
            start = self.at(bar, step)
            notes.extend(Note(start, gate, pitch, velocity, "chords") for pitch in pitches)
        return notes

    def bass(self, bar: int, classes: tuple[int, ...], *, last: bool) -> list[Note]:
        root = 36 + (classes[0] - 36) % 12
        tones = {"root": root, "fifth": root + (classes[2] - root) % 12, "octave": root + 12}
        line = ((0, 16, "root"),) if last else _BASSLINES[self.style.bassline]
        return [
            Note(
                self.at(bar, step),
                length * self.sixteenth * 0.85,
                tones[tone],
                self.vary(0.9 if step % 4 == 0 else 0.75),
                "bass",
            )
            for step, length, tone in line
        ]

    def melody(self, base: int, chords: list[frozenset[int]], first_bar: int) -> list[Note]:
        """Two-bar phrases in an AABA plan over the bars between the intro and the last one.

        Repeats of a phrase vary a few weak-beat notes; notes on the beat (and long ones) are
        moved onto the bar's chord, so the same phrase fits whatever harmony it lands on.
        The song ends on the tonic.
        """
        last = len(chords) - 1
        phrases = {name: _phrase(self.rng, self.style.busy) for name in "AB"}
        seen = dict.fromkeys("AB", 0)
        notes: list[Note] = []
        for index, first in enumerate(range(first_bar, last, 2)):
            name = _PHRASE_PLAN[index % len(_PHRASE_PLAN)]
            repeat = seen[name] > 0
            seen[name] += 1
            for step, length, phrase_degree in phrases[name]:
                bar, beat = first + step // 16, step % 16
                if bar >= last:
                    continue
                degree = phrase_degree
                if repeat and beat % 4 and self.rng.random() < 0.3:
                    degree += int(self.rng.choice((-1, 1)))
                if beat % 4 == 0 or length >= 4:
                    degree = _snap(degree, chords[bar])
                pitch = base + 12 * (degree // 7) + self.scale[degree % 7]
                velocity = self.vary(0.85 if beat % 4 == 0 else 0.7)
                gate = length * self.sixteenth * 0.92
                notes.append(Note(self.at(bar, beat), gate, pitch, velocity, "lead"))
        if last > first_bar:
            notes.append(Note(self.at(last, 0), self.bar * 0.9, base, 0.8, "lead"))
        return notes


@dataclass(frozen=True)
class _GridHit:
    bar: int
    step: int
    drum: str
    velocity: float


def _is_fill(b: int, bars: int) -> bool:
    return b == bars - 2 or (b % 8 == 7 and b < bars - 2)


def _drum_bar(style: _Style, b: int, *, intro: bool, last: bool, fill: bool) -> list[_GridHit]:
    """One bar of drums on the sixteenth grid.

    The intro has hats only, a fill rolls the snare into the next section, and the song ends
    on a single kick and open hat under the held chord.
    """
    if last:
        return [_GridHit(b, 0, "kick", 1.0), _GridHit(b, 0, "open_hat", 0.8)]
    pattern = _DRUMS[style.drums]
    hits: list[_GridHit] = []
    for drum, row in pattern.items():
        if intro and drum != "hat":
            continue
        for step, mark in enumerate(row):
            if fill and drum == "snare" and step >= 12:
                continue
            if mark in _ACCENTS:
                hits.append(_GridHit(b, step, drum, _ACCENTS[mark]))
    if fill:
        hits.extend(_GridHit(b, 12 + i, "snare", 0.5 + 0.15 * i) for i in range(4))
    return hits


def _phrase(rng: np.random.Generator, busy: float) -> list[tuple[int, int, int]]:
    """Two bars of melody as (start, length, scale degree): a rhythm per bar and a walk.

    ``busy`` weights the bar rhythms by their note count, so fast styles get runs of short
    notes and slow ones long notes and rests; every phrase ends with a breath.
    """
    counts = np.array([sum(1 for d in r if d > 0) for r in _RHYTHMS], dtype=np.float64)
    weights = counts**busy
    weights /= weights.sum()
    degree = int(rng.choice((0, 2, 4, 7)))
    notes: list[tuple[int, int, int]] = []
    for half in (0, 1):
        step = half * 16
        for length in _RHYTHMS[int(rng.choice(len(_RHYTHMS), p=weights))]:
            if length > 0:
                notes.append((step, length, degree))
                degree = int(np.clip(degree + rng.choice(_STEPS, p=_STEP_ODDS), -2, 9))
            step += abs(length)
    # A breath before the next phrase: the last note is cut short, leaving a rest.
    step, length, degree = notes[-1]
    notes[-1] = (step, max(1, length - 2), degree)
    return notes


def _snap(degree: int, chord: frozenset[int]) -> int:
    """Move a melody note by a scale step onto the chord, so strong beats are consonant."""
    for delta in (0, -1, 1):
        if (degree + delta) % 7 in chord:
            return degree + delta
    return degree


def render(song: DemoSong, *, sample_rate: int = SAMPLE_RATE) -> NDArray[np.float32]:
    """Play a song: float32 stereo samples of shape (frames, 2), peaks below -1 dBFS."""
    score = compose(song)
    style = _STYLES[song.style]
    frames = round(song.seconds * sample_rate)
    # The synthesiser's noise and phases come from a stream of their own, so changing the
    # sound never changes the composition.
    rng = np.random.default_rng([song.seed, 1])
    # Channels first: every buffer operation and FFT then runs over contiguous memory.
    dry = np.zeros((2, frames))
    send = np.zeros((2, frames))
    timbres = {"lead": style.lead, "chords": style.chords, "bass": style.bass}
    # A pad chord or an arpeggio note comes back every few bars; synthesising each distinct
    # (instrument, pitch, length) once and scaling it by velocity makes rendering several
    # times faster and sounds the same.
    played: dict[tuple[str, int, int], Audio] = {}
    for note in score.notes:
        gain, pan, reverb = _PARTS[note.part]
        if note.part == "chords":
            pan = float(np.clip((note.pitch - 59) / 12, -0.5, 0.5))
        name = timbres[note.part]
        key = (name, note.pitch, round(note.length * sample_rate))
        if key not in played:
            played[key] = _voice(_TIMBRES[name], note.pitch, note.length, sample_rate, rng)
        sound = played[key] * (_pan(pan) * (gain * note.velocity))
        start = round(note.start * sample_rate)
        _add(dry, sound, start)
        _add(send, sound * reverb, start)
    kit = _drum_kit(sample_rate, rng)
    for hit in score.hits:
        gain, pan, reverb = _KIT[hit.drum]
        sound = kit[hit.drum][None, :] * (_pan(pan) * (gain * hit.velocity))
        start = round(hit.start * sample_rate)
        _add(dry, sound, start)
        _add(send, sound * reverb, start)
    mix = dry + _reverb(send, sample_rate, rng)
    fade = round(min(1.5, 0.6 * score.bar_seconds) * sample_rate)
    mix[:, frames - fade :] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, math.pi, fade))
    return _master(mix, sample_rate).T


def write_ogg(
    song: DemoSong, path: Path, *, sample_rate: int = SAMPLE_RATE, timeout: float = 120.0
) -> Path:
    """Render a song and encode it as Ogg Vorbis at ``path``, which appears whole or not at all.

    FFmpeg writes to a temporary file in the same directory, renamed over ``path`` only once
    the encoder exits cleanly, so a seed interrupted halfway never leaves a truncated upload.
    """
    pcm = render(song, sample_rate=sample_rate)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "pipe,file",
        "-f",
        "f32le",
        "-ar",
        str(sample_rate),
        "-ac",
        "2",
        "-i",
        "pipe:0",
        "-c:a",
        "libvorbis",
        "-q:a",
        "4",
        "-metadata",
        f"title={song.title}",
        "-f",
        "ogg",
        "-y",
        temporary,
    ]
    try:
        result = subprocess.run(  # noqa: S603 - argv built by us, no shell
            command,
            input=pcm.astype("<f4").tobytes(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if result.returncode != 0:
        Path(temporary).unlink(missing_ok=True)
        tail = result.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"ffmpeg exited with {result.returncode}: {tail}")
    Path(temporary).replace(path)
    return path


def _voice(
    timbre: _Timbre, pitch: int, gate: float, sample_rate: int, rng: np.random.Generator
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
        return np.stack((mono, mono)) * _pan(0.0)
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
        sound += _pan(float(offset) * timbre.spread) * mono
    scaled: Audio = sound * (level / math.sqrt(timbre.voices))
    return scaled


def _adsr(t: Audio, gate: float, timbre: _Timbre) -> Audio:
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


def _drum_kit(sample_rate: int, rng: np.random.Generator) -> dict[str, Audio]:
    """Kick, snare and hats, made once per song and reused for every hit.

    The kick is a sine swept down from about 170 Hz to 48 Hz with a click on top; snare and
    hats are noise bursts through band-passes of their own.
    """

    def clock(seconds: float) -> Audio:
        return np.arange(int(seconds * sample_rate)) / sample_rate

    def noise(t: Audio, low: float, high: float) -> Audio:
        return _band(rng.standard_normal(t.size), sample_rate, low, high)

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


def _band(signal: Audio, sample_rate: int, low: float, high: float) -> Audio:
    """Band-pass along the last axis by shaping the spectrum (2-pole slopes each side)."""
    spectrum = np.fft.rfft(signal)
    f = np.maximum(np.fft.rfftfreq(signal.shape[-1], 1.0 / sample_rate), 1e-6)
    shape = 1.0 / np.sqrt((1.0 + (low / f) ** 4) * (1.0 + (f / high) ** 4))
    return np.fft.irfft(spectrum * shape, signal.shape[-1])


_REVERB_DECIMATION: Final = 4


def _reverb(send: Audio, sample_rate: int, rng: np.random.Generator) -> Audio:
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
    response = _band(rng.standard_normal((2, t.size)), int(rate), 200, 4000) * np.exp(-t / 0.3)
    response[:, : int(0.012 * rate)] = 0.0
    response /= np.sqrt(np.sum(response**2, axis=1, keepdims=True))
    size = 1 << (low.shape[1] + t.size - 2).bit_length()
    wet = np.fft.irfft(np.fft.rfft(low, size) * np.fft.rfft(response, size), size)
    wet = wet[:, : low.shape[1]]
    coarse = (np.arange(low.shape[1]) + 0.5) * step - 0.5
    fine = np.arange(frames)
    return np.stack([np.interp(fine, coarse, channel) for channel in wet])


def _pan(position: float) -> Audio:
    """Constant-power gains (left, right) for a position from -1 to 1, as a column."""
    angle = (position + 1.0) * math.pi / 4
    return np.array([[math.cos(angle)], [math.sin(angle)]])


def _add(target: Audio, sound: Audio, start: int) -> None:
    end = min(target.shape[1], start + sound.shape[1])
    if end > start:
        target[:, start:end] += sound[:, : end - start]


def _master(mix: Audio, sample_rate: int) -> NDArray[np.float32]:
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
