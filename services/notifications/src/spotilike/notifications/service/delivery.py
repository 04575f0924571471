"""The delivery worker: claims due emails, sends them, settles each attempt.

A claim commits before anything is sent, so no transaction stays open across a slow
SMTP server, and each outcome commits on its own. Transient failures come back with
exponential backoff and jitter until ``max_attempts``; a permanent refusal (5xx) gets
``permanent_failure_attempts`` (1 by default: RFC 5321 says it will be refused again;
more for relays known to answer 5xx for passing trouble). A template that cannot render,
or the last failed attempt, ends the email dead, and the
``notifications.dlq`` event goes out through the outbox in that same transaction.

Delivery is at least once: a worker killed after the provider accepted an email but
before it recorded that, sends it again once the lease expires. The Message-ID is the
same on every attempt, so receiving systems can drop the duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta
from email.utils import parseaddr

import structlog
from jinja2 import TemplateError
from prometheus_client import Counter

from spotilike.contracts.events.notifications import EmailDeadV1
from spotilike.notifications import repository
from spotilike.notifications.models import Email
from spotilike.notifications.providers import (
    OutgoingEmail,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from spotilike.notifications.service.rendering import TEMPLATES
from spotilike.notifications.service.runtime import Runtime

__all__ = ["EMAILS", "DeliveryWorker", "backoff", "outgoing"]

_log = structlog.get_logger(__name__)

EMAILS = Counter(
    "spotilike_emails_total",
    "Email send attempts by template and outcome (sent, retried, dead)",
    ["template", "outcome", "provider"],
)


def backoff(attempt: int, *, base: float, maximum: float) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with equal jitter.

    Half the bound is fixed and half random, so retries spread out yet never come
    straight back at a server that just refused.
    """
    bound: float = min(maximum, base * 2.0 ** (attempt - 1))
    return bound / 2 + random.uniform(0, bound / 2)  # noqa: S311 - jitter, not security


def outgoing(runtime: Runtime, email: Email) -> OutgoingEmail:
    """The email as the provider gets it, rendered from the queued row."""
    kind = TEMPLATES[email.template]
    headers: dict[str, str] = {"X-Spotilike-Email-Id": str(email.id)}
    unsubscribe_url = None
    if not kind.transactional and email.user_id is not None:
        unsubscribe_url = runtime.unsubscribe_url(runtime.tokens.issue(email.user_id))
        # RFC 2369 and RFC 8058: mail clients show their own one-click unsubscribe.
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    rendered = runtime.renderer.render(
        email.template, locale=email.locale, data=email.data, unsubscribe_url=unsubscribe_url
    )
    domain = parseaddr(runtime.settings.sender)[1].rpartition("@")[2] or "spotilike.dev"
    return OutgoingEmail(
        sender=runtime.settings.sender,
        recipient=email.recipient,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=f"<{email.id}@{domain}>",
        language=email.locale,
        headers=headers,
    )


class DeliveryWorker:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._settings = runtime.settings
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(self._settings.delivery_concurrency)
        runtime.wake_delivery.append(self._wake.set)

    async def run(self) -> None:
        provider = self._runtime.provider
        await provider.start()
        try:
            while not self._stopping.is_set():
                handled = await self.run_once()
                if handled < self._settings.delivery_batch:
                    await self._idle()
        finally:
            await provider.aclose()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._settings.poll_seconds)
        self._wake.clear()

    async def run_once(self) -> int:
        """Claims one batch and settles every email in it; how many it claimed."""
        lease = timedelta(seconds=self._settings.send_lease_seconds)
        async with self._runtime.database.transaction() as session:
            claimed = await repository.claim_due(
                session, lease=lease, limit=self._settings.delivery_batch
            )
            session.expunge_all()
        await asyncio.gather(*(self._deliver(email) for email in claimed))
        return len(claimed)

    async def _deliver(self, email: Email) -> None:
        async with self._slots:
            try:
                message = outgoing(self._runtime, email)
            except (TemplateError, KeyError, ValueError) as broken:
                await self._dead(email, f"cannot render {email.template!r}: {broken}")
                return
            try:
                message_id = await self._runtime.provider.send(message)
            except PermanentDeliveryError as refused:
                if email.attempts >= self._settings.permanent_failure_attempts:
                    await self._dead(email, str(refused))
                else:
                    await self._retry(email, str(refused))
            except TransientDeliveryError as failed:
                if email.attempts >= self._settings.max_attempts:
                    await self._dead(email, str(failed))
                else:
                    await self._retry(email, str(failed))
            else:
                await self._sent(email, message_id)

    async def _sent(self, email: Email, message_id: str | None) -> None:
        async with self._runtime.database.transaction() as session:
            settled = await repository.mark_sent(
                session, email_id=email.id, attempt=email.attempts, provider_message_id=message_id
            )
        self._count(email, "sent")
        _log.info(
            "email_sent",
            email_id=str(email.id),
            template=email.template,
            attempt=email.attempts,
            settled=settled,
        )

    async def _retry(self, email: Email, error: str) -> None:
        delay = backoff(
            email.attempts,
            base=self._settings.retry_base_seconds,
            maximum=self._settings.retry_max_seconds,
        )
        async with self._runtime.database.transaction() as session:
            await repository.schedule_retry(
                session,
                email_id=email.id,
                attempt=email.attempts,
                error=error[:2000],
                delay=timedelta(seconds=delay),
            )
        self._count(email, "retried")
        _log.warning(
            "email_retry_scheduled",
            email_id=str(email.id),
            template=email.template,
            attempt=email.attempts,
            retry_in_seconds=round(delay, 3),
            error=error,
        )

    async def _dead(self, email: Email, error: str) -> None:
        async with self._runtime.database.transaction() as session:
            settled = await repository.mark_dead(
                session, email_id=email.id, attempt=email.attempts, error=error[:2000]
            )
            if settled:
                await self._runtime.outbox.add(
                    session,
                    EmailDeadV1(
                        email_id=email.id,
                        template=email.template,
                        attempts=email.attempts,
                        last_error=error[:2000],
                    ),
                    key=str(email.id),
                )
        self._count(email, "dead")
        _log.error(
            "email_dead",
            email_id=str(email.id),
            template=email.template,
            attempts=email.attempts,
            error=error,
        )

    def _count(self, email: Email, outcome: str) -> None:
        EMAILS.labels(email.template, outcome, self._runtime.provider.name).inc()
