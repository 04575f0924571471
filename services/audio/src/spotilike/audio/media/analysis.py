"""Validation and measurement of an upload, from one full decode.

`validate` and `analyse` read the container first (`inspect_container`: one Ogg stream,
Vorbis/Opus/FLAC, complete), check what it declares against `Limits`, then decode the whole
track once with FFmpeg to 16-bit PCM on a pipe. The decode is what catches damage the
container cannot show:

- the decoded duration, counted in samples as they arrive, must match the container's
  (from the last granule position) within `Limits.duration_tolerance_seconds`. Pages lost
  to corruption shorten the decode while FFmpeg's own ``time=`` still reaches the end,
  because it follows timestamps; counting samples does not;
- FFmpeg must log no error line (a page failing its CRC is logged as ``CRC mismatch!``
  at level error and the page dropped, with exit status 0);
- the sample peak must rise above `Limits.silence_peak_dbfs` (-60 dBFS by default).

Silence is refused: the project's quality bar lists a silent upload among the inputs that
end FAILED with a reason. The threshold is well below anything audible at normal listening
levels yet above the dither noise of an "empty" export (about -90 dBFS at 16 bits).

`analyse` gets the waveform peaks and the EBU R128 loudness out of the same decode (an
``asplit`` feeds ``ebur128``, the PCM feeds the waveform), so validation and measurement
together cost one decode; `peaks` and `loudness` exist for a file that is already trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spotilike.audio.media.container import Codec, ContainerInfo, inspect_container
from spotilike.audio.media.ebur128 import Loudness, parse_summary
from spotilike.audio.media.errors import MediaError, spoken_duration
from spotilike.audio.media.ffmpeg import (
    DEFAULT_RUN_LIMITS,
    FfmpegRun,
    ProgressCallback,
    ProgressMeter,
    RunLimits,
    run_ffmpeg,
)
from spotilike.audio.media.waveform import Waveform, WaveformBuilder

__all__ = [
    "DEFAULT_LIMITS",
    "AudioInfo",
    "Limits",
    "TrackAnalysis",
    "analyse",
    "loudness",
    "peaks",
    "validate",
]

_FULL_SCALE = 32768


@dataclass(frozen=True)
class Limits:
    """What an upload may be."""

    max_bytes: int = 400_000_000
    min_seconds: float = 1.0
    max_seconds: float = 20 * 60.0
    max_channels: int = 2
    duration_tolerance_seconds: float = 0.5
    silence_peak_dbfs: float = -60.0


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class AudioInfo:
    codec: Codec
    channels: int
    sample_rate: int
    """The rate the decoder produces (48 kHz for Opus)."""
    duration_seconds: float
    """What the container declares."""
    decoded_seconds: float
    size_bytes: int
    peak_dbfs: float
    """Sample peak of the decoded audio."""


@dataclass(frozen=True)
class TrackAnalysis:
    info: AudioInfo
    waveform: Waveform
    loudness: Loudness


def validate(
    path: Path,
    limits: Limits = DEFAULT_LIMITS,
    *,
    run_limits: RunLimits = DEFAULT_RUN_LIMITS,
    progress: ProgressCallback | None = None,
) -> AudioInfo:
    """Check an upload completely; `MediaError` with a reason for the artist if it fails."""
    container = _admit(path, limits)
    meter = ProgressMeter(progress, container.duration_seconds) if progress else None
    decoded = _decode(path, container, with_loudness=False, run_limits=run_limits, meter=meter)
    info = _judge(container, decoded, limits)
    if meter is not None:
        meter.finish()
    return info


def analyse(
    path: Path,
    limits: Limits = DEFAULT_LIMITS,
    *,
    pixels_per_second: int = 10,
    run_limits: RunLimits = DEFAULT_RUN_LIMITS,
    progress: ProgressCallback | None = None,
) -> TrackAnalysis:
    """`validate`, plus waveform peaks and loudness, all from the one decode."""
    container = _admit(path, limits)
    meter = ProgressMeter(progress, container.duration_seconds) if progress else None
    decoded = _decode(
        path,
        container,
        with_loudness=True,
        pixels_per_second=pixels_per_second,
        run_limits=run_limits,
        meter=meter,
    )
    info = _judge(container, decoded, limits)
    assert decoded.loudness is not None
    if meter is not None:
        meter.finish()
    return TrackAnalysis(info=info, waveform=decoded.waveform.result(), loudness=decoded.loudness)


def peaks(
    source: Path, *, pixels_per_second: int = 10, run_limits: RunLimits = DEFAULT_RUN_LIMITS
) -> Waveform:
    """Waveform peaks of a file that passed `validate`."""
    container = inspect_container(source)
    decoded = _decode(
        source,
        container,
        with_loudness=False,
        pixels_per_second=pixels_per_second,
        run_limits=run_limits,
    )
    return decoded.waveform.result()


def loudness(source: Path, *, run_limits: RunLimits = DEFAULT_RUN_LIMITS) -> Loudness:
    """EBU R128 loudness of a file that passed `validate`."""
    inspect_container(source)
    run = run_ffmpeg(
        source,
        input_format="ogg",
        arguments=["-map", "0:a:0", "-af", _EBUR128, "-f", "null", "-"],
        limits=run_limits,
        loglevel="info",
    )
    return _loudness_in(run)


def _loudness_in(run: FfmpegRun) -> Loudness:
    try:
        return parse_summary(run.stderr)
    except ValueError as error:
        raise MediaError(
            "ffmpeg_failed", "The file could not be processed.", detail=f"{error}\n{run.stderr}"
        ) from error


# framelog=verbose keeps the ten-per-second momentary readings out of the info-level log,
# which then holds little more than the summary.
_EBUR128 = "ebur128=peak=true:framelog=verbose"


def _admit(path: Path, limits: Limits) -> ContainerInfo:
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise MediaError(
            "too_big",
            f"The file is {_megabytes(size)}; the limit is {_megabytes(limits.max_bytes)}.",
        )
    container = inspect_container(path)
    if container.channels > limits.max_channels:
        raise MediaError(
            "channels", f"The audio has {container.channels} channels; upload mono or stereo."
        )
    duration = container.duration_seconds
    if duration < limits.min_seconds:
        raise MediaError(
            "too_short",
            f"The track lasts {spoken_duration(duration, beside=limits.min_seconds)}; "
            f"it must last at least {spoken_duration(limits.min_seconds, beside=duration)}.",
        )
    if duration > limits.max_seconds:
        raise MediaError(
            "too_long",
            f"The track lasts {spoken_duration(duration, beside=limits.max_seconds)}; "
            f"the limit is {spoken_duration(limits.max_seconds, beside=duration)}.",
        )
    return container


@dataclass
class _Decoded:
    frames: int
    peak: int
    error_lines: tuple[str, ...]
    waveform: WaveformBuilder
    loudness: Loudness | None


class _PcmReader:
    """Consumes interleaved s16le PCM from the pipe: counts frames, tracks the sample peak,
    and feeds the mean of the channels to the waveform."""

    def __init__(
        self, channels: int, waveform: WaveformBuilder, meter: ProgressMeter | None
    ) -> None:
        self._channels = channels
        self._frame_bytes = 2 * channels
        self._waveform = waveform
        self._meter = meter
        self._rest = b""
        self.frames = 0
        self.peak = 0

    def feed(self, chunk: bytes) -> None:
        data = self._rest + chunk
        usable = len(data) - len(data) % self._frame_bytes
        self._rest = data[usable:]
        if not usable:
            return
        samples = np.frombuffer(data, dtype="<i2", count=usable // 2).astype(np.int32)
        frames = samples.reshape(-1, self._channels)
        self.frames += frames.shape[0]
        self.peak = max(self.peak, int(np.abs(samples).max()))
        self._waveform.feed(frames.sum(axis=1, dtype=np.int32) // self._channels)
        if self._meter is not None:
            self._meter.advance(self.frames / self._waveform.sample_rate)


def _decode(
    path: Path,
    container: ContainerInfo,
    *,
    with_loudness: bool,
    pixels_per_second: int = 10,
    run_limits: RunLimits,
    meter: ProgressMeter | None = None,
) -> _Decoded:
    channels = min(container.channels, 2)
    waveform = WaveformBuilder(
        sample_rate=container.sample_rate, pixels_per_second=pixels_per_second
    )
    reader = _PcmReader(channels, waveform, meter)
    # aformat pins the PCM to what the reader assumes; at the container's own rate and
    # channel count it converts nothing.
    pcm_format = (
        f"aformat=sample_fmts=s16:sample_rates={container.sample_rate}"
        f":channel_layouts={'mono' if channels == 1 else 'stereo'}"
    )
    if with_loudness:
        graph = f"[0:a:0]asplit=2[tap][meter];[meter]{_EBUR128},anullsink;[tap]{pcm_format}[pcm]"
    else:
        graph = f"[0:a:0]{pcm_format}[pcm]"
    try:
        run = run_ffmpeg(
            path,
            input_format="ogg",
            arguments=["-filter_complex", graph, "-map", "[pcm]", "-f", "s16le", "pipe:1"],
            limits=run_limits,
            loglevel="info" if with_loudness else "error",
            on_stdout=reader.feed,
        )
    except MediaError as error:
        if error.code != "ffmpeg_failed":
            raise
        raise MediaError(
            "damaged", "The file is damaged: its audio cannot be decoded.", detail=error.detail
        ) from error
    return _Decoded(
        frames=reader.frames,
        peak=reader.peak,
        error_lines=run.error_lines,
        waveform=waveform,
        loudness=_loudness_in(run) if with_loudness else None,
    )


def _judge(container: ContainerInfo, decoded: _Decoded, limits: Limits) -> AudioInfo:
    declared = container.duration_seconds
    decoded_seconds = decoded.frames / container.sample_rate
    if abs(decoded_seconds - declared) > limits.duration_tolerance_seconds:
        raise MediaError(
            "damaged",
            f"The file is damaged: it plays {spoken_duration(decoded_seconds, beside=declared)} "
            f"of its {spoken_duration(declared, beside=decoded_seconds)}.",
        )
    if decoded.error_lines:
        raise MediaError(
            "damaged",
            "The file is damaged: parts of the audio cannot be decoded.",
            detail="\n".join(decoded.error_lines),
        )
    peak_dbfs = 20 * math.log10(decoded.peak / _FULL_SCALE) if decoded.peak else -math.inf
    if peak_dbfs <= limits.silence_peak_dbfs:
        raise MediaError("silent", "The file is silent; upload a track with audible sound.")
    return AudioInfo(
        codec=container.codec,
        channels=container.channels,
        sample_rate=container.sample_rate,
        duration_seconds=declared,
        decoded_seconds=decoded_seconds,
        size_bytes=container.size_bytes,
        peak_dbfs=round(peak_dbfs, 2),
    )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.0f} MB" if size >= 1_000_000 else f"{size:,} bytes"
