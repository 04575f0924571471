"""JSON or XML, as the ``Accept`` header asks, in the shapes Eureka clients parse.

Eureka answers XML unless the client asks for JSON, and several clients (py-eureka-client
among them) send no ``Accept`` at all and parse XML; so XML is the default and JSON is
served when it is preferred. The XML is derived from the JSON shape by XStream's rules:
``@name`` members become attributes, ``$`` the element text, lists repeated elements.
Registrations may come in either rendering too; :func:`xml_document` reads XML back into
the JSON shape by the same rules, so one model validates both.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from fastapi import Request
from fastapi.responses import Response

from spotilike.kit.errors import Problem

__all__ = ["JSON", "XML", "eureka_response", "preferred_format", "xml_document"]

JSON = "application/json"
XML = "application/xml"
_XML_TYPES = {"application/xml": 3, "text/xml": 3, "application/*": 2, "*/*": 1}
_JSON_TYPES = {"application/json": 3, "application/*": 2, "*/*": 1}
# XStream's element names where they differ from the JSON codec's.
_XML_NAMES = {"overriddenStatus": "overriddenstatus"}
_JSON_NAMES = {xml: json for json, xml in _XML_NAMES.items()}
# An InstanceInfo nests three deep (instance, metadata, entry); anything much deeper is
# not a registration, and refusing it keeps the reader's recursion bounded.
_MAX_XML_DEPTH = 8


def _quality(accept: str, types: dict[str, int]) -> tuple[float, int]:
    """The q of the most specific matching range, and how specific it was."""
    best = (0.0, 0)
    for part in accept.split(","):
        media, *params = (item.strip() for item in part.split(";"))
        specificity = types.get(media.lower())
        if specificity is None:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        best = max(best, (q, specificity), key=lambda item: (item[1], item[0]))
    return best


def preferred_format(request: Request) -> str:
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return XML
    json_q, _ = _quality(accept, _JSON_TYPES)
    xml_q, _ = _quality(accept, _XML_TYPES)
    if json_q == 0 and xml_q == 0:
        raise Problem(
            "This registry answers application/json or application/xml.",
            code="discovery/not-acceptable",
            status=406,
        )
    return JSON if json_q > xml_q else XML


def _element(name: str, value: Any) -> ElementTree.Element:
    element = ElementTree.Element(_XML_NAMES.get(name, name))
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$":
                element.text = str(item)
            elif key.startswith("@"):
                element.set(key[1:], str(item))
            elif isinstance(item, list):
                element.extend(_element(key, entry) for entry in item)
            else:
                element.append(_element(key, item))
    elif value is not None:
        element.text = str(value).lower() if isinstance(value, bool) else str(value)
    return element


def eureka_response(request: Request, root: str, document: dict[str, Any]) -> Response:
    """``{root: document}`` as JSON, or ``<root>…</root>`` as XML."""
    if preferred_format(request) == JSON:
        body = json.dumps({root: document}, separators=(",", ":")).encode()
        return Response(body, media_type=JSON, headers={"Vary": "Accept"})
    xml = ElementTree.tostring(_element(root, document), encoding="utf-8", xml_declaration=True)
    return Response(xml, media_type=XML, headers={"Vary": "Accept"})


def _from_element(element: ElementTree.Element, depth: int) -> Any:
    if depth > _MAX_XML_DEPTH:
        raise Problem(
            f"The XML nests deeper than {_MAX_XML_DEPTH} elements; an InstanceInfo does not.",
            code="discovery/bad-xml",
            status=400,
        )
    attributes: dict[str, Any] = {f"@{name}": value for name, value in element.attrib.items()}
    text = (element.text or "").strip()
    if len(element) == 0:
        if not attributes:
            return text
        return attributes | ({"$": text} if text else {})
    members = attributes
    for child in element:
        name = _JSON_NAMES.get(child.tag, child.tag)
        value = _from_element(child, depth + 1)
        if name not in members:
            members[name] = value
        elif isinstance(members[name], list):
            members[name].append(value)
        else:
            members[name] = [members[name], value]
    return members


def xml_document(body: bytes) -> dict[str, Any]:
    """An XML document as ``{root: …}`` in the JSON shape: attributes as ``@name``, the text
    of an element with attributes as ``$``, repeated elements as a list.

    Parsed with defusedxml and no DTD allowed: Eureka documents have none, and a DTD is how
    entity expansion ("billion laughs") and external entities get in.
    """
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise Problem(
            f"The body is not acceptable XML: {exc}", code="discovery/bad-xml", status=400
        ) from None
    return {_JSON_NAMES.get(root.tag, root.tag): _from_element(root, 1)}
