"""Who may upload for a track: an admin, or the ARTIST who manages the track's artist."""

from __future__ import annotations

from spotilike.audio.models import KnownTrack
from spotilike.kit.auth import Principal
from spotilike.kit.errors import Forbidden

__all__ = ["may_manage", "require_manager"]


def may_manage(principal: Principal, track: KnownTrack) -> bool:
    if principal.has_role("ADMIN"):
        return True
    return principal.has_role("ARTIST") and principal.claims.get("artist_id") == str(
        track.artist_id
    )


def require_manager(principal: Principal, track: KnownTrack) -> None:
    if not may_manage(principal, track):
        raise Forbidden(
            "only an admin or the track's artist may upload or see its processing",
            code="audio/not-your-track",
        )
