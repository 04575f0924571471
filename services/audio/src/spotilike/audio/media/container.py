"""What the Ogg container says about an upload, read before anything is decoded.

Every page header is read (mutagen's ``OggPage``), not just the first and the last, because
that is where two of the refusals come from:

- the number of logical streams: a BOS page starts each one, so two grouped streams (audio
  plus video or a Skeleton track) and chained files (one stream after another) both show up;
- truncation: an Ogg file has no stored total length, only the granule position on each
  page, so a file cut short reports a shorter, self-consistent duration and decodes with
  exit status 0. What gives it away is the end: the last page of a complete stream carries
  the end-of-stream flag, and a cut inside a page leaves a partial page behind.

Codec facts (channels, sample rate, duration from the last granule position) come from
mutagen's Vorbis, Opus and FLAC readers. Opus always decodes at 48 kHz, whatever rate its
header says the original had, so 48 kHz is the rate reported for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from mutagen import MutagenError
from mutagen.ogg import OggPage
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from spotilike.audio.media.errors import MediaError, spoken_duration

__all__ = ["Codec", "ContainerInfo", "inspect_container"]

Codec = Literal["vorbis", "opus", "flac"]

_OGG_CAPTURE = b"OggS"
_AUDIO_CODECS: dict[bytes, Codec] = {
    b"\x01vorbis": "vorbis",
    b"OpusHead": "opus",
    b"\x7fFLAC": "flac",
}
_OTHER_CONTENT = {
    b"Speex   ": "Speex audio",
    b"\x80theora": "Theora video",
    b"fishead\x00": "an Ogg Skeleton track",
    b"OVP80": "VP8 video",
    b"CELT    ": "CELT audio",
    b"PCM     ": "raw PCM audio",
    b"\x80kate\x00\x00\x00": "Kate subtitles",
}
_READERS: dict[Codec, Any] = {"vorbis": OggVorbis, "opus": OggOpus, "flac": OggFLAC}
_OPUS_DECODE_RATE = 48_000
# mutagen's OggPage carries no annotations.
_read_page: Callable[[BinaryIO], Any] = OggPage
_UPLOAD_ADVICE = "upload Vorbis, Opus or FLAC audio in an Ogg file"


@dataclass(frozen=True)
class ContainerInfo:
    codec: Codec
    channels: int
    sample_rate: int
    """The rate the decoder produces."""
    duration_seconds: float
    """From the last granule position of the stream."""
    size_bytes: int


@dataclass
class _Stream:
    magic: bytes
    ended: bool = False


def inspect_container(path: Path) -> ContainerInfo:
    """Read the container of an upload; refuse it with a `MediaError` when it is not one
    complete Ogg stream of Vorbis, Opus or FLAC."""
    size = path.stat().st_size
    if size == 0:
        raise MediaError("empty", "The file is empty.")
    with path.open("rb") as file:
        if file.read(len(_OGG_CAPTURE)) != _OGG_CAPTURE:
            raise MediaError("not_ogg", "The file is not an Ogg audio file.")
        file.seek(0)
        streams, cut_inside_page = _scan_pages(file, size)
    if not streams:
        raise _truncated(None)
    if len(streams) != 1:
        raise MediaError(
            "streams",
            f"The file holds {len(streams)} streams; upload a file with exactly one audio track.",
        )
    (stream,) = streams
    codec = _codec_of(stream.magic)
    complete = stream.ended and not cut_inside_page
    try:
        info = _READERS[codec](path).info
    except MutagenError as error:
        if not complete:
            raise _truncated(None) from error
        raise MediaError(
            "damaged", "The file is damaged: its audio header cannot be read.", detail=str(error)
        ) from error
    duration = float(info.length)
    if not complete:
        raise _truncated(duration)
    return ContainerInfo(
        codec=codec,
        channels=int(info.channels),
        sample_rate=_OPUS_DECODE_RATE if codec == "opus" else int(info.sample_rate),
        duration_seconds=duration,
        size_bytes=size,
    )


def _scan_pages(file: BinaryIO, size: int) -> tuple[list[_Stream], bool]:
    """The logical streams in the order they begin, and whether the bytes ran out inside
    a page. A stream that begins again under a serial already seen counts as another one."""
    streams: list[_Stream] = []
    by_serial: dict[int, _Stream] = {}
    while True:
        try:
            page = _read_page(file)
        except EOFError:
            return streams, False
        except MutagenError as error:
            # A short read means the bytes ran out inside a page: the upload was cut off.
            # Anything else is a page that does not parse where one should start.
            if file.tell() >= size:
                return streams, True
            raise MediaError(
                "damaged",
                "The file is damaged: part of it is not valid Ogg data.",
                detail=str(error),
            ) from error
        if page.first:
            first_packet = page.packets[0] if page.packets else b""
            by_serial[page.serial] = _Stream(magic=first_packet[:8])
            streams.append(by_serial[page.serial])
        stream = by_serial.get(page.serial)
        if stream is None:
            raise MediaError(
                "damaged",
                "The file is damaged: part of it is not valid Ogg data.",
                detail=f"a page of stream {page.serial} comes before the stream's first page",
            )
        stream.ended = bool(page.last)


def _truncated(duration: float | None) -> MediaError:
    where = "" if duration is None else f" after {spoken_duration(duration)}"
    return MediaError(
        "truncated",
        f"The file ends early: it stops{where} in the middle of the audio. Export it again "
        "and upload the whole file.",
    )


def _codec_of(magic: bytes) -> Codec:
    for prefix, codec in _AUDIO_CODECS.items():
        if magic.startswith(prefix):
            return codec
    content = next(
        (name for prefix, name in _OTHER_CONTENT.items() if magic.startswith(prefix)),
        "data of an unknown kind",
    )
    raise MediaError("codec", f"The file holds {content}; {_UPLOAD_ADVICE}.")
