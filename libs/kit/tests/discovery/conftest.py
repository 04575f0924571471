"""Registers the kit discovery tests' fixtures; helpers live in ``kit_discovery_support``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from kit_discovery_support import fake_eureka

__all__ = ["fake_eureka"]
