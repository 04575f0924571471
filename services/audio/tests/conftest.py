"""Registers the audio tests' fixtures; the fixtures and helpers live in ``audio_support``.

Test modules import helpers from ``audio_support``, never from ``conftest``: every
service has a conftest, and one pytest run imports them all, so a plain ``conftest``
import would get whichever came first.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from audio_support import (
    audio_app,
    audio_database,
    settings_factory,
    tone,
)

__all__ = [
    "audio_app",
    "audio_database",
    "settings_factory",
    "tone",
]
