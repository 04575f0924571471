"""Eureka's REST operations against the registry, on the stack's Valkey."""

import asyncio
import base64
from xml.etree import ElementTree

import httpx
import pytest
from discovery_support import JSON, instances_of, registration
from pydantic import SecretStr

from spotilike.discovery.app import create_discovery_app
from spotilike.discovery.settings import DiscoverySettings
from spotilike.tools.pytest_plugin import running_app

pytestmark = pytest.mark.integration

CATALOG_1 = "/eureka/apps/CATALOG/127.0.0.1:catalog:9001"


async def _apps(registry: httpx.AsyncClient) -> dict[str, object]:
    response = await registry.get("/eureka/apps", headers=JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()  # type: ignore[no-any-return]


async def test_register_then_list_in_json(registry: httpx.AsyncClient) -> None:
    response = await registry.post("/eureka/apps/catalog", json=registration())
    assert response.status_code == 204
    document = await _apps(registry)
    applications = document["applications"]
    assert isinstance(applications, dict)
    assert applications["apps__hashcode"] == "UP_1_"
    assert int(applications["versions__delta"]) >= 1
    [instance] = instances_of(document, "CATALOG")
    assert instance["instanceId"] == "127.0.0.1:catalog:9001"
    assert instance["status"] == "UP"
    assert instance["overriddenStatus"] == "UNKNOWN"
    assert instance["port"] == {"$": 9001, "@enabled": "true"}
    assert instance["metadata"] == {"zone": "default"}
    assert instance["leaseInfo"]["durationInSecs"] == 90
    assert instance["leaseInfo"]["evictionTimestamp"] == 0
    assert instance["leaseInfo"]["registrationTimestamp"] > 0
    assert instance["actionType"] == "ADDED"


async def test_xml_is_the_default_and_has_eurekas_shape(registry: httpx.AsyncClient) -> None:
    await registry.post("/eureka/apps/CATALOG", json=registration())
    for headers in ({}, {"Accept": "application/xml"}, {"Accept": "*/*"}):
        response = await registry.get("/eureka/apps/", headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/xml"
        root = ElementTree.fromstring(response.content)
        assert root.tag == "applications"
        assert root.findtext("apps__hashcode") == "UP_1_"
        instance = root.find("application/instance")
        assert instance is not None
        assert root.findtext("application/name") == "CATALOG"
        port = instance.find("port")
        assert port is not None
        assert (port.text, port.get("enabled")) == ("9001", "true")
        data_center = instance.find("dataCenterInfo")
        assert data_center is not None
        assert data_center.get("class") == "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"
        assert instance.findtext("metadata/zone") == "default"
        assert instance.findtext("overriddenstatus") == "UNKNOWN"
        assert int(instance.findtext("leaseInfo/lastRenewalTimestamp") or "0") > 0


# An InstanceInfo as Eureka's Java client renders it in XML (XStream), with an
# override, a disabled secure port and a metadata entry.
_XML_REGISTRATION = b"""<?xml version="1.0" encoding="UTF-8"?>
<instance>
  <instanceId>10.0.0.7:catalog:9001</instanceId>
  <hostName>10.0.0.7</hostName>
  <app>CATALOG</app>
  <ipAddr>10.0.0.7</ipAddr>
  <status>UP</status>
  <overriddenstatus>UNKNOWN</overriddenstatus>
  <port enabled="true">9001</port>
  <securePort enabled="false">443</securePort>
  <countryId>1</countryId>
  <dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo">
    <name>MyOwn</name>
  </dataCenterInfo>
  <leaseInfo>
    <renewalIntervalInSecs>10</renewalIntervalInSecs>
    <durationInSecs>40</durationInSecs>
  </leaseInfo>
  <metadata><zone>eu-1</zone></metadata>
  <homePageUrl>http://10.0.0.7:9001/</homePageUrl>
  <healthCheckUrl>http://10.0.0.7:9001/health/ready</healthCheckUrl>
  <vipAddress>catalog</vipAddress>
  <isCoordinatingDiscoveryServer>false</isCoordinatingDiscoveryServer>
  <lastDirtyTimestamp>1700000000000</lastDirtyTimestamp>
</instance>
"""


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml; charset=utf-8"])
async def test_an_xml_registration_is_read_like_a_json_one(
    registry: httpx.AsyncClient, content_type: str
) -> None:
    response = await registry.post(
        "/eureka/apps/CATALOG", content=_XML_REGISTRATION, headers={"Content-Type": content_type}
    )
    assert response.status_code == 204
    document = (await registry.get("/eureka/apps/CATALOG", headers=JSON)).json()
    [instance] = document["application"]["instance"]
    assert instance["instanceId"] == "10.0.0.7:catalog:9001"
    assert instance["port"] == {"$": 9001, "@enabled": "true"}
    assert instance["securePort"] == {"$": 443, "@enabled": "false"}
    assert instance["dataCenterInfo"]["name"] == "MyOwn"
    assert instance["metadata"] == {"zone": "eu-1"}
    assert instance["leaseInfo"]["renewalIntervalInSecs"] == 10
    assert instance["leaseInfo"]["durationInSecs"] == 40
    assert instance["vipAddress"] == "catalog"
    assert instance["lastDirtyTimestamp"] == "1700000000000"


async def test_the_registrys_own_xml_rendering_registers_back_unchanged(
    registry: httpx.AsyncClient,
) -> None:
    await registry.post("/eureka/apps/CATALOG", json=registration(metadata={}))
    before = (await registry.get("/eureka/instances/127.0.0.1:catalog:9001", headers=JSON)).json()
    rendered = (await registry.get("/eureka/instances/127.0.0.1:catalog:9001")).content
    response = await registry.post(
        "/eureka/apps/CATALOG", content=rendered, headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 204
    after = (await registry.get("/eureka/instances/127.0.0.1:catalog:9001", headers=JSON)).json()
    unchanged = ("port", "securePort", "dataCenterInfo", "metadata", "hostName", "status")
    assert {key: after["instance"][key] for key in unchanged} == {
        key: before["instance"][key] for key in unchanged
    }


async def test_one_app_one_instance_and_instance_by_id(registry: httpx.AsyncClient) -> None:
    await registry.post("/eureka/apps/CATALOG", json=registration())
    await registry.post(
        "/eureka/apps/USERS", json=registration("USERS", "127.0.0.1:users:9101", port=9101)
    )
    app = (await registry.get("/eureka/apps/catalog", headers=JSON)).json()
    assert app["application"]["name"] == "CATALOG"
    assert [i["instanceId"] for i in app["application"]["instance"]] == ["127.0.0.1:catalog:9001"]
    one = (await registry.get(CATALOG_1, headers=JSON)).json()
    assert one["instance"]["app"] == "CATALOG"
    by_id = await registry.get("/eureka/instances/127.0.0.1:users:9101", headers=JSON)
    assert by_id.json()["instance"]["app"] == "USERS"
    vip = (await registry.get("/eureka/vips/users", headers=JSON)).json()
    assert [a["name"] for a in vip["applications"]["application"]] == ["USERS"]
    for path in ("/eureka/apps/STREAMING", "/eureka/apps/CATALOG/nope", "/eureka/instances/x"):
        missing = await registry.get(path, headers=JSON)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


async def test_renew_and_an_unknown_renewal_is_404(registry: httpx.AsyncClient) -> None:
    assert (await registry.put(CATALOG_1)).status_code == 404
    await registry.post("/eureka/apps/CATALOG", json=registration(lastDirtyTimestamp="1000"))
    before = instances_of(await _apps(registry), "CATALOG")[0]["leaseInfo"]
    await asyncio.sleep(0.01)
    renewed = await registry.put(CATALOG_1, params={"status": "UP", "lastDirtyTimestamp": 1000})
    assert renewed.status_code == 200
    after = instances_of(await _apps(registry), "CATALOG")[0]["leaseInfo"]
    assert after["lastRenewalTimestamp"] > before["lastRenewalTimestamp"]
    assert after["registrationTimestamp"] == before["registrationTimestamp"]


async def test_a_client_with_newer_data_is_told_to_register_again(
    registry: httpx.AsyncClient,
) -> None:
    await registry.post("/eureka/apps/CATALOG", json=registration(lastDirtyTimestamp="1000"))
    newer = await registry.put(CATALOG_1, params={"lastDirtyTimestamp": 2000})
    assert newer.status_code == 404


async def test_netflix_clients_prefix_eureka_v2_and_see_the_same_registry(
    registry: httpx.AsyncClient,
) -> None:
    # Netflix's eureka-server serves /eureka/v2, Spring's /eureka: a client set up for
    # either registers, renews and reads the same leases.
    response = await registry.post("/eureka/v2/apps/CATALOG", json=registration())
    assert response.status_code == 204
    assert (await registry.put("/eureka/v2" + CATALOG_1.removeprefix("/eureka"))).status_code == 200
    [instance] = instances_of(await _apps(registry), "CATALOG")
    assert instance["instanceId"] == "127.0.0.1:catalog:9001"
    through_v2 = await registry.get("/eureka/v2/apps/CATALOG", headers=JSON)
    assert through_v2.status_code == 200
    assert through_v2.json()["application"]["name"] == "CATALOG"
    assert (await registry.get("/eureka/v2/apps/NOPE", headers=JSON)).status_code == 404
    assert (await registry.get("/eureka/v3/apps", headers=JSON)).status_code == 404


async def test_cancel_removes_and_a_second_cancel_is_404(registry: httpx.AsyncClient) -> None:
    await registry.post("/eureka/apps/CATALOG", json=registration())
    assert (await registry.delete(CATALOG_1)).status_code == 200
    assert instances_of(await _apps(registry), "CATALOG") == []
    assert (await registry.delete(CATALOG_1)).status_code == 404


async def test_status_override_wins_survives_reregistration_and_can_be_removed(
    registry: httpx.AsyncClient,
) -> None:
    await registry.post("/eureka/apps/CATALOG", json=registration())
    overridden = await registry.put(f"{CATALOG_1}/status", params={"value": "OUT_OF_SERVICE"})
    assert overridden.status_code == 200
    [instance] = instances_of(await _apps(registry), "CATALOG")
    assert (instance["status"], instance["overriddenStatus"]) == ("OUT_OF_SERVICE",) * 2
    assert (await _apps(registry))["applications"]["apps__hashcode"] == "OUT_OF_SERVICE_1_"

    # An instance restarting and registering UP stays out of rotation: the operator said so.
    await registry.post("/eureka/apps/CATALOG", json=registration())
    assert instances_of(await _apps(registry), "CATALOG")[0]["status"] == "OUT_OF_SERVICE"

    assert (await registry.delete(f"{CATALOG_1}/status")).status_code == 200
    assert instances_of(await _apps(registry), "CATALOG")[0]["status"] == "UP"

    await registry.delete(f"{CATALOG_1}/status", params={"value": "DOWN"})
    assert instances_of(await _apps(registry), "CATALOG")[0]["status"] == "DOWN"


@pytest.mark.parametrize(
    ("params", "status"),
    [({"value": "SLEEPING"}, 422), ({"value": "UNKNOWN"}, 422), ({}, 422)],
)
async def test_a_bad_override_value_is_422(
    registry: httpx.AsyncClient, params: dict[str, str], status: int
) -> None:
    await registry.post("/eureka/apps/CATALOG", json=registration())
    response = await registry.put(f"{CATALOG_1}/status", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert instances_of(await _apps(registry), "CATALOG")[0]["status"] == "UP"


async def test_an_override_of_an_unknown_instance_is_404(registry: httpx.AsyncClient) -> None:
    response = await registry.put(f"{CATALOG_1}/status", params={"value": "DOWN"})
    assert response.status_code == 404


async def test_the_delta_lists_recent_changes_once_per_instance(
    registry: httpx.AsyncClient,
) -> None:
    await registry.post("/eureka/apps/CATALOG", json=registration())
    await registry.post(
        "/eureka/apps/USERS", json=registration("USERS", "127.0.0.1:users:9101", port=9101)
    )
    await registry.put(f"{CATALOG_1}/status", params={"value": "DOWN"})
    await registry.delete("/eureka/apps/USERS/127.0.0.1:users:9101")
    delta = (await registry.get("/eureka/apps/delta", headers=JSON)).json()
    assert delta["applications"]["apps__hashcode"] == "DOWN_1_"
    [catalog] = instances_of(delta, "CATALOG")
    assert (catalog["actionType"], catalog["status"]) == ("MODIFIED", "DOWN")
    [users] = instances_of(delta, "USERS")
    assert users["actionType"] == "DELETED"
    assert users["hostName"] == "127.0.0.1"
    assert users["leaseInfo"]["evictionTimestamp"] > 0
    full = await _apps(registry)
    assert delta["applications"]["versions__delta"] == full["applications"]["versions__delta"]


async def test_a_lease_that_is_not_renewed_expires(registry: httpx.AsyncClient) -> None:
    await registry.post("/eureka/apps/CATALOG", json=registration(lease_seconds=1))
    await registry.post(
        "/eureka/apps/USERS",
        json=registration("USERS", "127.0.0.1:users:9101", port=9101, lease_seconds=60),
    )
    assert len(instances_of(await _apps(registry), "CATALOG")) == 1
    await asyncio.sleep(1.3)
    document = await _apps(registry)
    assert instances_of(document, "CATALOG") == []
    assert len(instances_of(document, "USERS")) == 1
    assert (await registry.put(CATALOG_1)).status_code == 404
    delta = (await registry.get("/eureka/apps/delta", headers=JSON)).json()
    [evicted] = instances_of(delta, "CATALOG")
    assert evicted["actionType"] == "DELETED"


async def test_a_renewed_short_lease_stays(registry: httpx.AsyncClient) -> None:
    await registry.post("/eureka/apps/CATALOG", json=registration(lease_seconds=1))
    for _ in range(4):
        await asyncio.sleep(0.4)
        assert (await registry.put(CATALOG_1)).status_code == 200
    assert len(instances_of(await _apps(registry), "CATALOG")) == 1


async def test_lease_durations_are_clamped_to_the_settings(
    discovery_settings: DiscoverySettings,
) -> None:
    settings = discovery_settings.model_copy(
        update={"max_lease_seconds": 30, "default_lease_seconds": 20}
    )
    async with running_app(create_discovery_app(settings)) as registry:
        await registry.post("/eureka/apps/CATALOG", json=registration(lease_seconds=86_400))
        await registry.post(
            "/eureka/apps/USERS",
            json=registration("USERS", "127.0.0.1:users:9101", leaseInfo={}),
        )
        document = await _apps(registry)
        assert instances_of(document, "CATALOG")[0]["leaseInfo"]["durationInSecs"] == 30
        assert instances_of(document, "USERS")[0]["leaseInfo"]["durationInSecs"] == 20


async def test_json_is_served_when_preferred_and_406_when_neither_is(
    registry: httpx.AsyncClient,
) -> None:
    preferring_json = {"Accept": "application/xml;q=0.5, application/json"}
    assert (await registry.get("/eureka/apps", headers=preferring_json)).headers[
        "content-type"
    ] == "application/json"
    refused = await registry.get("/eureka/apps", headers={"Accept": "text/html"})
    assert refused.status_code == 406
    assert refused.headers["content-type"] == "application/problem+json"


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_writes_need_the_shared_secret_when_one_is_set(
    discovery_settings: DiscoverySettings,
) -> None:
    settings = discovery_settings.model_copy(
        update={"write_password": SecretStr("dev-only-registry")}
    )
    async with running_app(create_discovery_app(settings)) as registry:
        for headers in ({}, _basic("eureka", "wrong"), _basic("other", "dev-only-registry")):
            refused = await registry.post(
                "/eureka/apps/CATALOG", json=registration(), headers=headers
            )
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Basic ")
            assert (await registry.delete(CATALOG_1, headers=headers)).status_code == 401
        assert instances_of(await _apps(registry), "CATALOG") == []
        good = _basic("eureka", "dev-only-registry")
        assert (
            await registry.post("/eureka/apps/CATALOG", json=registration(), headers=good)
        ).status_code == 204
        assert (await registry.put(CATALOG_1, headers=good)).status_code == 200
        assert len(instances_of(await _apps(registry), "CATALOG")) == 1


async def test_an_apps_own_credentials_write_only_its_own_registrations(
    discovery_settings: DiscoverySettings,
) -> None:
    """A service's secret must not let it register as another service (and take its
    traffic through the gateway); the operator's shared secret still writes for any."""
    settings = discovery_settings.model_copy(
        update={
            "write_password": SecretStr("dev-only-registry"),
            "app_passwords": SecretStr(
                '{"CATALOG": "dev-only-catalog-1234", "users": "dev-only-users-12345"}'
            ),
        }
    )
    users = registration("USERS", "127.0.0.1:users:9101", port=9101)
    users_1 = "/eureka/apps/USERS/127.0.0.1:users:9101"
    catalog = _basic("CATALOG", "dev-only-catalog-1234")
    async with running_app(create_discovery_app(settings)) as registry:
        assert (
            await registry.post("/eureka/apps/CATALOG", json=registration(), headers=catalog)
        ).status_code == 204
        assert (await registry.put(CATALOG_1, headers=catalog)).status_code == 200
        for refused in (
            await registry.post("/eureka/apps/USERS", json=users, headers=catalog),
            await registry.post(
                "/eureka/apps/CATALOG",
                json=registration(),
                headers=_basic("CATALOG", "dev-only-users-12345"),
            ),
        ):
            assert refused.status_code == 401
        assert instances_of(await _apps(registry), "USERS") == []
        assert (
            await registry.post(
                "/eureka/apps/USERS", json=users, headers=_basic("users", "dev-only-users-12345")
            )
        ).status_code == 204
        assert (await registry.delete(users_1, headers=catalog)).status_code == 401
        operator = _basic("eureka", "dev-only-registry")
        assert (await registry.delete(users_1, headers=operator)).status_code == 200
        assert (await registry.delete(CATALOG_1, headers=operator)).status_code == 200


@pytest.mark.parametrize(
    "passwords",
    ['["CATALOG"]', '{"CATALOG": "short"}', '{"bad name!": "long-enough-password"}', "{"],
)
def test_app_passwords_must_be_readable(
    discovery_settings: DiscoverySettings, passwords: str
) -> None:
    with pytest.raises(ValueError, match="APP_PASSWORDS must be a JSON object") as caught:
        DiscoverySettings.model_validate(
            {**discovery_settings.model_dump(), "app_passwords": passwords}
        )
    assert "short" not in str(caught.value)


async def test_reads_too_when_asked(discovery_settings: DiscoverySettings) -> None:
    settings = discovery_settings.model_copy(
        update={"write_password": SecretStr("dev-only-registry"), "read_requires_auth": True}
    )
    async with running_app(create_discovery_app(settings)) as registry:
        assert (await registry.get("/eureka/apps", headers=JSON)).status_code == 401
        allowed = await registry.get(
            "/eureka/apps", headers={**JSON, **_basic("eureka", "dev-only-registry")}
        )
        assert allowed.status_code == 200
