"""Registers the notification tests' fixtures; fixtures and helpers live in
``notifications_support``.

Test modules import helpers from ``notifications_support``, never from ``conftest``:
every service has a conftest, and one pytest run imports them all, so a plain
``conftest`` import would get whichever came first.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from notifications_support import moto_ses, notifications_database, sendgrid, settings_factory

__all__ = ["moto_ses", "notifications_database", "sendgrid", "settings_factory"]
