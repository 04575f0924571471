"""Bot and abuse scoring for registration and login.

Each request is reduced to :class:`ClientSignals`; :class:`RiskAssessor` turns them into a
score (the sum of the weights of the signals that fired) and a :class:`Decision`. With the
default thresholds (``risk_challenge_score`` 40, ``risk_block_score`` 80) the weights are
chosen so that no signal a real person can trip blocks on its own, the signals a script
trips without trying challenge on their own, and two independent strong signals block.

The signals, with their weights:

``honeypot-filled`` (100, and always BLOCK)
    The form has a field hidden from people. Only software that fills in every field it
    finds writes anything there, so this is the one signal that is decisive by itself,
    whatever the thresholds are configured to.
``automation-user-agent`` (60)
    The client names itself as an HTTP library, a headless or driven browser, or a
    crawler. A real browser never does; a developer trying the API with curl can still
    pass the challenge, so this challenges rather than blocks.
``fingerprint-velocity`` (60, registration)
    More than ``risk_fingerprint_registrations_per_hour`` registrations from one browser
    fingerprint in the last hour. A fingerprint is one device, so a person has no reason
    to cross this; it is not BLOCK alone because fingerprints collide on identical
    managed machines (school labs, kiosks).
``ip-velocity`` (50)
    More than ``risk_ip_registrations_per_hour`` registrations in the last hour, or more
    than ``risk_ip_logins_per_minute`` logins in the last minute, from one address (an
    IPv6 address counts as its /64, the block one subscriber gets). Weighted below the
    fingerprint because offices, campuses and carrier-grade NAT put many people behind one
    address.
``form-filled-too-fast`` (50, registration)
    The form token is younger than ``risk_min_form_fill_seconds``: nobody types an email
    and a password that quickly. Logins are exempt, since password managers fill and
    submit a login form at once.
``disposable-email`` (40)
    The address is at a throwaway-mail domain (the ``disposable-email-domains`` list, or a
    subdomain of one of its entries). Some people use those for privacy, hence a
    challenge and not a block; together with any other strong signal it blocks.
``missing-user-agent`` (40)
    No ``User-Agent`` at all. Every browser sends one; bare scripts often do not.
``form-token-invalid`` (40)
    A form token that does not verify: tampered, signed with another secret, malformed, or
    older than its maximum age. A person with a form left open for hours lands here too,
    which is why this challenges and does not block.
``domain-velocity`` (30, registration)
    More than ``risk_domain_registrations_per_hour`` registrations at one email domain in
    the last hour, which is how a catch-all domain of a bot farm shows. Below the
    challenge score on its own, because big mail providers cross any fixed limit on a busy
    day; it only tips a request that is already suspicious.
``form-token-missing`` (30)
    No form token: the request was not made from a form the web player rendered. A
    client of our own that skips the form is possible, so this is weak alone.
``missing-fingerprint`` (20)
    No fingerprint: the page's script did not run, as with most scripted clients, but
    also with some privacy extensions.
``no-accept-language`` (15)
    No ``Accept-Language``. Browsers always send it, privacy tools sometimes strip it, so
    it only adds to other evidence.
``velocity-unavailable`` (0)
    Valkey could not be reached, so no velocity signal was computed. It carries no weight
    because an outage of ours says nothing about the client; it is reported so that logs
    and callers can see the assessment was partial.

Velocity is counted with a sliding-window log in Valkey: one sorted set per counter,
scored by time. Every assessment records an attempt (attempts, not successful sign-ups,
are what a bot produces in bulk), drops entries older than the window, and trims the set
to its newest ``limit + 1`` entries: the count of the window exceeds the limit exactly when
those newest ``limit + 1`` all lie inside it, so the trimmed set gives the same answer while
its memory stays bounded however hard one address hammers.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

import structlog
from disposable_email_domains import blocklist as _disposable_domains
from itsdangerous import BadData, URLSafeSerializer
from redis.asyncio import Redis
from redis.exceptions import RedisError

from spotilike.users.settings import UsersSettings

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "FORM_TOKEN_MAX_AGE_SECONDS",
    "REASON_WEIGHTS",
    "ClientSignals",
    "Decision",
    "FormTokens",
    "Reason",
    "RiskAssessment",
    "RiskAssessor",
    "is_automation_user_agent",
    "is_disposable_domain",
]

_log = structlog.get_logger(__name__)

DEFAULT_KEY_PREFIX = "users:risk:"
FORM_TOKEN_MAX_AGE_SECONDS = 3600.0
"""Past this a form token counts as invalid: the form would have been filled long ago."""

_FORM_TOKEN_SALT = "spotilike.users.form-token"  # noqa: S105 - a namespace, not a secret
_MAX_FORM_TOKEN_LENGTH = 512
"""Far above any token :meth:`FormTokens.issue` makes; longer input is not worth verifying."""
_MAX_DOMAIN_LENGTH = 253
_IPV6_SUBSCRIBER_PREFIX = 64
_HOUR = 3600.0
_MINUTE = 60.0


class Decision(StrEnum):
    ALLOW = "allow"
    CHALLENGE = "challenge"
    BLOCK = "block"


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
"""Why each weight is what it is: see the module docstring."""


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


@dataclass(frozen=True)
class RiskAssessment:
    decision: Decision
    score: int
    reasons: tuple[str, ...]
    """Codes of :class:`Reason`, in the order of :data:`REASON_WEIGHTS`."""


class FormTokens:
    """Signed, timestamped tokens that a rendered form carries back with its submission.

    A token proves the form was served by us and tells how long ago, which measures how
    fast it was filled. The issue time is in the signed payload with sub-second precision
    (``TimestampSigner`` keeps whole seconds only, too coarse for a two-second threshold).
    """

    def __init__(
        self,
        secret: str,
        *,
        clock: Callable[[], float] = time.time,
        max_age_seconds: float = FORM_TOKEN_MAX_AGE_SECONDS,
    ) -> None:
        if not secret:
            raise ValueError("the form token secret must not be empty")
        if max_age_seconds <= 0:
            raise ValueError("max_age_seconds must be positive")
        self._serializer = URLSafeSerializer(secret, salt=_FORM_TOKEN_SALT)
        self._clock = clock
        self._max_age_seconds = max_age_seconds

    def issue(self) -> str:
        # The nonce makes every token distinct, so two forms served in the same instant
        # cannot be told apart by nothing but their token.
        return self._serializer.dumps({"n": secrets.token_urlsafe(12), "t": self._clock()})

    def age_seconds(self, token: str | None) -> float | None:
        """Seconds since ``token`` was issued; None when it is missing, invalid or too old."""
        if not token or len(token) > _MAX_FORM_TOKEN_LENGTH:
            return None
        try:
            payload = self._serializer.loads(token)
        except BadData:
            return None
        issued_at = payload.get("t") if isinstance(payload, dict) else None
        if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
            return None
        # A token from an instance whose clock runs slightly ahead would come out negative;
        # it is still ours and still fresh.
        age = max(0.0, self._clock() - float(issued_at))
        if age > self._max_age_seconds:
            return None
        return age


_AUTOMATION_USER_AGENT = re.compile(
    r"""
    \b(?:
        curl | wget | httpie | python-requests | python-urllib | python-httpx | httpx
      | aiohttp | urllib3 | go-http-client | libwww-perl | lwp-\w+ | java/ | okhttp
      | apache-httpclient | node-fetch | axios | undici
      | postmanruntime | insomnia | scrapy | mechanize
      | headlesschrome | phantomjs | slimerjs | selenium | webdriver | puppeteer
      | playwright | electron-fetch
      | \w*spider | \w*crawler | \w*crawl\b
    )
    | (?<!cu)bot\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
