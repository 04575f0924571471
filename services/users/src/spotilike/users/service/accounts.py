"""Accounts: sign-up, sign-in, sign-out, the profile and settings, deletion."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import structlog
import uuid_utils.compat as uuid_compat
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts.events.users import UserDeletedV1, UserRegisteredV1
from spotilike.kit.auth import Principal
from spotilike.kit.errors import Conflict, Forbidden, NotFound, Unauthorized
from spotilike.users import repository
from spotilike.users.email_address import normalize_email
from spotilike.users.models import Device, Role, User
from spotilike.users.risk import ClientSignals, Decision, RiskAssessment
from spotilike.users.schemas import (
    ProfileUpdate,
    Registration,
    SettingsUpdate,
    TokenPair,
)
from spotilike.users.service.events import publish_user_updated
from spotilike.users.service.policy import enforce_password_policy
from spotilike.users.service.runtime import Runtime
from spotilike.users.service.sessions import ClientInfo, open_session, revoke_all_sessions
from spotilike.users.service.verification import request_email_verification

__all__ = [
    "NewAccount",
    "delete_account",
    "login",
    "logout",
    "profile",
    "register",
    "update_profile",
    "update_settings",
]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class NewAccount:
    user: User
    tokens: TokenPair


def _refuse_risky(assessment: RiskAssessment) -> None:
    if assessment.decision is Decision.BLOCK:
        raise Forbidden("this request looks automated and was refused", code="risk/blocked")
    if assessment.decision is Decision.CHALLENGE:
        raise Forbidden(
            "this request needs an extra check; reload the form and try again in a moment",
            code="risk/challenge-required",
            extensions={"challenge": "form"},
        )


async def _assess_and_record(
    runtime: Runtime,
    *,
    action: str,
    email: str,
    client: ClientInfo,
    honeypot: str | None,
    form_token: str | None,
    user_id: UUID | None,
) -> RiskAssessment:
    assessment = await runtime.risk.assess(
        ClientSignals(
            action="register" if action == "register" else "login",
            ip=client.ip,
            email=email,
            user_agent=client.user_agent,
            accept_language=client.accept_language,
            fingerprint=client.fingerprint,
            honeypot=honeypot,
            form_token=form_token,
        )
    )
    # Its own transaction: the record must survive the refusal that may follow.
    async with runtime.database.transaction() as session:
        await repository.add(
            session,
            Device(
                id=uuid_compat.uuid7(),
                user_id=user_id,
                action=action,
                ip=client.ip,
                user_agent=(client.user_agent or "")[:512] or None,
                accept_language=(client.accept_language or "")[:256] or None,
                fingerprint_hash=(
                    hashlib.sha256(client.fingerprint.encode()).hexdigest()
                    if client.fingerprint
                    else None
                ),
                decision=assessment.decision.value,
                score=assessment.score,
                reasons=list(assessment.reasons),
            ),
        )
    if assessment.decision is not Decision.ALLOW:
        _log.info(
            "risk_refused",
            action=action,
            decision=assessment.decision.value,
            reasons=list(assessment.reasons),
        )
    return assessment


async def register(runtime: Runtime, *, request: Registration, client: ClientInfo) -> NewAccount:
    email = normalize_email(str(request.email))
    enforce_password_policy(request.password, email=email)
    assessment = await _assess_and_record(
        runtime,
        action="register",
        email=email,
        client=client,
        honeypot=request.website,
        form_token=request.form_token,
        user_id=None,
    )
    _refuse_risky(assessment)
    password_hash = await runtime.hasher.hash(request.password)
    try:
        async with runtime.database.transaction() as session:
            user = User(
                id=uuid_compat.uuid7(),
                email=str(request.email),
                email_normalized=email,
                email_verified=False,
                password_hash=password_hash,
                display_name=request.display_name,
                language=request.language,
                country=request.country,
                roles=[Role.USER.value],
                revision=0,
            )
            await repository.add(session, user)
            await runtime.outbox.add(
                session,
                UserRegisteredV1(
                    user_id=user.id,
                    email=user.email,
                    display_name=user.display_name,
                    language=user.language,
                    country=user.country,
                ),
                key=str(user.id),
                subject=str(user.id),
            )
            await request_email_verification(runtime, session, user=user)
            tokens = await open_session(
                runtime, session, user=user, client=client, method="password"
            )
    except IntegrityError:
        raise Conflict(
            "an account with this email already exists; sign in or reset the password",
            code="email-taken",
        ) from None
    _log.info("user_registered", user_id=str(user.id))
    return NewAccount(user=user, tokens=tokens)


async def login(
    runtime: Runtime,
    *,
    email: str,
    password: str,
    client: ClientInfo,
    honeypot: str | None,
    form_token: str | None,
) -> TokenPair:
    """Unknown email and wrong password answer alike, and cost one Argon2 verify each."""
    email = normalize_email(email)
    await runtime.login_throttle.check(email=email, ip=client.ip)
    # The primary, not a replica: a sign-in right after sign-up must find the account.
    async with runtime.database.write_session() as session:
        user = await repository.user_by_email(session, email)
    assessment = await _assess_and_record(
        runtime,
        action="login",
        email=email,
        client=client,
        honeypot=honeypot,
        form_token=form_token,
        user_id=user.id if user else None,
    )
    _refuse_risky(assessment)
    stored_hash = user.password_hash if user is not None else None
    if stored_hash is None:
        await runtime.hasher.verify_dummy(password)
    if (
        user is None
        or stored_hash is None
        or not await runtime.hasher.verify(stored_hash, password)
    ):
        await runtime.login_throttle.record_failure(email=email, ip=client.ip)
        raise Unauthorized("the email or the password is wrong", code="auth/invalid-credentials")
    await runtime.login_throttle.record_success(email=email)
    if user.disabled_at is not None:
        raise Forbidden("this account is disabled", code="auth/account-disabled")
    stale = runtime.hasher.needs_rehash(stored_hash)
    new_hash = await runtime.hasher.hash(password) if stale else None
    async with runtime.database.transaction() as session:
        current = await repository.user_for_update(session, user.id)
        if current is None:
            raise Unauthorized(
                "the email or the password is wrong", code="auth/invalid-credentials"
            )
        if new_hash is not None:
            current.password_hash = new_hash
            _log.info("password_rehashed", user_id=str(user.id))
        return await open_session(runtime, session, user=current, client=client, method="password")


async def logout(runtime: Runtime, session: AsyncSession, *, principal: Principal) -> None:
    """Denylists this access token until it expires and ends its session."""
    await runtime.denylist.deny(principal.token_id, principal.expires_at)
    session_id = principal.claims.get("sid")
    if isinstance(session_id, str):
        try:
            sid = UUID(session_id)
        except ValueError:
            return
        await repository.revoke_sessions(
            session,
            user_id=UUID(principal.subject),
            reason="logout",
            now=datetime.now(UTC),
            session_ids=[sid],
        )
        for token in await repository.live_access_tokens(session, [sid], now=datetime.now(UTC)):
            await runtime.denylist.deny(token.jti, token.expires_at)


async def profile(session: AsyncSession, *, user_id: UUID) -> User:
    user = await repository.user(session, user_id)
    if user is None:
        raise NotFound("this account no longer exists", code="user-not-found")
    return user


async def update_profile(
    runtime: Runtime, session: AsyncSession, *, user_id: UUID, changes: ProfileUpdate
) -> User:
    user = await repository.user_for_update(session, user_id)
    if user is None:
        raise NotFound("this account no longer exists", code="user-not-found")
    # null means "leave as it is", like an absent field: every profile field but the
    # avatar and the country must keep a value.
    fields = {
        name: value
        for name, value in changes.model_dump(exclude_unset=True).items()
        if value is not None or name in ("avatar_url", "country")
    }
    if "avatar_url" in fields:
        fields["avatar_url"] = str(changes.avatar_url) if changes.avatar_url else None
    return await _apply(runtime, session, user, fields)


async def update_settings(
    runtime: Runtime, session: AsyncSession, *, user_id: UUID, changes: SettingsUpdate
) -> User:
    user = await repository.user_for_update(session, user_id)
    if user is None:
        raise NotFound("this account no longer exists", code="user-not-found")
    fields = {k: v for k, v in changes.model_dump(exclude_unset=True).items() if v is not None}
    return await _apply(runtime, session, user, fields)


async def _apply(
    runtime: Runtime, session: AsyncSession, user: User, fields: dict[str, object]
) -> User:
    changed = False
    for name, value in fields.items():
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed = True
    if changed:
        user.updated_at = datetime.now(UTC)
        await publish_user_updated(runtime, session, user)
    return user


async def delete_account(
    runtime: Runtime, session: AsyncSession, *, user_id: UUID, password: str | None
) -> None:
    """Erases the account here and tells every other service to erase theirs."""
    user = await repository.user_for_update(session, user_id)
    if user is None:
        raise NotFound("this account no longer exists", code="user-not-found")
    if user.password_hash is not None and (
        password is None or not await runtime.hasher.verify(user.password_hash, password)
    ):
        raise Forbidden(
            "confirm the deletion with the account's password", code="auth/password-required"
        )
    await revoke_all_sessions(runtime, session, user_id=user.id, reason="account-deleted")
    await runtime.outbox.add(
        session, UserDeletedV1(user_id=user.id), key=str(user.id), subject=str(user.id)
    )
    await repository.delete_user(session, user.id)
    _log.info("user_deleted", user_id=str(user.id))
