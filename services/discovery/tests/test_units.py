"""The registry's pure parts: content negotiation, the reconcile hash, XML rendering,
settings."""

from xml.etree import ElementTree

import pytest
from starlette.requests import Request

from spotilike.discovery.api.codec import (
    JSON,
    XML,
    eureka_response,
    preferred_format,
    xml_document,
)
from spotilike.discovery.service.documents import apps_hashcode
from spotilike.discovery.settings import DiscoverySettings
from spotilike.kit.discovery import InstanceStatus
from spotilike.kit.errors import Problem

pytestmark = pytest.mark.unit


def _request(accept: str | None) -> Request:
    headers = [] if accept is None else [(b"accept", accept.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, XML),
        ("", XML),
        ("*/*", XML),
        ("application/xml", XML),
        ("text/xml", XML),
        ("application/json", JSON),
        ("application/json, application/xml", XML),
        ("application/xml;q=0.9, application/json", JSON),
        ("application/json;q=0, */*", XML),
        ("text/html, application/json;q=0.1", JSON),
        ("application/*", XML),
    ],
)
def test_xml_unless_json_is_preferred(accept: str | None, chosen: str) -> None:
    assert preferred_format(_request(accept)) == chosen


def test_neither_acceptable_is_406() -> None:
    with pytest.raises(Problem) as raised:
        preferred_format(_request("text/html, image/png"))
    assert raised.value.status == 406


def test_the_hash_counts_statuses_in_name_order() -> None:
    statuses = [
        InstanceStatus.UP,
        InstanceStatus.DOWN,
        InstanceStatus.UP,
        InstanceStatus.OUT_OF_SERVICE,
    ]
    assert apps_hashcode(statuses) == "DOWN_1_OUT_OF_SERVICE_1_UP_2_"
    assert apps_hashcode([]) == ""


def test_xml_follows_xstreams_rules() -> None:
    document = {
        "name": "A",
        "instance": [
            {
                "port": {"$": 80, "@enabled": "true"},
                "overriddenStatus": "UNKNOWN",
                "metadata": {},
                "flag": True,
            },
            {"port": {"$": 81, "@enabled": "false"}},
        ],
    }
    response = eureka_response(_request("application/xml"), "application", document)
    root = ElementTree.fromstring(response.body)
    ports = [(port.text, port.get("enabled")) for port in root.iter("port")]
    assert ports == [("80", "true"), ("81", "false")]
    first = root.find("instance")
    assert first is not None
    assert first.findtext("overriddenstatus") == "UNKNOWN"
    assert first.findtext("flag") == "true"
    assert response.headers["vary"] == "Accept"


def test_xml_reads_back_into_the_json_shape() -> None:
    document = {
        "name": "A",
        "instance": [
            {"port": {"$": "80", "@enabled": "true"}, "overriddenStatus": "UNKNOWN"},
            {"port": {"$": "81", "@enabled": "false"}, "metadata": {"@class": "EmptyMap"}},
        ],
    }
    rendered = eureka_response(_request("application/xml"), "application", document).body
    assert xml_document(bytes(rendered)) == {"application": document}


@pytest.mark.parametrize(
    "body",
    [b"", b"<a><b></a>", b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', b"<a>" * 9 + b"</a>" * 9],
)
def test_unreadable_xml_is_a_400(body: bytes) -> None:
    with pytest.raises(Problem) as caught:
        xml_document(body)
    assert caught.value.status == 400
    assert caught.value.code == "discovery/bad-xml"


def test_production_refuses_to_start_without_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTILIKE_ENV", "production")
    with pytest.raises(ValueError, match="WRITE_PASSWORD is not set"):
        DiscoverySettings()


def test_the_default_lease_must_lie_within_the_bounds() -> None:
    with pytest.raises(ValueError, match="DEFAULT_LEASE_SECONDS"):
        DiscoverySettings(default_lease_seconds=600, max_lease_seconds=300)


def test_defaults_bind_loopback_on_eurekas_port() -> None:
    settings = DiscoverySettings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8761)
    assert settings.write_password is None
