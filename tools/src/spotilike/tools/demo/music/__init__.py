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

The parts, in the order a song goes through them:

- `songs`: `DemoSong`, the catalog `DEMO_SONGS`, and the `Score` (notes and hits) of a song;
- `styles`: what the songs of one style share (tempo, harmony, instruments, patterns);
- `composer` and `drum_patterns`: `compose`, which writes a song's score from its seed;
- `instruments` and `effects`: the voices, drum kit, band-pass, reverb and panning;
- `mixing` and `mastering`: `render`, which plays a score and brings it to `TARGET_LUFS`;
- `encoding`: `write_ogg`, which stores a rendered song as Ogg Vorbis.
"""

from spotilike.tools.demo.music.composer import compose
from spotilike.tools.demo.music.encoding import write_ogg
from spotilike.tools.demo.music.mastering import TARGET_LUFS
from spotilike.tools.demo.music.mixing import render
from spotilike.tools.demo.music.samples import SAMPLE_RATE
from spotilike.tools.demo.music.songs import DEMO_SONGS, DemoSong, Hit, Note, Score
from spotilike.tools.demo.music.styles import STYLES

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
