"""The play path's routes: thin wrappers over ``service.stream`` and the rate limit."""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import StreamingResponse

from spotilike.kit.app import state_dependency
from spotilike.kit.auth import CurrentPrincipal, OptionalPrincipal, current_principal
from spotilike.kit.errors import Problem
from spotilike.streaming.api.problems import PROBLEMS
from spotilike.streaming.playback_tokens import MAX_TOKEN_LENGTH
from spotilike.streaming.ranges import RangeOutcome
from spotilike.streaming.schemas import MasterLinkView
from spotilike.streaming.service import stream
from spotilike.streaming.service.limits import charge
from spotilike.streaming.service.runtime import Runtime

__all__ = ["router"]

router = APIRouter(prefix="/stream", tags=["streaming"])

RuntimeDep = Annotated[Runtime, Depends(state_dependency("runtime", Runtime))]
UserParam = Annotated[str, Query(alias="u", max_length=36, description="The link's user id.")]
TokenParam = Annotated[
    str, Query(alias="t", max_length=MAX_TOKEN_LENGTH, description="The playback token.")
]
OptionalUserParam = Annotated[
    str | None, Query(alias="u", max_length=36, description="A master link's user id.")
]
OptionalTokenParam = Annotated[
    str | None,
    Query(alias="t", max_length=MAX_TOKEN_LENGTH, description="A master link's token."),
]

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
# Playlists carry tokens: never stored by a shared cache, never reused after they expire.
PLAYLIST_CACHE = "private, no-store"
# Segments never change under their versioned keys; their URLs live as long as the token.
SEGMENT_CACHE = "private, max-age=300, immutable"


@router.get(
    "/{track_id}/master.m3u8",
    summary="The master playlist: every variant this user may play, with signed links",
    description=(
        "With the JWT in `Authorization`, or with a master link's `u` and `t` (from "
        "`master-link`) for a player that cannot send headers. The JWT wins when both "
        "are present."
    ),
    response_class=Response,
    responses={200: {"content": {PLAYLIST_TYPE: {}}}, **PROBLEMS(401, 403, 404, 422, 429, 502)},
    # FastAPI appends this to the bearer requirement: the JWT or no header (a master link).
    openapi_extra={"security": [{}]},
)
async def master_playlist(
    track_id: UUID,
    principal: OptionalPrincipal,
    runtime: RuntimeDep,
    user: OptionalUserParam = None,
    token: OptionalTokenParam = None,
) -> Response:
    if principal is None and user is not None and token is not None:
        verified = stream.verify_master_link(runtime, user_id=user, token=token, track_id=track_id)
        headers = await charge(runtime, user=verified)
        body = await stream.master_by_link(runtime, user=verified, track_id=track_id)
        return _playlist(body, headers)
    principal = await current_principal(principal)
    headers = await charge(runtime, user=stream.user_of(principal))
    body = await stream.master(runtime, principal=principal, track_id=track_id)
    return _playlist(body, headers)


@router.get(
    "/{track_id}/master-link",
    summary="A signed link to master.m3u8 for a player that cannot send the JWT",
    response_model=MasterLinkView,
    responses=PROBLEMS(401, 403, 404, 422),
)
async def master_link(
    track_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep, response: Response
) -> MasterLinkView:
    link = await stream.master_link(runtime, principal=principal, track_id=track_id)
    # It is a credential for five minutes: no cache keeps it.
    response.headers["Cache-Control"] = PLAYLIST_CACHE
    return MasterLinkView(
        url=f"/stream/{track_id}/master.m3u8?{link.query}",
        expires_in_seconds=link.expires_in_seconds,
        qualities_kbps=list(link.qualities),
    )


