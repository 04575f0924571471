"""Inputs for the media tests, made by the same FFmpeg the pipeline runs.

Signals are synthetic so their expected measurements follow from how they are made: the
standard tone is a 997 Hz sine with a peak of 0.1 (-20 dBFS) in both channels, which
BS.1770 puts at -20 LUFS.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from spotilike.audio.media import ffmpeg_path

TONE_AMPLITUDE = 0.1
TONE_SECONDS = 20.0


def _sine(amplitude: float, channels: int = 2) -> str:
    return "|".join([f"{amplitude}*sin(2*PI*997*t)"] * channels)


MakeInput = Callable[..., Path]


@pytest.fixture(scope="session")
def ffmpeg_cli() -> Callable[..., None]:
    """Run the ffmpeg command line quietly; for making inputs, not for the code under test."""

    def run(*arguments: str) -> None:
        subprocess.run(
            [ffmpeg_path(), "-nostdin", "-hide_banner", "-v", "error", "-y", *arguments],
            check=True,
            timeout=120,
        )

    return run


@pytest.fixture(scope="session")
def make_input(
    tmp_path_factory: pytest.TempPathFactory, ffmpeg_cli: Callable[..., None]
) -> MakeInput:
    """Encode a lavfi source to a file named ``name``, once per session."""
    directory = tmp_path_factory.mktemp("inputs")
    made: dict[str, tuple[tuple[object, ...], Path]] = {}

    def make(
        name: str,
        source: str,
        *,
        seconds: float,
        encode: tuple[str, ...] = ("-c:a", "libvorbis", "-q:a", "5"),
        rate: int = 44100,
    ) -> Path:
        key = (source, seconds, encode, rate)
        if name in made:
            assert made[name][0] == key, f"{name} was made from something else"
            return made[name][1]
        path = directory / name
        ffmpeg_cli(
            *("-f", "lavfi", "-i", source, "-t", str(seconds), "-ar", str(rate)),
            *(*encode, "-f", "ogg", str(path)),
        )
        made[name] = (key, path)
        return path

    return make


@dataclass(frozen=True)
class Tone:
    path: Path
    seconds: float
    amplitude: float
    sample_rate: int


@pytest.fixture(scope="session")
def sine_source() -> Callable[..., str]:
    """A lavfi source of the 997 Hz sine at an amplitude, in one or more channels."""

    def source(amplitude: float = TONE_AMPLITUDE, channels: int = 2) -> str:
        return f"aevalsrc={_sine(amplitude, channels)}:s=44100"

    return source


@pytest.fixture(scope="session")
def tone(make_input: MakeInput, sine_source: Callable[..., str]) -> Tone:
    """The standard tone as stereo Vorbis."""
    path = make_input("tone.ogg", sine_source(), seconds=TONE_SECONDS)
    return Tone(path=path, seconds=TONE_SECONDS, amplitude=TONE_AMPLITUDE, sample_rate=44100)


class ConnectionRecorder:
    """A TCP listener on 127.0.0.1 that records every connection made to it and closes it."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port: int = self._socket.getsockname()[1]
        self.connections = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._socket.close()


@pytest.fixture
def connection_recorder() -> Iterator[ConnectionRecorder]:
    recorder = ConnectionRecorder()
    yield recorder
    recorder.close()
