"""Open311 GeoReport v2 wire formats: the same dict renders as JSON or as the spec's XML.

Both formats come from one structure so that they can never disagree. Lists nest in XML under
the plural tag with one singular child per item, the way the spec's examples show them.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from fastapi.responses import Response

from sudi.core import clock

FORMATS = ("json", "xml")
MEDIA_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}

# The singular element each plural holds; anything else is a scalar field.
_ITEM_TAGS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}

# XML 1.0 cannot carry these at all, escaped or not; text from other channels may hold them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def w3c(moment: datetime | None) -> str | None:
    """W3C datetime in the district's zone (+08:00), whole seconds, as the spec's examples."""
    return clock.local(moment).isoformat(timespec="seconds") if moment else None


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def _fill(element: ET.Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        for child in value:
            _fill(ET.SubElement(element, _ITEM_TAGS[element.tag]), child)
    else:
        element.text = xml_safe(str(value))


def to_xml(root_tag: str, body: Any, item_tag: str | None = None) -> bytes:
    root = ET.Element(root_tag)
    if item_tag is not None:
        for item in body:
            _fill(ET.SubElement(root, item_tag), item)
    else:
        _fill(root, body)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                   xml_declaration=False)


def render(fmt: str, body: Any, *, root: str, item: str | None = None, status: int = 200) -> Response:
    """``item`` set: ``body`` is a list rendered as ``<root><item>…</item></root>``."""
    if fmt == "xml":
        content = to_xml(root, body, item)
    else:
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(content, status_code=status, media_type=MEDIA_TYPES[fmt])


def errors_response(fmt: str, status: int, errors: list[tuple[int, str]]) -> Response:
    body = [{"code": code, "description": description} for code, description in errors]
    return render(fmt if fmt in FORMATS else "json", body, root="errors", item="error", status=status)
