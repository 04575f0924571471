"""The Stripe customer of each Spotilike user.

Calls go through the stripe SDK's async API over aiohttp, which the kit already depends on
(the SDK's httpx client would bring httpx into production for this alone). The SDK retries
connection errors, timeouts, 409 and 5xx answers itself, with backoff and the same
idempotency key; whatever still fails after that is raised as :class:`StripeUnavailable`, so
the event consumer's own retry, backoff and dead-letter queue take over. A request Stripe
refuses is :class:`StripeRejected`: sent again unchanged it would be refused again.

The API key is handed to the SDK and kept nowhere else; no message raised from here
contains it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import aiohttp
import stripe

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from stripe.params import CustomerCreateParams

    from spotilike.users.settings import UsersSettings

__all__ = ["StripeCustomers", "StripeRejected", "StripeUnavailable"]

_T = TypeVar("_T")


class StripeUnavailable(Exception):  # noqa: N818 - the name is the public API
    """Stripe was not reached, failed, or asked us to slow down: worth trying again later."""


class StripeRejected(Exception):  # noqa: N818 - the name is the public API
    """Stripe refused the request (invalid, unauthorised, conflicting idempotency key)."""


class StripeCustomers:
    """Creates Stripe customers; ``api_base`` None talks to Stripe itself.

    Call :meth:`aclose` when done: it closes the HTTP connections, which belong to the
    event loop that first used them.
    """

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str | None,
        max_network_retries: int = 3,
        timeout_seconds: float = 10,
    ) -> None:
        self._http = stripe.AIOHTTPClient(timeout=aiohttp.ClientTimeout(total=timeout_seconds))
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base is not None else {},
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    @classmethod
    def from_settings(cls, settings: UsersSettings) -> StripeCustomers:
        return cls(
            api_key=settings.stripe_api_key.get_secret_value(),
            api_base=settings.stripe_api_base,
        )

    async def create_customer(self, *, user_id: str, email: str, name: str | None) -> str:
        """Create the customer of ``user_id`` and return its id.

        The idempotency key is derived from the user id, so a redelivered event gets the
        customer the first delivery created instead of a second one. Stripe keeps keys for
        24 hours: past that, only the caller's own record of the customer id prevents a
        duplicate.
        """
        params: CustomerCreateParams = {
            "email": email,
            "metadata": {"spotilike_user_id": user_id},
        }
        if name is not None:
            params["name"] = name
        customer = await _translate_errors(
            self._client.v1.customers.create_async(
                params, {"idempotency_key": f"customer-{user_id}"}
            )
        )
        return customer.id

    async def aclose(self) -> None:
        # stripe 16 ships this method without annotations.
        await self._http.close_async()  # type: ignore[no-untyped-call]


async def _translate_errors(request: Awaitable[_T]) -> _T:
    try:
        return await request
    except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as error:
        raise StripeUnavailable(f"Stripe unavailable: {_describe(error)}") from error
    except stripe.StripeError as error:
        raise StripeRejected(f"Stripe refused the request: {_describe(error)}") from error


def _describe(error: stripe.StripeError) -> str:
    status = f"HTTP {error.http_status}" if error.http_status is not None else "no response"
    return f"{type(error).__name__} ({status}): {error}"
