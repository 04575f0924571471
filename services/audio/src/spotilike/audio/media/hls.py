"""The HLS renditions and the download file of a track, from one FFmpeg run.

One run decodes the upload once; ``asplit`` hands the audio to three AAC-LC encoders
(96, 160 and 320 kb/s) and the 320 kb/s stream goes through the ``tee`` muxer to both its
HLS rendition and ``download.m4a`` (MP4, ``+faststart``), so the download costs muxing
only, not a fourth encode. Rates other than 44.1 and 48 kHz are resampled to the nearer of
the two, the rates every HLS player takes. Tags of the upload are not copied: the catalog
is the source of truth for what a download says about itself.

FFmpeg writes the media playlists (VOD, 6-second MPEG-TS segments named
``segment_00000.ts``…); we write ``master.m3u8``. FFmpeg can write one
(``-master_pl_name`` with ``-var_stream_map``) and it was checked: its BANDWIDTH is its
running estimate, which came out below AVERAGE-BANDWIDTH for the 96k rung, and it puts no
EXT-X-INDEPENDENT-SEGMENTS in the master. For audio-only output FFmpeg also leaves that
tag out of the media playlists even with ``-hls_flags independent_segments``, so it is
added here; every AAC frame is independently decodable, so it holds for every segment.

BANDWIDTH is the peak segment bit rate as RFC 8216 defines it (the highest bit rate of
any run of consecutive segments lasting 0.5 to 1.5 target durations, from the segment
files' real sizes), AVERAGE-BANDWIDTH the whole rendition's bytes over its duration. All
playlists are read and written with the m3u8 library.

Nothing appears at ``out_dir`` until everything is written and checked: the run works in a
hidden sibling directory and renames it into place, so a failed or killed run leaves no
half-written set behind.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import m3u8

from spotilike.audio.media.container import inspect_container
from spotilike.audio.media.errors import MediaError
from spotilike.audio.media.ffmpeg import (
    DEFAULT_RUN_LIMITS,
    ProgressCallback,
    ProgressMeter,
    RunLimits,
    run_ffmpeg,
)

__all__ = [
    "AAC_LC_CODECS",
    "DOWNLOAD_NAME",
    "MASTER_NAME",
    "RENDITION_KBPS",
    "Rendition",
    "Renditions",
    "average_bitrate",
    "peak_segment_bitrate",
    "transcode",
]

RENDITION_KBPS = (96, 160, 320)
DOWNLOAD_KBPS = 320
MASTER_NAME = "master.m3u8"
PLAYLIST_NAME = "index.m3u8"
DOWNLOAD_NAME = "download.m4a"
AAC_LC_CODECS = "mp4a.40.2"
_SEGMENT_PATTERN = "segment_%05d.ts"
_SEGMENT_NAME = re.compile(r"segment_\d{5}\.ts")


@dataclass(frozen=True)
class Rendition:
    kbps: int
    """The encoder's target bit rate."""
    playlist: Path
    segments: tuple[Path, ...]
    duration_seconds: float
    """Sum of the segment durations in the playlist."""
    bandwidth: int
    """Peak segment bit rate, bits per second."""
    average_bandwidth: int


@dataclass(frozen=True)
class Renditions:
    directory: Path
    master: Path
    variants: tuple[Rendition, ...]
    download: Path


