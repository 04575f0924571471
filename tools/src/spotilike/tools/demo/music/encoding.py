"""Writing a rendered song to disk as Ogg Vorbis with the bundled FFmpeg."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg

from spotilike.tools.demo.music.mixing import render
from spotilike.tools.demo.music.samples import SAMPLE_RATE
from spotilike.tools.demo.music.songs import DemoSong

__all__ = ["write_ogg"]


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
