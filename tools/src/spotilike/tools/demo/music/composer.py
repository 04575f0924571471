"""The seeded composer: key, tempo, chord progression, chords, bass line and melody."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np

from spotilike.tools.demo.music.drum_patterns import GridHit, drum_bar, is_fill
from spotilike.tools.demo.music.songs import DemoSong, Hit, Note, Score
from spotilike.tools.demo.music.styles import STYLES_BY_NAME, Style

__all__ = ["MAJOR", "MINOR", "compose"]

MAJOR: Final = (0, 2, 4, 5, 7, 9, 11)
MINOR: Final = (0, 2, 3, 5, 7, 8, 10)

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


def compose(song: DemoSong) -> Score:
    """Write the score of a song; the same song always gives the same score.

    The tempo is nudged so a whole number of 4/4 bars fills exactly ``song.seconds``, which
    lets the last bar be a held tonic chord instead of music cut off mid-phrase.
    """
    style = STYLES_BY_NAME[song.style]
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
    grid: list[GridHit] = []
    intro = 2 if bars >= 8 else 0
    for b in range(bars):
        last = b == bars - 1
        notes.extend(writer.chords(b, voicings[b], last=last))
        notes.extend(writer.bass(b, classes[b], last=last))
        grid.extend(drum_bar(style, b, intro=b < intro, last=last, fill=is_fill(b, bars)))
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

    def __init__(self, style: Style, rng: np.random.Generator, bar: float) -> None:
        self.style = style
        self.rng = rng
        self.bar = bar
        self.sixteenth = bar / 16
        self.scale = MINOR if style.minor else MAJOR

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
