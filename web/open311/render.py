"""Open311 answers in the two formats the spec defines, from one Python value: JSON as is, XML with the spec's
element names (<services><service>, <service_requests><request>, <errors><error>...), built with the standard
library's ElementTree (dicttoxml and its kin on PyPI are unmaintained)."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from fastapi.responses import Response

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The element of each item of a list, by the list's element name (a top-level list: by the root).
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def _text(value: Any) -> str:
    """XML text of a scalar: booleans as the spec writes them (true, false), None as an empty element."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ElementTree.SubElement(element, key), item)
    elif isinstance(value, list):
        tag = ITEM_TAGS[element.tag]
        for item in value:
            _fill(ElementTree.SubElement(element, tag), item)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    """`value` (a dict, or a list whose items take ITEM_TAGS[root]) as an XML document with the root element
    `root`, UTF-8 with its declaration."""
    element = ElementTree.Element(root)
    _fill(element, value)
    return ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)


def respond(fmt: str, root: str, value: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The answer in `fmt` ("json" or "xml"); `root` names the XML root element (the spec's: services,
    service_definition, service_requests, discovery, errors)."""
    if fmt == "xml":
        body = to_xml(root, value)
    else:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status_code, media_type=FORMATS[fmt], headers=headers)


def error_response(fmt: str, status_code: int, description: str, headers: dict[str, str] | None = None) -> Response:
    """The spec's error body, [{"code": status, "description": ...}] or <errors><error>...</error></errors>."""
    return respond(fmt, "errors", [{"code": status_code, "description": description}], status_code, headers)
