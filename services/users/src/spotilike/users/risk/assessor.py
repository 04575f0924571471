"""Turning one request's signals into a score and a decision: allow, challenge or block."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis

from spotilike.users.risk.email_domains import email_domain, is_disposable_domain
from spotilike.users.risk.form_tokens import FormTokens
from spotilike.users.risk.signals import REASON_WEIGHTS, ClientSignals, Reason
from spotilike.users.risk.user_agents import is_automation_user_agent
from spotilike.users.risk.velocity import DEFAULT_KEY_PREFIX, VelocityCounters
from spotilike.users.settings import UsersSettings

__all__ = ["Decision", "RiskAssessment", "RiskAssessor"]


class Decision(StrEnum):
    ALLOW = "allow"
    CHALLENGE = "challenge"
    BLOCK = "block"


@dataclass(frozen=True)
class RiskAssessment:
    decision: Decision
    score: int
    reasons: tuple[str, ...]
    """Codes of :class:`Reason`, in the order of :data:`REASON_WEIGHTS`."""


class RiskAssessor:
    """Scores registration and login attempts; see the package docstring for the signals.

    Velocity counters live under ``<key_prefix><action>:<ip|fp|domain>:<value>``; the
    prefix is a parameter so tests can keep their counters apart from a shared Valkey.
    A Valkey error never fails the request: velocity is skipped and the assessment says so.
    Timeouts are the Valkey client's to configure (``socket_timeout``).
    """

    def __init__(
        self,
        redis: Redis,
        settings: UsersSettings,
        *,
        form_tokens: FormTokens,
        clock: Callable[[], float] = time.time,
        key_prefix: str = DEFAULT_KEY_PREFIX,
    ) -> None:
        self._settings = settings
        self._form_tokens = form_tokens
        self._velocity = VelocityCounters(redis, settings, clock=clock, key_prefix=key_prefix)

    async def assess(self, signals: ClientSignals) -> RiskAssessment:
        fired = self._request_signals(signals)
        fired |= await self._velocity.signals(signals)
        reasons = tuple(reason for reason in REASON_WEIGHTS if reason in fired)
        score = sum(REASON_WEIGHTS[reason] for reason in reasons)
        return RiskAssessment(
            decision=self._decide(score, honeypot=Reason.HONEYPOT_FILLED in fired),
            score=score,
            reasons=reasons,
        )

    def _decide(self, score: int, *, honeypot: bool) -> Decision:
        if honeypot or score >= self._settings.risk_block_score:
            return Decision.BLOCK
        if score >= self._settings.risk_challenge_score:
            return Decision.CHALLENGE
        return Decision.ALLOW

    def _request_signals(self, signals: ClientSignals) -> set[Reason]:
        fired: set[Reason] = set()
        if signals.honeypot:
            fired.add(Reason.HONEYPOT_FILLED)

        user_agent = (signals.user_agent or "").strip()
        if not user_agent:
            fired.add(Reason.MISSING_USER_AGENT)
        elif is_automation_user_agent(user_agent):
            fired.add(Reason.AUTOMATION_USER_AGENT)

        if not (signals.accept_language or "").strip():
            fired.add(Reason.NO_ACCEPT_LANGUAGE)
        if not (signals.fingerprint or "").strip():
            fired.add(Reason.MISSING_FINGERPRINT)

        domain = email_domain(signals.email)
        if domain and is_disposable_domain(domain):
            fired.add(Reason.DISPOSABLE_EMAIL)

        if not signals.form_token:
            fired.add(Reason.FORM_TOKEN_MISSING)
        else:
            age = self._form_tokens.age_seconds(signals.form_token)
            if age is None:
                fired.add(Reason.FORM_TOKEN_INVALID)
            elif signals.action == "register" and age < self._settings.risk_min_form_fill_seconds:
                fired.add(Reason.FORM_FILLED_TOO_FAST)
        return fired
