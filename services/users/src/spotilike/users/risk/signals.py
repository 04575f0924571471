"""What one request tells about its client, and the reason codes a signal fires with.

The weight of each reason, and why it is that weight, is in the package docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

__all__ = ["REASON_WEIGHTS", "ClientSignals", "Reason"]


class Reason(StrEnum):
    """The codes an assessment gives; stable, so they can be logged, counted and tested."""

    HONEYPOT_FILLED = "honeypot-filled"
    AUTOMATION_USER_AGENT = "automation-user-agent"
    FINGERPRINT_VELOCITY = "fingerprint-velocity"
    IP_VELOCITY = "ip-velocity"
    FORM_FILLED_TOO_FAST = "form-filled-too-fast"
    DISPOSABLE_EMAIL = "disposable-email"
    MISSING_USER_AGENT = "missing-user-agent"
    FORM_TOKEN_INVALID = "form-token-invalid"  # noqa: S105 - a reason code
    DOMAIN_VELOCITY = "domain-velocity"
    FORM_TOKEN_MISSING = "form-token-missing"  # noqa: S105 - a reason code
    MISSING_FINGERPRINT = "missing-fingerprint"
    NO_ACCEPT_LANGUAGE = "no-accept-language"
    VELOCITY_UNAVAILABLE = "velocity-unavailable"


REASON_WEIGHTS: Mapping[Reason, int] = MappingProxyType(
    {
        Reason.HONEYPOT_FILLED: 100,
        Reason.AUTOMATION_USER_AGENT: 60,
        Reason.FINGERPRINT_VELOCITY: 60,
        Reason.IP_VELOCITY: 50,
        Reason.FORM_FILLED_TOO_FAST: 50,
        Reason.DISPOSABLE_EMAIL: 40,
        Reason.MISSING_USER_AGENT: 40,
        Reason.FORM_TOKEN_INVALID: 40,
        Reason.DOMAIN_VELOCITY: 30,
        Reason.FORM_TOKEN_MISSING: 30,
        Reason.MISSING_FINGERPRINT: 20,
        Reason.NO_ACCEPT_LANGUAGE: 15,
        Reason.VELOCITY_UNAVAILABLE: 0,
    }
)
"""Why each weight is what it is: see the :mod:`spotilike.users.risk` docstring."""


@dataclass(frozen=True)
class ClientSignals:
    """What one registration or login request tells about its client.

    ``ip`` is the client address as the trusted proxy chain resolved it. ``fingerprint``
    is the opaque device fingerprint the web player's script sends, ``honeypot`` the value
    of the hidden form field, ``form_token`` the token the rendered form carried; each is
    None when the request did not have it.
    """

    action: Literal["register", "login"]
    ip: str
    email: str
    user_agent: str | None
    accept_language: str | None
    fingerprint: str | None
    honeypot: str | None
    form_token: str | None