"""Clients that announce themselves as scripts, driven browsers or crawlers.

A short pattern of our own rather than a crawler-list package: what reaches a sign-up form
is HTTP libraries and browser-automation tools, which search-engine crawler lists cover
only partly, and the pattern costs one regex search per request. ``crawlerdetect`` is the
candidate should the list need to grow. ``(?<!cu)`` spares the Cubot phone brand, whose
model names would otherwise match ``bot``. OkHttp is listed because Spotilike has no
Android app of its own: an OkHttp client at the sign-up form is somebody's script.
"""


def is_automation_user_agent(user_agent: str) -> bool:
    return _AUTOMATION_USER_AGENT.search(user_agent) is not None


def is_disposable_domain(domain: str) -> bool:
    """True for a listed throwaway-mail domain and for any subdomain of one."""
    labels = domain.strip().lower().rstrip(".").split(".")
    # Each parent domain is looked up in turn (a.b.example.com, b.example.com, example.com);
    # the bare top-level label is never a listed entry.
    return any(".".join(labels[i:]) in _disposable_domains for i in range(len(labels) - 1))


def _email_domain(email: str) -> str:
    _, at, domain = email.strip().rpartition("@")
    return domain.lower().rstrip(".") if at else ""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _ip_key_part(ip: str) -> str:
    """The address as a bounded, canonical key: IPv4 as is, IPv6 as its /64."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        # Not an address (a test client's placeholder host, a broken proxy header): still
        # counted, under a bounded name of its own.
        return "raw-" + _digest(ip)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Network((address, _IPV6_SUBSCRIBER_PREFIX), strict=False)
        return str(network).replace("/", "_")
    return str(address)


def _domain_key_part(domain: str) -> str:
    return domain if len(domain) <= _MAX_DOMAIN_LENGTH else "long-" + _digest(domain)


@dataclass(frozen=True)
class _Counter:
    reason: Reason
    key: str
    limit: int
    window_seconds: float


class RiskAssessor:
    """Scores registration and login attempts; see the module docstring for the signals.

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
        self._redis = redis
        self._settings = settings
        self._form_tokens = form_tokens
        self._clock = clock
        self._key_prefix = key_prefix

    async def assess(self, signals: ClientSignals) -> RiskAssessment:
        fired = self._request_signals(signals)
        fired |= await self._velocity_signals(signals)
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

        domain = _email_domain(signals.email)
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

    def _counters(self, signals: ClientSignals) -> list[_Counter]:
        settings = self._settings
        prefix = f"{self._key_prefix}{signals.action}:"
        ip_key = prefix + "ip:" + _ip_key_part(signals.ip)
        if signals.action == "login":
            # Logins are counted per address only: many accounts share a mail domain, and
            # one person signs in from one device many times a day.
            return [
                _Counter(Reason.IP_VELOCITY, ip_key, settings.risk_ip_logins_per_minute, _MINUTE)
            ]

        counters = [
            _Counter(Reason.IP_VELOCITY, ip_key, settings.risk_ip_registrations_per_hour, _HOUR)
        ]
        fingerprint = (signals.fingerprint or "").strip()
        if fingerprint:
            counters.append(
                _Counter(
                    Reason.FINGERPRINT_VELOCITY,
                    prefix + "fp:" + _digest(fingerprint),
                    settings.risk_fingerprint_registrations_per_hour,
                    _HOUR,
                )
            )
        domain = _email_domain(signals.email)
        if domain:
            counters.append(
                _Counter(
                    Reason.DOMAIN_VELOCITY,
                    prefix + "domain:" + _domain_key_part(domain),
                    settings.risk_domain_registrations_per_hour,
                    _HOUR,
                )
            )
        return counters

    async def _velocity_signals(self, signals: ClientSignals) -> set[Reason]:
        counters = self._counters(signals)
        now = self._clock()
        # Members must be unique, or two attempts in the same instant would count once.
        member = f"{now!r}:{secrets.token_hex(8)}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for counter in counters:
                    pipe.zremrangebyscore(counter.key, "-inf", now - counter.window_seconds)
                    pipe.zadd(counter.key, {member: now})
                    pipe.zremrangebyrank(counter.key, 0, -(counter.limit + 2))
                    pipe.zcard(counter.key)
                    pipe.expire(counter.key, math.ceil(counter.window_seconds))
                results = await pipe.execute()
        except RedisError as error:
            _log.warning(
                "risk_velocity_unavailable",
                action=signals.action,
                error_type=type(error).__name__,
            )
            return {Reason.VELOCITY_UNAVAILABLE}
        commands_per_counter = 5
        return {
            counter.reason
            for index, counter in enumerate(counters)
            if int(results[index * commands_per_counter + 3]) > counter.limit
        }
