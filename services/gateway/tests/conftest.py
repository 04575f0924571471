"""Registers the gateway tests' fixtures; the fixtures and helpers live in ``gateway_support``.

Test modules import helpers from ``gateway_support``, never from ``conftest``: every
service has a conftest, and one pytest run imports them all.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from gateway_support import token_signer, upstream

__all__ = ["token_signer", "upstream"]
