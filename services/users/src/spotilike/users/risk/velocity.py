"""Sliding-window counts of attempts per address, fingerprint and email domain, in Valkey.

How the window log is kept, and why trimming it gives the same answer, is in the package
docstring.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from spotilike.users.risk.email_domains import email_domain
from spotilike.users.risk.signals import ClientSignals, Reason
from spotilike.users.settings import UsersSettings

__all__ = ["DEFAULT_KEY_PREFIX", "VelocityCounters"]

_log = structlog.get_logger(__name__)

DEFAULT_KEY_PREFIX = "users:risk:"
_MAX_DOMAIN_LENGTH = 253
_IPV6_SUBSCRIBER_PREFIX = 64
_HOUR = 3600.0
_MINUTE = 60.0


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


class VelocityCounters:
    """Records each attempt and tells which of its counters went over their limit.

    Keys are ``<key_prefix><action>:<ip|fp|domain>:<value>``. A Valkey error is logged and
    reported as :attr:`Reason.VELOCITY_UNAVAILABLE`, never raised.
    """

    def __init__(
        self,
        redis: Redis,
        settings: UsersSettings,
        *,
        clock: Callable[[], float] = time.time,
        key_prefix: str = DEFAULT_KEY_PREFIX,
    ) -> None:
        self._redis = redis
        self._settings = settings
        self._clock = clock
        self._key_prefix = key_prefix

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
        domain = email_domain(signals.email)
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

    async def signals(self, signals: ClientSignals) -> set[Reason]:
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
