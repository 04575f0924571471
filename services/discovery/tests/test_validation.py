"""Bad registrations are refused with problem details and change nothing."""

import json
from typing import Any

import httpx
import pytest
from discovery_support import JSON, registration

from spotilike.discovery.app import create_discovery_app
from spotilike.discovery.settings import DiscoverySettings

pytestmark = pytest.mark.integration


def _pointers(response: httpx.Response) -> list[str]:
    return [error["pointer"] for error in response.json()["errors"]]


async def _nothing_registered(registry: httpx.AsyncClient) -> bool:
    document = (await registry.get("/eureka/apps", headers=JSON)).json()
    return document["applications"]["application"] == []


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"hostName": "not a host"}, "/instance/hostName"),
        ({"hostName": "x" * 300}, "/instance/hostName"),
        ({"hostName": "evil\x00.example"}, "/instance/hostName"),
        ({"instanceId": "../../etc"}, "/instance/instanceId"),
        ({"instanceId": "id with space"}, "/instance/instanceId"),
        ({"port": {"$": 70000, "@enabled": "true"}}, "/instance/port/$"),
        ({"port": {"$": "eighty"}}, "/instance/port/$"),
        ({"status": "SLEEPING"}, "/instance/status"),
        ({"homePageUrl": "javascript:alert(1)"}, "/instance/homePageUrl"),
        ({"healthCheckUrl": "http://h/ a"}, "/instance/healthCheckUrl"),
        ({"healthCheckUrl": "h" * 3000}, "/instance/healthCheckUrl"),
        ({"metadata": {"bad key": "v"}}, "/instance/metadata"),
        ({"metadata": {"k": "line\nbreak"}}, "/instance/metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(65)}}, "/instance/metadata"),
        ({"leaseInfo": {"durationInSecs": 0}}, "/instance/leaseInfo/durationInSecs"),
        ({"leaseInfo": {"renewalIntervalInSecs": -1}}, "/instance/leaseInfo/renewalIntervalInSecs"),
        ({"app": "lower!"}, "/instance/app"),
        ({"lastDirtyTimestamp": "yesterday"}, "/instance/lastDirtyTimestamp"),
        ({"lastDirtyTimestamp": False}, "/instance/lastDirtyTimestamp"),
    ],
)
async def test_an_invalid_field_is_a_422_naming_it(
    registry: httpx.AsyncClient, fields: dict[str, Any], pointer: str
) -> None:
    body = registration()
    body["instance"].update(fields)
    response = await registry.post("/eureka/apps/CATALOG", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert pointer in _pointers(response)
    assert await _nothing_registered(registry)


async def test_the_body_app_must_be_the_url_app(registry: httpx.AsyncClient) -> None:
    response = await registry.post("/eureka/apps/USERS", json=registration("CATALOG"))
    assert response.status_code == 422
    assert _pointers(response) == ["/instance/app"]
    assert await _nothing_registered(registry)


async def test_unknown_top_level_members_are_refused(registry: httpx.AsyncClient) -> None:
    response = await registry.post(
        "/eureka/apps/CATALOG", json={**registration(), "roles": ["ADMIN"]}
    )
    assert response.status_code == 422
    assert "/roles" in _pointers(response)


async def test_unknown_instance_fields_are_dropped_not_stored(registry: httpx.AsyncClient) -> None:
    body = registration(injected="<script>")
    assert (await registry.post("/eureka/apps/CATALOG", json=body)).status_code == 204
    document = (await registry.get("/eureka/apps", headers=JSON)).json()
    [instance] = document["applications"]["application"][0]["instance"]
    assert "injected" not in instance


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"<instance", "application/xml", 400),
        (b"<instance/>", "application/xml", 422),
        (b"<registration><app>CATALOG</app></registration>", "application/xml", 422),
        (
            b'<?xml version="1.0"?><!DOCTYPE i [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><instance>&b;</instance>',
            "application/xml",
            400,
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE i [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<instance><app>&x;</app></instance>",
            "text/xml",
            400,
        ),
        (b"<instance>" + b"<a>" * 50 + b"</a>" * 50 + b"</instance>", "application/xml", 400),
        (b"app=CATALOG", "application/x-www-form-urlencoded", 415),
        (b'{"instance": {}}', "text/plain", 415),
        (b"[" * 30_000 + b"]" * 30_000, "application/json", 400),
        (b"[]", "application/json", 422),
        (b"null", "application/json", 422),
    ],
)
async def test_a_body_that_is_not_a_registration_is_refused(
    registry: httpx.AsyncClient, content: bytes, content_type: str, status: int
) -> None:
    response = await registry.post(
        "/eureka/apps/CATALOG", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert await _nothing_registered(registry)


async def test_an_oversized_body_is_413_before_it_is_read(registry: httpx.AsyncClient) -> None:
    body = registration(metadata={"big": "x" * 70_000})
    response = await registry.post("/eureka/apps/CATALOG", json=body)
    assert response.status_code == 413
    assert await _nothing_registered(registry)


@pytest.mark.parametrize(
    "path",
    [
        "/eureka/apps/bad%20name/127.0.0.1:catalog:9001",
        "/eureka/apps/CATALOG/bad%00id",
        "/eureka/apps/CATALOG/%3Cscript%3E",
        "/eureka/apps/CATALOG/" + "x" * 300,
    ],
)
async def test_bad_names_in_the_path_are_422(registry: httpx.AsyncClient, path: str) -> None:
    response = await registry.put(path)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["in"] == "path"


def test_the_openapi_document_describes_what_the_routes_answer() -> None:
    """Found by a schemathesis run: the registration schema pointed at ``#/$defs/...``,
    which an OpenAPI document does not have; reads answered XML the document did not list;
    writes answer no body, not JSON; UNKNOWN was offered as a status override."""
    document = create_discovery_app(DiscoverySettings()).openapi()
    register = document["paths"]["/eureka/apps/{app}"]["post"]
    body_schema = register["requestBody"]["content"]["application/json"]["schema"]
    assert "$defs" not in json.dumps(body_schema)
    assert body_schema["properties"]["instance"]["properties"]["app"]["pattern"]
    read = document["paths"]["/eureka/apps/{app}"]["get"]["responses"]["200"]["content"]
    assert set(read) == {"application/json", "application/xml"}
    renew = document["paths"]["/eureka/apps/{app}/{instance_id}"]["put"]["responses"]["200"]
    assert "content" not in renew
    override = document["paths"]["/eureka/apps/{app}/{instance_id}/status"]["put"]
    (value,) = [p for p in override["parameters"] if p["name"] == "value"]
    assert set(value["schema"]["enum"]) == {"UP", "DOWN", "STARTING", "OUT_OF_SERVICE"}
