"""Registers the event tests' fixtures; they and the helpers live in ``kit_events_support``
(a uniquely named module: one pytest run imports every folder's conftest)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from kit_events_support import (
    consumer,
    database,
    events_database,
    spawn,
)

__all__ = [
    "consumer",
    "database",
    "events_database",
    "spawn",
]
