"""Registers the discovery tests' fixtures; the fixtures and helpers live in
``discovery_support`` (see services/audio/tests/conftest.py for why not here)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from discovery_support import discovery_settings, registry

__all__ = ["discovery_settings", "registry"]
