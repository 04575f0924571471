"""Registers the users tests' fixtures; the fixtures and helpers live in ``users_support``.

Test modules import helpers from ``users_support``, never from ``conftest``: every
service has a conftest, and one pytest run imports them all, so a plain ``conftest``
import would get whichever came first.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from users_support import (
    github_provider,
    listener,
    localstripe,
    oidc_provider,
    settings_factory,
    users_app,
    users_database,
)

__all__ = [
    "github_provider",
    "listener",
    "localstripe",
    "oidc_provider",
    "settings_factory",
    "users_app",
    "users_database",
]
