"""Safe XML for S3 request bodies, and S3's XML output.

Parsing (:func:`parse_xml`) refuses what a hostile client could use against the
server: bodies over a size limit, any document type declaration (so no internal or
external entities: no "billion laughs", no ``file://`` reads, no network fetches),
and anything not well-formed. S3 clients may or may not put their documents in the
S3 namespace, so the reading helpers (:func:`local`, :func:`child`, :func:`children`,
:func:`text`) compare local names only.

Output documents are in the S3 namespace as the default namespace
(:func:`new_root`, :func:`sub`) and serialised with S3's XML declaration
(:func:`to_bytes`). Dates are written in S3's two forms: :func:`iso8601` in listings,
:func:`http_date` in ``Last-Modified`` headers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime

from lxml import etree

from eucalyptus.common.errors import AwsError
from eucalyptus.walrus.errors import MalformedXML

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

#: a document type or entity declaration, in any ASCII-compatible encoding
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    """A fresh parser that never loads, validates against or expands a DTD."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(
    body: bytes, *, limit: int = 1024 * 1024, error: type[AwsError] = MalformedXML
) -> etree._Element:
    """The root element of ``body``; raises ``error`` for anything unsafe or malformed.

    Refused: more than ``limit`` bytes, an empty body, any DOCTYPE (with or without
    entity declarations), XML that is not well-formed.
    """
    if len(body) > limit:
        raise error(f"The XML you provided was too large (more than {limit} bytes).")
    if not body.strip():
        raise error()
    if _DECLARATION.search(body):
        raise error("Document type declarations are not allowed.")
    try:
        root = etree.fromstring(body, parser=_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise error() from exc
    # a DOCTYPE the byte scan could not see (UTF-16, say) is still refused
    docinfo = root.getroottree().docinfo
    has_doctype = bool(getattr(docinfo, "doctype", ""))
    if has_doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise error("Document type declarations are not allowed.")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise error("Entity references are not allowed.")
    return root


def local(el: etree._Element) -> str:
    """The tag of ``el`` without its namespace ("" for a comment or instruction)."""
    tag: object = el.tag  # a function for comments and processing instructions
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def children(el: etree._Element, name: str) -> list[etree._Element]:
    """The child elements of ``el`` named ``name`` (in any namespace), in order."""
    return [item for item in el if local(item) == name]


def child(el: etree._Element, name: str) -> etree._Element | None:
    """The first child element of ``el`` named ``name`` (in any namespace), or None."""
    for item in el:
        if local(item) == name:
            return item
    return None


def text(el: etree._Element, name: str, default: str | None = None) -> str | None:
    """The text of the child named ``name``: ``default`` when there is no such child,
    ``""`` when the child is empty."""
    found = child(el, name)
    if found is None:
        return default
    return found.text or ""


def new_root(tag: str) -> etree._Element:
    """A root element ``tag`` with the S3 namespace as its default namespace."""
    return etree.Element(f"{{{S3_NS}}}{tag}", nsmap={None: S3_NS})  # type: ignore[dict-item]


def sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    """A new child ``tag`` of ``parent`` in the S3 namespace, with ``text`` if given."""
    element = etree.SubElement(parent, f"{{{S3_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def to_bytes(root: etree._Element) -> bytes:
    """``root`` as UTF-8 bytes after S3's XML declaration."""
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8")


def _as_utc(dt: datetime) -> datetime:
    """An aware UTC datetime; naive datetimes are taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso8601(dt: datetime) -> str:
    """S3's listing form, milliseconds and ``Z``: ``2026-11-21T10:00:00.000Z``."""
    utc = _as_utc(dt)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"


def http_date(dt: datetime) -> str:
    """RFC 1123 in GMT, as in ``Last-Modified``: ``Sat, 21 Nov 2026 10:00:00 GMT``."""
    return format_datetime(_as_utc(dt).replace(microsecond=0), usegmt=True)
