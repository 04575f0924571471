"""Who may change what: admins everything, an artist's manager that artist's catalog."""

from __future__ import annotations

from spotilike.catalog.models import Artist
from spotilike.kit.auth import Principal
from spotilike.kit.errors import Forbidden

__all__ = ["can_edit", "is_admin", "require_admin", "require_editor"]


def is_admin(principal: Principal | None) -> bool:
    return principal is not None and principal.has_role("ADMIN")


def can_edit(principal: Principal | None, artist: Artist) -> bool:
    """ADMIN, or an ARTIST who manages ``artist``.

    Management is known two ways that agree in steady state: the ``artist_id`` claim the
    users service puts in an ARTIST's token when an admin links them, and the artist's
    ``user_id`` set by a catalog admin.
    """
    if principal is None:
        return False
    if is_admin(principal):
        return True
    if not principal.has_role("ARTIST"):
        return False
    if principal.claims.get("artist_id") == str(artist.id):
        return True
    return artist.user_id is not None and str(artist.user_id) == principal.subject


def require_editor(principal: Principal, artist: Artist) -> None:
    if not can_edit(principal, artist):
        raise Forbidden(
            "only an admin or this artist's manager may change its catalog",
            code="catalog/not-your-artist",
        )


def require_admin(principal: Principal) -> None:
    if not is_admin(principal):
        raise Forbidden("This action needs the ADMIN role.", code="auth/missing-role")
