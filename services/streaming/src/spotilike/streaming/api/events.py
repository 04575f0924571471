"""Playback reports from players."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from spotilike.kit.app import state_dependency
from spotilike.kit.auth import CurrentPrincipal
from spotilike.streaming.api.problems import PROBLEMS
from spotilike.streaming.schemas import PlaybackEventIn, PlaySessionView
from spotilike.streaming.service import playback, stream
from spotilike.streaming.service.limits import charge
from spotilike.streaming.service.runtime import Runtime

__all__ = ["router"]

router = APIRouter(prefix="/stream", tags=["playback events"])

RuntimeDep = Annotated[Runtime, Depends(state_dependency("runtime", Runtime))]


@router.post(
    "/{track_id}/events",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Report a play session's start, progress or end",
    responses=PROBLEMS(400, 401, 403, 404, 409, 422, 429),
)
async def report(
    track_id: UUID,
    event: PlaybackEventIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    response: Response,
) -> PlaySessionView:
    user = stream.user_of(principal)
    response.headers.update(await charge(runtime, user=user))
    return await playback.record_event(
        runtime,
        user_id=UUID(user),
        track_id=track_id,
        event=event,
        artist_id=stream.artist_of(principal),
        admin=principal.has_role("ADMIN"),
    )
