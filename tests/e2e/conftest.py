"""Registers the journey tests' fixture; it and the helpers live in ``e2e_support``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from e2e_support import platform

__all__ = ["platform"]
