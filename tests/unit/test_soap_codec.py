"""Safe parsing, envelopes and faults of the internal SOAP layer."""

from __future__ import annotations

import pytest
from lxml import etree

from eucalyptus.common.errors import InvalidParameterValue, RequestEntityTooLarge
from eucalyptus.common.soap.codec import (
    SOAP_ENV_NS,
    Fault,
    decode_envelope,
    encode_envelope,
    encode_fault,
    euca,
    is_fault,
    safe_parse,
)
from eucalyptus.common.soap.errors import DoctypeForbidden, MalformedSoapMessage

LIMIT = 64 * 1024


def _payload(text: str = "hello") -> etree._Element:
    elem = etree.Element(euca("ncPing"))
    etree.SubElement(elem, euca("value")).text = text
    return elem


def _envelope_text(body: str, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>{prolog}'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}" xmlns:euca="http://eucalyptus.ucsb.edu/">'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def test_envelope_round_trip_keeps_header_and_body() -> None:
    marker = etree.Element(euca("Marker"))
    marker.text = "m"
    data = encode_envelope([marker], _payload("x < y & z"))
    header, child = decode_envelope(data, LIMIT)
    assert header is not None
    assert header[0].tag == euca("Marker") and header[0].text == "m"
    assert child.tag == euca("ncPing")
    assert child.findtext(euca("value")) == "x < y & z"
    parent = child.getparent()
    assert parent is not None and parent.tag == f"{{{SOAP_ENV_NS}}}Body"


def test_envelope_without_header_elements_has_no_header() -> None:
    header, child = decode_envelope(encode_envelope([], _payload()), LIMIT)
    assert header is None
    assert child.tag == euca("ncPing")


def test_comments_and_processing_instructions_are_dropped() -> None:
    data = _envelope_text(
        "<euca:ncPing><!-- note --><?pi x?><euca:value>v</euca:value></euca:ncPing>"
    )
    _header, child = decode_envelope(data, LIMIT)
    assert [node.tag for node in child] == [euca("value")]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
<soapenv:Body><lolz>&lol4;</lolz></soapenv:Body></soapenv:Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
<soapenv:Body><foo>&xxe;</foo></soapenv:Body></soapenv:Envelope>"""


@pytest.mark.parametrize(
    "document",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        _envelope_text("<euca:x/>", prolog="<!DOCTYPE Envelope>"),
        _envelope_text("<euca:x/>", prolog='<!DOCTYPE Envelope SYSTEM "file:///etc/passwd">'),
    ],
    ids=["billion-laughs", "external-entity", "bare-doctype", "external-dtd"],
)
def test_documents_with_a_doctype_are_refused(document: bytes) -> None:
    with pytest.raises(DoctypeForbidden) as caught:
        decode_envelope(document, LIMIT)
    assert "root:" not in caught.value.message


def test_a_doctype_the_byte_scan_cannot_see_is_refused_after_parsing() -> None:
    document = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY e "boom">]><a>&e;</a>'
    ).encode("utf-16")
    assert b"<!DOCTYPE" not in document
    with pytest.raises(DoctypeForbidden):
        safe_parse(document, LIMIT)


def test_oversized_document_is_refused_before_parsing() -> None:
    # not even XML: a parse attempt would report a syntax error instead of the size
    with pytest.raises(RequestEntityTooLarge):
        safe_parse(b"<" * (LIMIT + 1), LIMIT)
    exactly = encode_envelope([], _payload())
    with pytest.raises(RequestEntityTooLarge):
        decode_envelope(exactly, len(exactly) - 1)
    assert decode_envelope(exactly, len(exactly))[1].tag == euca("ncPing")


@pytest.mark.parametrize(
    "document",
    [
        b"not xml at all",
        b"<a><b></a>",
        b'<Envelope xmlns="urn:other"><Body><x/></Body></Envelope>',
        _envelope_text(""),
        _envelope_text("<euca:a/><euca:b/>"),
        (
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"><soapenv:Body><a/></soapenv:Body>'
            f"<soapenv:Body><b/></soapenv:Body></soapenv:Envelope>"
        ).encode(),
    ],
    ids=["garbage", "unbalanced", "not-soap", "empty-body", "two-body-children", "two-bodies"],
)
def test_malformed_envelopes_are_refused(document: bytes) -> None:
    with pytest.raises(MalformedSoapMessage):
        decode_envelope(document, LIMIT)


def test_fault_carries_a_typed_error_both_ways() -> None:
    error = InvalidParameterValue("port must be positive")
    data = encode_fault(Fault.from_error(error))
    assert b"<faultcode>soapenv:Client</faultcode>" in data
    assert b'code="InvalidParameterValue"' in data and b'status="400"' in data
    _header, child = decode_envelope(data, LIMIT)
    assert is_fault(child)
    fault = Fault.from_element(child)
    assert fault == Fault(
        "Client",
        "port must be positive",
        "InvalidParameterValue",
        400,
        "port must be positive",
    )


def test_server_side_errors_are_server_faults() -> None:
    assert Fault.from_error(RequestEntityTooLarge("big")).code == "Client"
    from eucalyptus.common.errors import ServiceUnavailable

    assert Fault.from_error(ServiceUnavailable("later")).faultcode == "soapenv:Server"


def test_fault_from_a_foreign_peer_without_detail() -> None:
    data = (
        f'<e:Envelope xmlns:e="{SOAP_ENV_NS}"><e:Body><e:Fault>'
        "<faultcode>e:Server</faultcode><faultstring>boom</faultstring>"
        "</e:Fault></e:Body></e:Envelope>"
    ).encode()
    _header, child = decode_envelope(data, LIMIT)
    assert Fault.from_element(child) == Fault("Server", "boom")
