"""The media core of the audio service: an artist's Ogg upload in, adaptive HLS out.

No database, queue or service code lives here; the Celery tasks call these functions.

A track takes two FFmpeg runs, each decoding the upload once:

1. `analyse` (or `validate` alone): the container is read without decoding (one Ogg stream
   of Vorbis, Opus or FLAC, complete, within `Limits`), then one decode checks the audio
   itself (decoded duration equal to the container's, no decode errors, not silent) and,
   from the same decode, produces the waveform peaks (audiowaveform JSON) and the EBU R128
   loudness with the gain to -14 LUFS (capped so the true peak stays at or below -1 dBTP).
2. `transcode`: one decode, three AAC-LC encodes (96/160/320 kb/s) as HLS VOD with 6-second
   MPEG-TS segments, the 320 kb/s stream also muxed into ``download.m4a``; `master.m3u8`
   written by us with BANDWIDTH, AVERAGE-BANDWIDTH and CODECS="mp4a.40.2".

Refusals are `MediaError` with a ``code`` for the job record and a ``reason`` the artist
can read. Silent uploads are refused (``silent``), not accepted with a flag: the project's
quality bar lists them among the inputs that must end FAILED with a reason.

Validating first costs one extra decode (about a sixth of the transcode's time, which is
the AAC encoding; bench/audio_pipeline.py), and buys refusing a bad upload before any
output exists.

GPU: FFmpeg's GPU paths (NVENC/NVDEC, QSV, VAAPI, AMF, Vulkan, CUDA filters) cover video
codecs and video filters only; no AAC encoder, no Vorbis/Opus/FLAC decoder and none of the
audio filters used here runs on a GPU. Audio work stays on CPU and scales with workers.

Every FFmpeg run goes through `run_ffmpeg` (forced demuxer, ``-protocol_whitelist file``,
resource limits, timeout, bounded stderr, progress); the binary is `ffmpeg_path`.
"""

from spotilike.audio.media.analysis import (
    DEFAULT_LIMITS,
    AudioInfo,
    Limits,
    TrackAnalysis,
    analyse,
    loudness,
    peaks,
    validate,
)
from spotilike.audio.media.container import Codec
from spotilike.audio.media.ebur128 import Loudness
from spotilike.audio.media.errors import MediaError, MediaErrorCode
from spotilike.audio.media.ffmpeg import (
    DEFAULT_RUN_LIMITS,
    FfmpegRun,
    ProgressCallback,
    RunLimits,
    ffmpeg_path,
    run_ffmpeg,
)
from spotilike.audio.media.hls import Rendition, Renditions, transcode
from spotilike.audio.media.waveform import Waveform

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_RUN_LIMITS",
    "AudioInfo",
    "Codec",
    "FfmpegRun",
    "Limits",
    "Loudness",
    "MediaError",
    "MediaErrorCode",
    "ProgressCallback",
    "Rendition",
    "Renditions",
    "RunLimits",
    "TrackAnalysis",
    "Waveform",
    "analyse",
    "ffmpeg_path",
    "loudness",
    "peaks",
    "run_ffmpeg",
    "transcode",
    "validate",
]
