"""Registers the streaming tests' fixtures; they and the helpers live in ``streaming_support``.

Test modules import helpers from ``streaming_support``, never from ``conftest``: every
service has a conftest, and one pytest run imports them all.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from streaming_support import (
    hls_media,
    make_app,
    media_storage,
    settings_factory,
    streaming_app,
    streaming_database,
)

__all__ = [
    "hls_media",
    "make_app",
    "media_storage",
    "settings_factory",
    "streaming_app",
    "streaming_database",
]