def transcode(
    source: Path,
    out_dir: Path,
    *,
    segment_seconds: int = 6,
    progress: ProgressCallback | None = None,
    run_limits: RunLimits = DEFAULT_RUN_LIMITS,
) -> Renditions:
    """Write the HLS set and the download of a validated upload into ``out_dir``, which
    must not exist yet."""
    if out_dir.exists():
        raise FileExistsError(out_dir)
    container = inspect_container(source)
    meter = ProgressMeter(progress, container.duration_seconds) if progress else None
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        variants = _write_set(
            source,
            work=work,
            out_dir=out_dir,
            segment_seconds=segment_seconds,
            meter=meter,
            run_limits=run_limits,
        )
        # mkdtemp makes the directory private; the published set is read by other services.
        work.chmod(0o755)
        work.rename(out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if meter is not None:
        meter.finish()
    return Renditions(
        directory=out_dir,
        master=out_dir / MASTER_NAME,
        variants=variants,
        download=out_dir / DOWNLOAD_NAME,
    )


def peak_segment_bitrate(segments: Sequence[tuple[int, float]], target_duration: float) -> int:
    """RFC 8216's peak segment bit rate of (size in bytes, duration in seconds) segments.

    A rendition too short for any run to reach half the target duration has no such run;
    its average is its peak then.
    """
    peak = 0.0
    for start in range(len(segments)):
        size = 0
        duration = 0.0
        for segment_size, segment_duration in segments[start:]:
            size += segment_size
            duration += segment_duration
            if duration > 1.5 * target_duration:
                break
            if duration >= 0.5 * target_duration:
                peak = max(peak, size * 8 / duration)
    if not peak:
        return average_bitrate(segments)
    return math.ceil(peak)


def average_bitrate(segments: Sequence[tuple[int, float]]) -> int:
    duration = sum(segment_duration for _, segment_duration in segments)
    if duration <= 0:
        return 0
    return math.ceil(sum(size for size, _ in segments) * 8 / duration)


def _write_set(
    source: Path,
    *,
    work: Path,
    out_dir: Path,
    segment_seconds: int,
    meter: ProgressMeter | None,
    run_limits: RunLimits,
) -> tuple[Rendition, ...]:
    for kbps in RENDITION_KBPS:
        (work / str(kbps)).mkdir()
    run_ffmpeg(
        source,
        input_format="ogg",
        arguments=_encoder_arguments(segment_seconds),
        limits=run_limits,
        progress=meter,
        cwd=work,
    )
    variants = tuple(
        _finish_rendition(work, out_dir, kbps, segment_seconds) for kbps in RENDITION_KBPS
    )
    if not (work / DOWNLOAD_NAME).stat().st_size:
        raise _broken("the download file is empty")
    (work / MASTER_NAME).write_text(_master_playlist(variants), encoding="utf-8")
    return variants


def _encoder_arguments(segment_seconds: int) -> list[str]:
    labels = [f"[aac{kbps}]" for kbps in RENDITION_KBPS]
    graph = (
        "[0:a:0]aformat=sample_rates=44100|48000:channel_layouts=mono|stereo,"
        f"asplit={len(labels)}{''.join(labels)}"
    )
    arguments = ["-filter_complex", graph]
    for kbps, label in zip(RENDITION_KBPS, labels, strict=True):
        arguments += ["-map", label, "-map_metadata", "-1"]
        arguments += ["-c:a", "aac", "-profile:a", "aac_low", "-b:a", f"{kbps}k"]
        hls = {
            "hls_time": str(segment_seconds),
            "hls_playlist_type": "vod",
            "hls_flags": "independent_segments",
            "hls_segment_type": "mpegts",
            "hls_segment_filename": f"{kbps}/{_SEGMENT_PATTERN}",
        }
        playlist = f"{kbps}/{PLAYLIST_NAME}"
        if kbps == DOWNLOAD_KBPS:
            # The paths are relative to the run's working directory and fixed here, so no
            # character in them needs the tee muxer's escaping.
            slave_options = ":".join(f"{key}={value}" for key, value in hls.items())
            download = f"[f=mp4:movflags=+faststart]{DOWNLOAD_NAME}"
            arguments += ["-f", "tee", f"[f=hls:{slave_options}]{playlist}|{download}"]
        else:
            for key, value in hls.items():
                arguments += [f"-{key}", value]
            arguments += ["-f", "hls", playlist]
    return arguments


def _finish_rendition(work: Path, out_dir: Path, kbps: int, segment_seconds: int) -> Rendition:
    """Check FFmpeg's playlist of one rendition and complete it; the paths returned are the
    ones it will have once ``work`` is renamed to ``out_dir``."""
    directory = work / str(kbps)
    path = directory / PLAYLIST_NAME
    playlist = m3u8.loads(path.read_text(encoding="utf-8"))
    if playlist.playlist_type != "vod" or not playlist.is_endlist or not playlist.segments:
        raise _broken(f"{kbps}/{PLAYLIST_NAME} is not a complete VOD playlist")
    if playlist.target_duration is None or playlist.target_duration > segment_seconds:
        raise _broken(f"{kbps}/{PLAYLIST_NAME} has target duration {playlist.target_duration}")
    segments: list[Path] = []
    sizes: list[tuple[int, float]] = []
    for segment in playlist.segments:
        if not _SEGMENT_NAME.fullmatch(segment.uri):
            raise _broken(f"unexpected segment name {segment.uri!r}")
        segments.append(out_dir / str(kbps) / segment.uri)
        sizes.append(((directory / segment.uri).stat().st_size, float(segment.duration)))
    playlist.is_independent_segments = True
    path.write_text(playlist.dumps(), encoding="utf-8")
    return Rendition(
        kbps=kbps,
        playlist=out_dir / str(kbps) / PLAYLIST_NAME,
        segments=tuple(segments),
        duration_seconds=sum(duration for _, duration in sizes),
        bandwidth=peak_segment_bitrate(sizes, float(playlist.target_duration)),
        average_bandwidth=average_bitrate(sizes),
    )


def _master_playlist(variants: Sequence[Rendition]) -> str:
    master = m3u8.M3U8()
    master.is_independent_segments = True
    for variant in variants:
        master.add_playlist(
            m3u8.Playlist(
                uri=f"{variant.kbps}/{PLAYLIST_NAME}",
                stream_info={
                    "bandwidth": variant.bandwidth,
                    "average_bandwidth": variant.average_bandwidth,
                    "codecs": AAC_LC_CODECS,
                },
                media=[],
                base_uri=None,
            )
        )
    text: str = master.dumps()
    return text


def _broken(detail: str) -> MediaError:
    return MediaError("ffmpeg_failed", "The file could not be processed.", detail=detail)
