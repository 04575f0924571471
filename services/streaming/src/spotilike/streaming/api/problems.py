"""What each problem status means on the streaming routes, for the OpenAPI document."""

from spotilike.kit.openapi import ProblemResponses

__all__ = ["PROBLEMS"]

PROBLEMS = ProblemResponses(
    {
        400: "A malformed segment name, or a body that is not JSON.",
        401: "No bearer token, or an invalid one.",
        403: "Not allowed (the `code` says why: track unavailable or not ready, explicit "
        "content blocked, account disabled, quality above the setting, or a playback link "
        "tampered with, expired, or for another track, user or quality).",
        404: "No such track, quality, segment, download or play session.",
        409: "The play session belongs to another track.",
        416: "The Range starts past the end of the file.",
        422: "A malformed request.",
        429: "More than the per-user request rate, or too many events in one session.",
        502: "The stored media could not be read.",
    }
)
