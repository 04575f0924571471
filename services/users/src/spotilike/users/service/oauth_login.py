"""Signing in with Google or GitHub, and linking those identities to our accounts.

A provider identity links to an existing account only when the provider vouches for the
email (``email_verified``); otherwise anyone could open a GitHub account with someone
else's unverified address and take over their Spotilike account. An existing account
whose own email was never verified is claimed rather than joined: see
:func:`_claim_unverified`. The browser leaves the
callback with a one-time login code, never with tokens in a URL; the web player trades
the code for tokens with a POST.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from urllib.parse import urlencode
from uuid import UUID

import structlog
import uuid_utils.compat as uuid_compat
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts.events.users import UserRegisteredV1
from spotilike.kit.errors import Forbidden, Unauthorized
from spotilike.users import opaque, repository
from spotilike.users.email_address import normalize_email
from spotilike.users.models import ExternalAccount, Role, User
from spotilike.users.oauth import ExternalIdentity, OAuthError
from spotilike.users.schemas import TokenPair
from spotilike.users.service.events import publish_user_updated
from spotilike.users.service.runtime import Runtime
from spotilike.users.service.sessions import ClientInfo, open_session, revoke_all_sessions

__all__ = ["LOGIN_CODE_TTL_SECONDS", "complete_login", "exchange_login_code"]

_log = structlog.get_logger(__name__)
LOGIN_CODE_TTL_SECONDS = 60
_LOGIN_CODE_PREFIX = "users:oauth:login-code:"


def _code_key(code: str) -> str:
    return _LOGIN_CODE_PREFIX + hashlib.sha256(code.encode()).hexdigest()


async def _user_for(runtime: Runtime, identity: ExternalIdentity) -> User | None:
    """The linked or matching account, a new one, or None when the email is unverified."""
    async with runtime.database.transaction() as session:
        linked = await repository.external_account(
            session, provider=identity.provider, subject=identity.subject
        )
        if linked is not None:
            user = await repository.user(session, linked.user_id)
            if user is not None:
                return user
        if not identity.email or not identity.email_verified:
            return None
        email = normalize_email(identity.email)
        user = await repository.user_by_email(session, email)
        if user is not None and not user.email_verified:
            await _claim_unverified(runtime, session, user, identity)
        if user is None:
            user = User(
                id=uuid_compat.uuid7(),
                email=identity.email,
                email_normalized=email,
                email_verified=True,
                password_hash=None,
                display_name=(identity.display_name or email.split("@")[0])[:100],
                language="en",
                roles=[Role.USER.value],
                revision=0,
            )
            await repository.add(session, user)
            await runtime.outbox.add(
                session,
                UserRegisteredV1(user_id=user.id, email=user.email, display_name=user.display_name),
                key=str(user.id),
                subject=str(user.id),
            )
            _log.info("user_registered", user_id=str(user.id), provider=identity.provider)
        await repository.add(
            session,
            ExternalAccount(
                provider=identity.provider,
                subject=identity.subject,
                user_id=user.id,
                email=identity.email,
            ),
        )
        _log.info("external_account_linked", user_id=str(user.id), provider=identity.provider)
        return user


async def _claim_unverified(
    runtime: Runtime, session: AsyncSession, user: User, identity: ExternalIdentity
) -> None:
    """The provider proves the mailbox; whoever registered it with a password did not.

    Linking as-is would let someone pre-register a victim's address, wait for the
    victim's first "Sign in with Google" and keep a password into their account
    (pre-account hijacking). So the unproven password and every session opened with it
    go, and the account now belongs to the mailbox's owner.
    """
    user.password_hash = None
    user.email_verified = True
    user.updated_at = datetime.now(UTC)
    revoked = await revoke_all_sessions(
        runtime, session, user_id=user.id, reason="claimed-by-verified-email"
    )
    await publish_user_updated(runtime, session, user)
    _log.warning(
        "unverified_account_claimed",
        user_id=str(user.id),
        provider=identity.provider,
        sessions_revoked=revoked,
    )


async def complete_login(
    runtime: Runtime, *, provider: str, state: str, code: str, binding: str | None
) -> str:
    """Finishes the provider's flow; returns where to send the browser next."""
    web = runtime.settings.web_url.rstrip("/")
    try:
        identity, next_path = await runtime.oauth.finish(
            provider, state=state, code=code, binding=binding
        )
        try:
            user = await _user_for(runtime, identity)
        except IntegrityError:
            # Two callbacks for one new identity raced; the winner's link is there now.
            user = await _user_for(runtime, identity)
    except OAuthError as error:
        _log.info("oauth_refused", provider=provider, code=error.code)
        return web + "/login?" + urlencode({"error": error.code})
    if user is None:
        _log.info("oauth_refused", provider=provider, code="oauth/unverified-email")
        return web + "/login?" + urlencode({"error": "oauth/unverified-email"})
    if user.disabled_at is not None:
        return web + "/login?" + urlencode({"error": "auth/account-disabled"})
    login_code = opaque.new_token()
    await runtime.redis.set(
        _code_key(login_code),
        json.dumps({"user_id": str(user.id), "provider": provider}),
        ex=LOGIN_CODE_TTL_SECONDS,
    )
    return web + "/login/complete?" + urlencode({"code": login_code, "next": next_path})


async def exchange_login_code(runtime: Runtime, *, code: str, client: ClientInfo) -> TokenPair:
    stored = await runtime.redis.getdel(_code_key(code))
    if stored is None:
        raise Unauthorized(
            "this login code is invalid, used or expired", code="auth/invalid-login-code"
        )
    details = json.loads(stored)
    async with runtime.database.transaction() as session:
        user = await repository.user(session, UUID(details["user_id"]))
        if user is None:
            raise Unauthorized(
                "this login code is invalid, used or expired", code="auth/invalid-login-code"
            )
        if user.disabled_at is not None:
            raise Forbidden("this account is disabled", code="auth/account-disabled")
        return await open_session(
            runtime, session, user=user, client=client, method=str(details["provider"])
        )
