"""Eureka's REST API under ``/eureka``: what Eureka clients call, with Eureka's statuses.

Register answers 204, renew/cancel/status 200, and an unknown instance 404, which is how
a renewing client learns that it must register again. Reads answer XML unless JSON is
preferred (:mod:`spotilike.discovery.api.codec`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from spotilike.discovery.api.access import require_reader, require_writer
from spotilike.discovery.api.codec import JSON, XML, eureka_response, xml_document
from spotilike.discovery.schemas import APP_NAME_PATTERN, INSTANCE_ID_PATTERN, RegistrationIn
from spotilike.discovery.service import Registry
from spotilike.kit.app import state_dependency
from spotilike.kit.discovery import InstanceStatus
from spotilike.kit.errors import Problem
from spotilike.kit.openapi import ProblemResponses

__all__ = ["router"]

PROBLEMS = ProblemResponses(
    {
        400: "The body is not well-formed JSON or XML.",
        401: "The registry's credentials are required and were missing or wrong.",
        404: "No such app or instance: a renewing client should register again.",
        406: "Neither JSON nor XML is acceptable to the client.",
        415: "The body is neither application/json nor application/xml.",
        422: "A field of the registration or a parameter is invalid; see 'errors'.",
    }
)

_XML_BODY_TYPES = frozenset({XML, "text/xml"})

_registry = state_dependency("registry", Registry)
RegistryDep = Annotated[Registry, Depends(_registry)]
App = Annotated[str, Path(pattern=APP_NAME_PATTERN)]
InstanceId = Annotated[str, Path(pattern=INSTANCE_ID_PATTERN)]
# UNKNOWN is a status an instance can be in, not one to put it in.
OverrideValue = Literal["UP", "DOWN", "STARTING", "OUT_OF_SERVICE"]
Dirty = Annotated[int | None, Query(alias="lastDirtyTimestamp", ge=0, le=2**53)]

_EUREKA_DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Eureka's document: XML unless the Accept header prefers JSON.",
        "content": {JSON: {"schema": {"type": "object"}}, XML: {"schema": {"type": "string"}}},
    }
}
_NO_BODY: dict[int | str, dict[str, Any]] = {200: {"description": "Done; no body."}}

_reads = APIRouter(
    dependencies=[Depends(require_reader)],
    responses=PROBLEMS(401, 406) | _EUREKA_DOCUMENT,
    default_response_class=Response,
)
_writes = APIRouter(
    dependencies=[Depends(require_writer)],
    responses=PROBLEMS(401) | _NO_BODY,
    default_response_class=Response,
)


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` written in place. In an OpenAPI document a
    ``#/$defs/...`` reference is resolved against the whole document, where there are no
    such definitions, so clients and fuzzers could not read the body's schema. The route
    reads its body itself (for its 415), so FastAPI does not put the model in components."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return resolve(definitions[reference.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    inlined: dict[str, Any] = resolve(schema)
    return inlined


_REGISTRATION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "Eureka's InstanceInfo in its JSON rendering, or as XML (``<instance>``, "
            "XStream's rendering, as Eureka's REST API takes it). The renderings of other "
            "Eureka clients are taken too: numbers and flags as strings, a bare port number."
        ),
        "content": {
            JSON: {"schema": _inlined(RegistrationIn.model_json_schema())},
            XML: {"schema": {"type": "string"}},
        },
    }
}


async def _registration(request: Request) -> RegistrationIn:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw: Any
    if content_type in _XML_BODY_TYPES:
        raw = xml_document(await request.body())
    elif content_type == JSON:
        try:
            raw = json.loads(await request.body())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Problem(
                f"The body is not JSON: {exc}", code="discovery/bad-json", status=400
            ) from None
        except RecursionError:
            raise Problem(
                "The JSON nests too deeply; an InstanceInfo is a few levels deep.",
                code="discovery/bad-json",
                status=400,
            ) from None
    else:
        raise Problem(
            "Register with an application/json or application/xml body, as Eureka's clients do.",
            code="discovery/unsupported-media-type",
            status=415,
        )
    try:
        return RegistrationIn.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None


@_writes.post(
    "/eureka/apps/{app}",
    status_code=204,
    summary="Register an instance (or replace its registration)",
    openapi_extra=_REGISTRATION_BODY,
    responses=PROBLEMS(400, 415, 422),
)
async def register(app: App, request: Request, registry: RegistryDep) -> Response:
    body = await _registration(request)
    await registry.register(app=app, instance=body.instance)
    return Response(status_code=204)


@_writes.put(
    "/eureka/apps/{app}/{instance_id}",
    summary="Renew an instance's lease (heartbeat)",
    responses=PROBLEMS(404, 422),
)
async def renew(
    app: App,
    instance_id: InstanceId,
    registry: RegistryDep,
    last_dirty: Dirty = None,
) -> Response:
    await registry.renew(app=app, instance_id=instance_id, dirty_ms=last_dirty)
    return Response(status_code=200)


@_writes.delete(
    "/eureka/apps/{app}/{instance_id}",
    summary="Cancel an instance's lease",
    responses=PROBLEMS(404, 422),
)
async def cancel(app: App, instance_id: InstanceId, registry: RegistryDep) -> Response:
    await registry.cancel(app=app, instance_id=instance_id)
    return Response(status_code=200)


@_writes.put(
    "/eureka/apps/{app}/{instance_id}/status",
    summary="Override an instance's status (OUT_OF_SERVICE takes it out of rotation)",
    responses=PROBLEMS(404, 422),
)
async def override_status(
    app: App,
    instance_id: InstanceId,
    registry: RegistryDep,
    value: Annotated[OverrideValue, Query(description="The status to hold the instance in.")],
) -> Response:
    await registry.override_status(app=app, instance_id=instance_id, status=InstanceStatus(value))
    return Response(status_code=200)


@_writes.delete(
    "/eureka/apps/{app}/{instance_id}/status",
    summary="Remove a status override (optionally naming the status to return to)",
    responses=PROBLEMS(404, 422),
)
async def remove_override(
    app: App,
    instance_id: InstanceId,
    registry: RegistryDep,
    value: Annotated[InstanceStatus | None, Query()] = None,
) -> Response:
    await registry.remove_override(app=app, instance_id=instance_id, status=value)
    return Response(status_code=200)


@_reads.get("/eureka/apps", summary="Every registered instance, by app")
@_reads.get("/eureka/apps/", include_in_schema=False)
async def applications(request: Request, registry: RegistryDep) -> Response:
    return eureka_response(request, "applications", await registry.applications())


@_reads.get("/eureka/apps/delta", summary="What changed in the last few minutes")
async def delta(request: Request, registry: RegistryDep) -> Response:
    return eureka_response(request, "applications", await registry.delta())


@_reads.get("/eureka/apps/{app}", summary="One app's instances", responses=PROBLEMS(404, 422))
async def application(app: App, request: Request, registry: RegistryDep) -> Response:
    return eureka_response(request, "application", await registry.application(app))


@_reads.get(
    "/eureka/apps/{app}/{instance_id}",
    summary="One instance of an app",
    responses=PROBLEMS(404, 422),
)
async def app_instance(
    app: App, instance_id: InstanceId, request: Request, registry: RegistryDep
) -> Response:
    document = await registry.instance(instance_id, app=app)
    return eureka_response(request, "instance", document)


@_reads.get(
    "/eureka/instances/{instance_id}",
    summary="One instance, whatever its app",
    responses=PROBLEMS(404, 422),
)
async def instance(instance_id: InstanceId, request: Request, registry: RegistryDep) -> Response:
    return eureka_response(request, "instance", await registry.instance(instance_id))


@_reads.get("/eureka/vips/{vip}", summary="Instances by VIP address", responses=PROBLEMS(422))
async def by_vip(
    vip: Annotated[str, Path(pattern=APP_NAME_PATTERN)], request: Request, registry: RegistryDep
) -> Response:
    return eureka_response(request, "applications", await registry.by_vip(vip, secure=False))


@_reads.get(
    "/eureka/svips/{vip}", summary="Instances by secure VIP address", responses=PROBLEMS(422)
)
async def by_secure_vip(
    vip: Annotated[str, Path(pattern=APP_NAME_PATTERN)], request: Request, registry: RegistryDep
) -> Response:
    return eureka_response(request, "applications", await registry.by_vip(vip, secure=True))


router = APIRouter()
router.include_router(_writes)
router.include_router(_reads)
