"""The unsubscribe link: a signed token that turns off non-transactional mail."""

from __future__ import annotations

from spotilike.kit.errors import Problem
from spotilike.notifications import repository
from spotilike.notifications.service.rendering import DEFAULT_LOCALE, locale_for
from spotilike.notifications.service.runtime import Runtime

__all__ = ["InvalidUnsubscribeToken", "unsubscribe"]


class InvalidUnsubscribeToken(Problem):
    status = 400
    code = "notifications/invalid-unsubscribe-token"


async def unsubscribe(runtime: Runtime, *, token: str) -> str:
    """Opts the token's user out; the confirmation page in their language.

    A user we no longer know (erased) gets the same page: there is nothing left to send.
    """
    user_id = runtime.tokens.verify(token)
    if user_id is None:
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.")
    async with runtime.database.transaction() as session:
        known = await repository.unsubscribe(session, user_id)
        locale = locale_for(known.language) if known is not None else DEFAULT_LOCALE
    return runtime.renderer.page("unsubscribed", locale=locale)
