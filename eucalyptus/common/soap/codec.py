"""Safe XML parsing and SOAP 1.1 envelopes.

Every byte string that arrives from a peer goes through :func:`safe_parse`, which

* refuses input longer than ``max_bytes`` before the parser sees a single byte;
* refuses any document with a DOCTYPE (so no entity declarations, internal or external,
  are ever honoured): a byte pre-scan catches the common spellings before parsing, and the
  parsed tree's ``docinfo`` catches the rest (for instance a UTF-16 document);
* parses with entity resolution, network access and DTD loading switched off, libxml2's
  size/depth safety limits left on (``huge_tree=False``), comments and processing
  instructions dropped.

Envelopes are SOAP 1.1, document/literal: ``soapenv:Envelope`` holding an optional
``soapenv:Header`` and a ``soapenv:Body`` with exactly one element child, which is either
the operation's message or a ``soapenv:Fault``. A fault carries a typed error in its detail::

    <detail><euca:error code="InvalidParameterValue" status="400">message</euca:error></detail>

Nothing here keeps state between calls; a new parser is made per document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from eucalyptus.common.errors import AwsError, RequestEntityTooLarge
from eucalyptus.common.soap.errors import DoctypeForbidden, MalformedSoapMessage

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
EUCA_NS = "http://eucalyptus.ucsb.edu/"
NSMAP = {"soapenv": SOAP_ENV_NS, "euca": EUCA_NS}
#: default bound on a SOAP document, request or response
DEFAULT_MAX_BYTES = 8 * 1024 * 1024

_ENVELOPE = f"{{{SOAP_ENV_NS}}}Envelope"
_HEADER = f"{{{SOAP_ENV_NS}}}Header"
_BODY = f"{{{SOAP_ENV_NS}}}Body"
_FAULT = f"{{{SOAP_ENV_NS}}}Fault"
_DETAIL_ERROR = f"{{{EUCA_NS}}}error"
_FORBIDDEN_MARKUP = (b"<!DOCTYPE", b"<!ENTITY")


def euca(local: str) -> str:
    """The Clark name ``{http://eucalyptus.ucsb.edu/}local``."""
    return f"{{{EUCA_NS}}}{local}"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def safe_parse(data: bytes, max_bytes: int) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise.

    Raises :class:`RequestEntityTooLarge` when ``len(data) > max_bytes`` (checked first),
    :class:`DoctypeForbidden` for any DOCTYPE or ENTITY declaration, and
    :class:`MalformedSoapMessage` when the bytes are not well-formed XML.
    """
    if len(data) > max_bytes:
        raise RequestEntityTooLarge(f"document of {len(data)} bytes exceeds {max_bytes} bytes")
    if any(marker in data for marker in _FORBIDDEN_MARKUP):
        raise DoctypeForbidden("DOCTYPE and ENTITY declarations are not accepted")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedSoapMessage(f"not well-formed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    # (lxml-stubs lack DocInfo.doctype; any DOCTYPE also sets internalDTD)
    has_doctype = bool(getattr(docinfo, "doctype", ""))
    if has_doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise DoctypeForbidden("DOCTYPE declarations are not accepted")
    return root


def build_envelope(
    header_elems: Sequence[etree._Element], body_elem: etree._Element
) -> etree._Element:
    """A new ``soapenv:Envelope`` tree; the given elements are moved (not copied) into it.

    The Header is written only when ``header_elems`` is not empty.
    """
    envelope = etree.Element(_ENVELOPE, nsmap=NSMAP)
    if header_elems:
        header = etree.SubElement(envelope, _HEADER)
        for elem in header_elems:
            header.append(elem)
    body = etree.SubElement(envelope, _BODY)
    body.append(body_elem)
    return envelope


def serialize(envelope: etree._Element) -> bytes:
    """The UTF-8 bytes of an envelope, with an XML declaration."""
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def encode_envelope(header_elems: Sequence[etree._Element], body_elem: etree._Element) -> bytes:
    """Serialize an envelope made of ``header_elems`` and ``body_elem`` (both are moved)."""
    return serialize(build_envelope(header_elems, body_elem))


def _elements(parent: etree._Element) -> list[etree._Element]:
    return list(parent.iterchildren("*"))


def decode_envelope(data: bytes, max_bytes: int) -> tuple[etree._Element | None, etree._Element]:
    """Parse a SOAP 1.1 envelope safely; return ``(Header or None, the Body's only child)``.

    The Body element itself is ``body_child.getparent()``. Raises the errors of
    :func:`safe_parse`, and :class:`MalformedSoapMessage` when the document is not an
    Envelope with an optional Header followed by a Body holding exactly one element.
    """
    root = safe_parse(data, max_bytes)
    if root.tag != _ENVELOPE:
        raise MalformedSoapMessage(f"root element is {root.tag!r}, not a SOAP 1.1 Envelope")
    children = _elements(root)
    header: etree._Element | None = None
    if children and children[0].tag == _HEADER:
        header = children.pop(0)
    if len(children) != 1 or children[0].tag != _BODY:
        raise MalformedSoapMessage("the Envelope must hold an optional Header and one Body")
    payload = _elements(children[0])
    if len(payload) != 1:
        raise MalformedSoapMessage(f"the Body holds {len(payload)} elements, expected exactly 1")
    return header, payload[0]


@dataclass(frozen=True)
class Fault:
    """A SOAP 1.1 fault.

    ``code`` is the local part of ``faultcode`` when it is in the SOAP envelope namespace
    (``Client`` or ``Server``), else the raw ``faultcode`` text. ``error_code``,
    ``error_status`` and ``error_message`` come from the typed ``euca:error`` detail, when
    there is one.
    """

    code: str
    string: str
    error_code: str | None = None
    error_status: int | None = None
    error_message: str | None = None

    @classmethod
    def from_error(cls, error: AwsError) -> Fault:
        """The fault for a deliberate error: ``Client`` below HTTP 500, ``Server`` from it."""
        side = "Server" if error.status >= 500 else "Client"
        return cls(side, error.message, error.code, error.status, error.message)

    @property
    def faultcode(self) -> str:
        """The ``faultcode`` as written on the wire."""
        return f"soapenv:{self.code}" if self.code in ("Client", "Server") else self.code

    def to_element(self) -> etree._Element:
        """The ``soapenv:Fault`` element (faultcode, faultstring, optional detail)."""
        fault = etree.Element(_FAULT, nsmap=NSMAP)
        etree.SubElement(fault, "faultcode").text = self.faultcode
        etree.SubElement(fault, "faultstring").text = self.string
        if self.error_code is not None:
            detail = etree.SubElement(fault, "detail")
            error = etree.SubElement(detail, _DETAIL_ERROR, code=self.error_code)
            if self.error_status is not None:
                error.set("status", str(self.error_status))
            error.text = self.error_message if self.error_message is not None else self.string
        return fault

    @classmethod
    def from_element(cls, elem: etree._Element) -> Fault:
        """Read a ``soapenv:Fault`` element; raises :class:`MalformedSoapMessage` if not one."""
        if elem.tag != _FAULT:
            raise MalformedSoapMessage(f"{elem.tag!r} is not a SOAP Fault")
        raw_code = (elem.findtext("faultcode") or "").strip()
        prefix, _, local = raw_code.rpartition(":")
        code = local if prefix and elem.nsmap.get(prefix) == SOAP_ENV_NS else raw_code
        string = elem.findtext("faultstring") or ""
        error = elem.find(f"detail/{_DETAIL_ERROR}")
        if error is None:
            return cls(code, string)
        status_text = error.get("status")
        status = int(status_text) if status_text and status_text.isdigit() else None
        return cls(code, string, error.get("code"), status, error.text or "")


def is_fault(elem: etree._Element) -> bool:
    """Whether a Body child is a ``soapenv:Fault``."""
    return elem.tag == _FAULT


def encode_fault(fault: Fault) -> bytes:
    """A complete envelope whose Body holds ``fault``."""
    return encode_envelope([], fault.to_element())
