"""Rendering response data to XML.

Handlers return plain data: dicts (ordered children), lists, strings, numbers,
booleans, datetimes. :func:`to_element` writes it in the Query APIs' shape: a list
becomes repeated ``<member>`` (IAM) or ``<item>`` (EC2) children, ``None`` is left
out, booleans are ``true``/``false`` and datetimes ISO 8601 with ``Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lxml import etree


def iso8601(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso8601(value)
    return str(value)


def fill(parent: etree._Element, value: Any, *, list_item: str, ns: str) -> None:
    """Append ``value`` under ``parent``."""
    if isinstance(value, dict):
        for name, child in value.items():
            if child is None:
                continue
            element = etree.SubElement(parent, f"{{{ns}}}{name}" if ns else name)
            fill(element, child, list_item=list_item, ns=ns)
    elif isinstance(value, list | tuple):
        for child in value:
            element = etree.SubElement(parent, f"{{{ns}}}{list_item}" if ns else list_item)
            fill(element, child, list_item=list_item, ns=ns)
    else:
        parent.text = text_of(value)


def document(root_name: str, ns: str, body: dict[str, Any], *, list_item: str) -> bytes:
    root = etree.Element(f"{{{ns}}}{root_name}", nsmap={None: ns})  # type: ignore[dict-item]
    fill(root, body, list_item=list_item, ns=ns)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
