"""The one error the media core raises: a stable code for the job record and a sentence for
the artist.

``reason`` is shown to the artist as it is, so it is plain language and never carries
FFmpeg's own words, paths or a stack trace; those go to ``detail``, for logs only.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["MediaError", "MediaErrorCode", "spoken_duration"]

MediaErrorCode = Literal[
    "empty",
    "too_big",
    "not_ogg",
    "streams",
    "codec",
    "channels",
    "too_short",
    "too_long",
    "truncated",
    "damaged",
    "silent",
    "timeout",
    "resource_limit",
    "ffmpeg_failed",
]


class MediaError(Exception):
    """An upload the pipeline refuses, or a processing run that did not finish."""

    def __init__(self, code: MediaErrorCode, reason: str, *, detail: str = "") -> None:
        super().__init__(f"{code}: {reason}")
        self.code: MediaErrorCode = code
        self.reason = reason
        self.detail = detail


def spoken_duration(seconds: float, *, beside: float = 0.0) -> str:
    """A duration the way a reason sentence says it: "0.4 seconds", "10 seconds", "3:30".

    ``beside`` is another duration in the same sentence; both then take the same form, so
    a sentence never reads "59 seconds of its 1:00".
    """
    if max(seconds, beside) < 59.95:
        tenths = round(seconds, 1)
        if tenths == 1:
            return "1 second"
        return f"{tenths:g} seconds"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
