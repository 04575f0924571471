"""Who a verified access token speaks for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller a verified access token names.

    ``token`` is the raw bearer token, kept so the gateway can forward it; it and ``claims``
    are left out of ``repr`` so that logging a principal never writes a token, and out of
    equality so two principals compare by who they are and which token they came from.
    """

    subject: str
    roles: frozenset[str]
    token_id: str
    """The token's ``jti``: what logout puts on the denylist."""
    expires_at: datetime
    claims: Mapping[str, Any] = field(repr=False, compare=False)
    token: str = field(repr=False, compare=False)

    def has_role(self, role: str) -> bool:
        return role in self.roles
