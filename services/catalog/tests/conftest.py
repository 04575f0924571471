"""Registers the catalog tests' fixtures; the fixtures and helpers live in ``catalog_support``.

Test modules import helpers from ``catalog_support``, never from ``conftest``: every
service has a conftest, and one pytest run imports them all, so a plain ``conftest``
import would get whichever came first.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from catalog_support import (
    catalog,
    catalog_app,
    catalog_database,
    settings_factory,
)

__all__ = [
    "catalog",
    "catalog_app",
    "catalog_database",
    "settings_factory",
]