@router.get(
    "/{track_id}/{quality}/index.m3u8",
    summary="A variant's media playlist, its segments signed",
    response_class=Response,
    responses={200: {"content": {PLAYLIST_TYPE: {}}}, **PROBLEMS(400, 403, 404, 422, 429)},
)
async def media_playlist(
    track_id: UUID, quality: str, user: UserParam, token: TokenParam, runtime: RuntimeDep
) -> Response:
    kbps = stream.parse_quality(quality)
    verified = stream.verify_link(
        runtime, user_id=user, token=token, track_id=track_id, quality=kbps
    )
    headers = await charge(runtime, user=verified)
    body = await stream.variant(runtime, user=verified, track_id=track_id, quality=kbps)
    return _playlist(body, headers)


@router.get(
    "/{track_id}/{quality}/{segment}",
    summary="One MPEG-TS segment",
    response_class=StreamingResponse,
    responses={200: {"content": {"video/mp2t": {}}}, **PROBLEMS(400, 403, 404, 422, 429)},
)
async def media_segment(
    track_id: UUID,
    quality: str,
    segment: str,
    *,
    user: UserParam,
    token: TokenParam,
    runtime: RuntimeDep,
) -> StreamingResponse:
    stream.check_segment_name(segment)
    kbps = stream.parse_quality(quality)
    verified = stream.verify_link(
        runtime, user_id=user, token=token, track_id=track_id, quality=kbps
    )
    headers = await charge(runtime, user=verified)
    body = await stream.segment(
        runtime, user=verified, track_id=track_id, quality=kbps, name=segment
    )
    headers |= {"Content-Length": str(body.size), "Cache-Control": SEGMENT_CACHE}
    return StreamingResponse(body, media_type="video/mp2t", headers=headers)


@router.get(
    "/{track_id}/peaks.json",
    summary="The track's waveform peaks (audiowaveform JSON), for drawing it",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/json": {}}}, **PROBLEMS(401, 403, 404, 422, 429)},
)
async def waveform(
    track_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> StreamingResponse:
    headers = await charge(runtime, user=stream.user_of(principal))
    body = await stream.peaks(runtime, principal=principal, track_id=track_id)
    headers |= {"Content-Length": str(body.size), "Cache-Control": "private, max-age=300"}
    return StreamingResponse(body, media_type="application/json", headers=headers)


@router.get(
    "/{track_id}/download",
    summary="The 320 kbps AAC file, with byte ranges (RFC 9110)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"audio/mp4": {}}},
        206: {"description": "A byte range."},
        **PROBLEMS(401, 403, 404, 416, 422, 429),
    },
)
async def download(
    track_id: UUID,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    range_header: Annotated[str | None, Header(alias="Range", max_length=1024)] = None,
    if_range: Annotated[str | None, Header(alias="If-Range", max_length=256)] = None,
) -> StreamingResponse:
    headers = await charge(runtime, user=stream.user_of(principal))
    result = await stream.download(
        runtime,
        principal=principal,
        track_id=track_id,
        range_header=range_header,
        if_range=if_range,
    )
    plan = result.plan
    headers |= {
        "Accept-Ranges": "bytes",
        "ETag": result.etag,
        "Last-Modified": format_datetime(result.info.modified_at.astimezone(UTC), usegmt=True),
        "Cache-Control": "private, max-age=300",
    }
    if plan.content_range is not None:
        headers["Content-Range"] = plan.content_range
    if plan.outcome is RangeOutcome.UNSATISFIABLE:
        raise Problem(
            f"The file has {plan.size} bytes; the requested range starts past its end.",
            status=416,
            code="streaming/range-not-satisfiable",
            headers=headers,
        )
    assert result.body is not None
    headers["Content-Length"] = str(plan.content_length)
    headers["Content-Disposition"] = f'attachment; filename="{track_id}.m4a"'
    return StreamingResponse(
        result.body, status_code=plan.status_code, media_type="audio/mp4", headers=headers
    )


def _playlist(body: str, headers: dict[str, str]) -> Response:
    return Response(
        content=body,
        media_type=PLAYLIST_TYPE,
        headers=headers | {"Cache-Control": PLAYLIST_CACHE},
    )
