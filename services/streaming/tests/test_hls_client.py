"""A real HLS client (FFmpeg) plays a track over HTTP from the master playlist down."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from streaming_support import MEDIA_SECONDS, put_track

from spotilike.tools.probes import PCM_BYTES_PER_SECOND, decode_hls
from spotilike.tools.pytest_plugin import ScratchDatabase, TokenIssuer, served_in_thread

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("variant", [0, 1, 2])
def test_ffmpeg_decodes_every_variant_of_the_whole_track_without_errors(
    make_app: Callable[..., Any],
    streaming_database: ScratchDatabase,
    token_issuer: TokenIssuer,
    variant: int,
) -> None:
    track = asyncio.run(put_track(streaming_database))
    token = token_issuer.token(str(uuid.uuid4()))
    with served_in_thread(make_app()) as base_url:
        decoded = decode_hls(
            f"{base_url}/stream/{track}/master.m3u8", token=token, stream=f"0:p:{variant}:a"
        )
    assert decoded.returncode == 0, decoded.stderr.decode()
    assert decoded.stderr == b""
    seconds = len(decoded.stdout) / PCM_BYTES_PER_SECOND
    # AAC priming and the last frame's padding move the end by a few milliseconds.
    assert abs(seconds - MEDIA_SECONDS) < 0.1, seconds
