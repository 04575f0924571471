"""Everything the use cases need besides the database session, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis

from spotilike.kit.auth import TokenDenylist
from spotilike.kit.db import Database
from spotilike.kit.events import Outbox
from spotilike.users.models import messaging
from spotilike.users.oauth import OAuthFlows
from spotilike.users.passwords import PasswordHasher
from spotilike.users.risk import FormTokens, RiskAssessor
from spotilike.users.service.keys import KeyRing
from spotilike.users.settings import UsersSettings
from spotilike.users.throttle import AttemptLimiter, LoginThrottle

__all__ = ["Runtime", "build_runtime"]


@dataclass(frozen=True)
class Runtime:
    settings: UsersSettings
    database: Database
    redis: Redis
    outbox: Outbox
    hasher: PasswordHasher
    keys: KeyRing
    denylist: TokenDenylist
    login_throttle: LoginThrottle
    resets_per_email: AttemptLimiter
    resets_per_ip: AttemptLimiter
    risk: RiskAssessor
    form_tokens: FormTokens
    oauth: OAuthFlows


def build_runtime(
    settings: UsersSettings, *, database: Database, redis: Redis, topic_prefix: str = ""
) -> Runtime:
    form_tokens = FormTokens(settings.form_token_secret.get_secret_value())
    return Runtime(
        settings=settings,
        database=database,
        redis=redis,
        outbox=Outbox(messaging, source="/users", topic_prefix=topic_prefix),
        hasher=PasswordHasher.from_settings(settings),
        keys=KeyRing(
            database,
            passphrase=settings.signing_key_passphrase.get_secret_value(),
            retired_key_published=timedelta(seconds=settings.retired_key_published_seconds),
        ),
        denylist=TokenDenylist(redis),
        login_throttle=LoginThrottle(
            redis,
            per_account=settings.login_failures_per_account,
            per_ip=settings.login_failures_per_ip,
            window_seconds=settings.login_failure_window_seconds,
            lockout_seconds=settings.lockout_seconds,
        ),
        resets_per_email=AttemptLimiter(
            redis,
            name="reset-email",
            limit=settings.password_resets_per_email_per_hour,
            window_seconds=3600,
        ),
        resets_per_ip=AttemptLimiter(
            redis,
            name="reset-ip",
            limit=settings.password_resets_per_ip_per_hour,
            window_seconds=3600,
        ),
        risk=RiskAssessor(redis, settings, form_tokens=form_tokens),
        form_tokens=form_tokens,
        oauth=OAuthFlows(settings, redis),
    )
