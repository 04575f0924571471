"""Kafka consumers inside the users service.

``user.registered`` → a Stripe Customer for the new user. Registration never waits on
Stripe: the event is in the outbox with the account, and this consumer creates the
customer when it gets to it. The idempotency key is the user id, so a redelivered event,
or a crash between Stripe's answer and our commit, still makes one customer; Stripe
outages are retried with backoff by the consumer runner and end in the DLQ if they last.
"""

from __future__ import annotations

from uuid import UUID

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts.events.base import EventData
from spotilike.contracts.events.users import UserRegisteredV1
from spotilike.kit.db import Database
from spotilike.kit.events import CloudEvent, ConsumerRunner, Handler, RetryPolicy
from spotilike.users.models import User, messaging
from spotilike.users.stripe_customers import StripeCustomers

__all__ = ["STRIPE_GROUP", "StripeCustomerConsumer", "stripe_customer_handler"]

_log = structlog.get_logger(__name__)
STRIPE_GROUP = "users-stripe-customers"


def stripe_customer_handler(stripe: StripeCustomers) -> Handler:
    async def create_customer(session: AsyncSession, event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, UserRegisteredV1)
        user_id: UUID = payload.user_id
        existing = await session.get(User, user_id)
        if existing is None:
            _log.info("stripe_customer_skipped", user_id=str(user_id), reason="user deleted")
            return
        if existing.stripe_customer_id:
            return
        customer_id = await stripe.create_customer(
            user_id=str(user_id), email=payload.email, name=payload.display_name
        )
        await session.execute(
            update(User).where(User.id == user_id).values(stripe_customer_id=customer_id)
        )
        _log.info("stripe_customer_created", user_id=str(user_id))

    return create_customer


class StripeCustomerConsumer:
    """The consumer runner and the Stripe client it owns, closed together."""

    def __init__(
        self,
        *,
        database: Database,
        bootstrap_servers: str,
        stripe: StripeCustomers,
        topic_prefix: str = "",
    ) -> None:
        self._stripe = stripe
        self.runner = ConsumerRunner(
            group=topic_prefix + STRIPE_GROUP,
            bootstrap_servers=bootstrap_servers,
            database=database,
            tables=messaging,
            handlers={topic_prefix + UserRegisteredV1.topic: stripe_customer_handler(stripe)},
            retry=RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=30.0),
        )

    async def run(self) -> None:
        try:
            await self.runner.run()
        finally:
            await self._stripe.aclose()

    def stop(self) -> None:
        self.runner.stop()
