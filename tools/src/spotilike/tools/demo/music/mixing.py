"""Playing a score: every note and hit placed in a stereo mix with reverb, then mastered."""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spotilike.tools.demo.music.composer import compose
from spotilike.tools.demo.music.effects import pan_gains, room_reverb
from spotilike.tools.demo.music.instruments import TIMBRES, drum_kit, voice
from spotilike.tools.demo.music.mastering import master
from spotilike.tools.demo.music.samples import SAMPLE_RATE, Audio
from spotilike.tools.demo.music.songs import DemoSong
from spotilike.tools.demo.music.styles import STYLES_BY_NAME

__all__ = ["render"]


# Per part: mix gain, pan (-1 left to 1 right) and reverb send.
_PARTS: Final = {"lead": (0.30, 0.1, 0.30), "chords": (0.13, 0.0, 0.45), "bass": (0.38, 0.0, 0.0)}
_KIT: Final = {
    "kick": (0.75, 0.0, 0.0),
    "snare": (0.38, -0.08, 0.25),
    "hat": (0.14, 0.35, 0.05),
    "open_hat": (0.12, 0.35, 0.15),
}


def render(song: DemoSong, *, sample_rate: int = SAMPLE_RATE) -> NDArray[np.float32]:
    """Play a song: float32 stereo samples of shape (frames, 2), peaks below -1 dBFS."""
    score = compose(song)
    style = STYLES_BY_NAME[song.style]
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
            played[key] = voice(TIMBRES[name], note.pitch, note.length, sample_rate, rng)
        sound = played[key] * (pan_gains(pan) * (gain * note.velocity))
        start = round(note.start * sample_rate)
        _add(dry, sound, start)
        _add(send, sound * reverb, start)
    kit = drum_kit(sample_rate, rng)
    for hit in score.hits:
        gain, pan, reverb = _KIT[hit.drum]
        sound = kit[hit.drum][None, :] * (pan_gains(pan) * (gain * hit.velocity))
        start = round(hit.start * sample_rate)
        _add(dry, sound, start)
        _add(send, sound * reverb, start)
    mix = dry + room_reverb(send, sample_rate, rng)
    fade = round(min(1.5, 0.6 * score.bar_seconds) * sample_rate)
    mix[:, frames - fade :] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, math.pi, fade))
    return master(mix, sample_rate).T


def _add(target: Audio, sound: Audio, start: int) -> None:
    end = min(target.shape[1], start + sound.shape[1])
    if end > start:
        target[:, start:end] += sound[:, : end - start]
