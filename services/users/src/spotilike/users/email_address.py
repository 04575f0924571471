"""The one form an email address is compared in."""

from __future__ import annotations

import unicodedata

__all__ = ["normalize_email"]


def normalize_email(email: str) -> str:
    """NFKC, trimmed, lower-cased: ``Ann@Example.COM`` and ``ann@example.com`` are one account.

    Lower-casing the local part is not what RFC 5321 promises, but it is what every mail
    provider people use does, and two accounts differing only in case would be a trap.
    """
    return unicodedata.normalize("NFKC", email).strip().lower()
