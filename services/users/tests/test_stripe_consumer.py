"""A Stripe Customer for every new user: through the outbox, Kafka and localstripe."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import pytest
import stripe
from stripe_fixtures import LocalStripe
from users_support import Listener, serve, unique_email

from spotilike.tools.pytest_plugin import ScratchDatabase, ScratchTopics
from spotilike.users.app import create_users_app
from spotilike.users.settings import UsersSettings

pytestmark = pytest.mark.integration


async def stripe_customer_of(database: ScratchDatabase, email: str) -> str | None:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        value: str | None = await connection.fetchval(
            "SELECT stripe_customer_id FROM users WHERE email_normalized = $1", email
        )
        return value
    finally:
        await connection.close()


async def test_a_new_user_gets_one_stripe_customer_without_waiting_for_it(
    settings_factory: Callable[..., UsersSettings],
    users_database: ScratchDatabase,
    kafka_topics: ScratchTopics,
    localstripe: LocalStripe,
) -> None:
    await kafka_topics.create("user.registered", "user.registered.dlq")
    settings = settings_factory(
        stripe_api_base=localstripe.api_base, stripe_api_key=localstripe.api_key
    )
    app = create_users_app(settings, topic_prefix=kafka_topics.prefix)
    email = unique_email()
    client: Listener
    async with serve(app) as client:
        response = await client.register(email)
        assert response.status_code == 201
        # Registration answered before any customer existed: it never waits on Stripe.
        user_id = response.json()["user"]["id"]
        customer_id = None
        for _ in range(300):
            customer_id = await stripe_customer_of(users_database, email)
            if customer_id:
                break
            await asyncio.sleep(0.1)
    assert customer_id is not None
    assert customer_id.startswith("cus_")
    sdk = stripe.StripeClient(localstripe.api_key, base_addresses={"api": localstripe.api_base})
    customer = await asyncio.to_thread(sdk.v1.customers.retrieve, customer_id)
    assert customer.email == email
    assert customer.metadata["spotilike_user_id"] == user_id


async def test_registration_works_while_stripe_is_down(
    users_app: Callable[..., object], users_database: ScratchDatabase
) -> None:
    email = unique_email()
    async with users_app(stripe_api_base="http://127.0.0.1:9") as client:  # type: ignore[attr-defined]
        response = await client.register(email)
    assert response.status_code == 201
    assert await stripe_customer_of(users_database, email) is None
