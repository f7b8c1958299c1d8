"""Safe XML parsing for S3 bodies, namespace-blind reading, and S3's XML output."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from eucalyptus.walrus import xmlutil
from eucalyptus.walrus.errors import MalformedACLError, MalformedXML

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<VersioningConfiguration><Status>&lol9;</Status></VersioningConfiguration>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<VersioningConfiguration><Status>&xxe;</Status></VersioningConfiguration>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE foo SYSTEM "http://127.0.0.1:1/evil.dtd">
<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"""

PLAIN_DOCTYPE = b"""<!DOCTYPE VersioningConfiguration>
<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"""


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PLAIN_DOCTYPE],
    ids=["billion-laughs", "external-entity", "external-dtd", "plain-doctype"],
)
def test_doctypes_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedXML):
        xmlutil.parse_xml(body)


def test_doctype_in_utf16_is_refused() -> None:
    body = PLAIN_DOCTYPE.decode().replace("\n", "\r\n")
    encoded = '<?xml version="1.0" encoding="UTF-16"?>\n'.encode("utf-16") + body.encode(
        "utf-16-le"
    )
    assert xmlutil._DECLARATION.search(encoded) is None  # only the parsed tree shows it
    with pytest.raises(MalformedXML) as info:
        xmlutil.parse_xml(encoded)
    assert "Document type" in info.value.message


def test_external_entity_never_reads_the_file() -> None:
    with pytest.raises(MalformedXML) as info:
        xmlutil.parse_xml(EXTERNAL_ENTITY)
    assert "root:" not in info.value.message


def test_undeclared_entity_is_malformed() -> None:
    with pytest.raises(MalformedXML):
        xmlutil.parse_xml(b"<A>&xxe;</A>")


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"<A>", b"<A></B>", b"not xml", b"<A/><B/>", b"\xff\xfe\x00"],
)
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(MalformedXML):
        xmlutil.parse_xml(body)


def test_size_limit_and_custom_error() -> None:
    body = b"<A>" + b"x" * 100 + b"</A>"
    assert xmlutil.local(xmlutil.parse_xml(body, limit=len(body))) == "A"
    with pytest.raises(MalformedXML) as info:
        xmlutil.parse_xml(body, limit=len(body) - 1)
    assert "too large" in info.value.message
    with pytest.raises(MalformedACLError):
        xmlutil.parse_xml(body, limit=10, error=MalformedACLError)
    with pytest.raises(MalformedACLError):
        xmlutil.parse_xml(b"<A>", error=MalformedACLError)


def test_predefined_and_character_entities_still_work() -> None:
    root = xmlutil.parse_xml(b"<A><K>a&amp;b&#65;&lt;</K></A>")
    assert xmlutil.text(root, "K") == "a&bA<"


@pytest.mark.parametrize(
    "body",
    [
        b"<VersioningConfiguration><Status>Enabled</Status><Status>x</Status>"
        b"</VersioningConfiguration>",
        b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Status>Enabled</Status><Status>x</Status></VersioningConfiguration>",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<s3:VersioningConfiguration '
        b'xmlns:s3="urn:other"><!-- note --><s3:Status>Enabled</s3:Status>'
        b"<?pi here?><Status>x</Status></s3:VersioningConfiguration>",
    ],
    ids=["no-namespace", "s3-namespace", "prefixed-other-namespace"],
)
def test_reading_ignores_namespaces(body: bytes) -> None:
    root = xmlutil.parse_xml(body)
    assert xmlutil.local(root) == "VersioningConfiguration"
    status = xmlutil.child(root, "Status")
    assert status is not None and status.text == "Enabled"
    assert [el.text for el in xmlutil.children(root, "Status")] == ["Enabled", "x"]
    assert xmlutil.text(root, "Status") == "Enabled"
    assert xmlutil.child(root, "MfaDelete") is None
    assert xmlutil.children(root, "MfaDelete") == []
    assert xmlutil.text(root, "MfaDelete") is None
    assert xmlutil.text(root, "MfaDelete", "Disabled") == "Disabled"


def test_text_of_an_empty_child_is_empty() -> None:
    root = xmlutil.parse_xml(b"<A><B/><C></C></A>")
    assert xmlutil.text(root, "B", "d") == ""
    assert xmlutil.text(root, "C") == ""


def test_output_document() -> None:
    root = xmlutil.new_root("ListAllMyBucketsResult")
    owner = xmlutil.sub(root, "Owner")
    xmlutil.sub(owner, "ID", "abc")
    xmlutil.sub(owner, "DisplayName", "a & <b>")
    xmlutil.sub(root, "Buckets")
    body = xmlutil.to_bytes(root)
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Owner><ID>abc</ID><DisplayName>a &amp; &lt;b&gt;</DisplayName></Owner>"
        b"<Buckets/></ListAllMyBucketsResult>"
    )
    again = xmlutil.parse_xml(body)
    assert again.tag == f"{{{xmlutil.S3_NS}}}ListAllMyBucketsResult"
    owner_again = xmlutil.child(again, "Owner")
    assert owner_again is not None
    assert xmlutil.text(owner_again, "DisplayName") == "a & <b>"


def test_output_is_utf8() -> None:
    root = xmlutil.new_root("Key")
    root.text = "clé ☃"
    assert xmlutil.to_bytes(root).endswith(f'<Key xmlns="{xmlutil.S3_NS}">clé ☃</Key>'.encode())


def test_dates() -> None:
    naive = datetime(2026, 11, 21, 10, 0, 0, 123456)
    assert xmlutil.iso8601(naive) == "2026-11-21T10:00:00.123Z"
    assert xmlutil.iso8601(datetime(2026, 11, 21, 10, 0)) == "2026-11-21T10:00:00.000Z"
    assert xmlutil.http_date(naive) == "Sat, 21 Nov 2026 10:00:00 GMT"
    aware = datetime(2026, 11, 21, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert xmlutil.iso8601(aware) == "2026-11-21T10:00:00.000Z"
    assert xmlutil.http_date(aware) == "Sat, 21 Nov 2026 10:00:00 GMT"
    assert xmlutil.http_date(datetime(2026, 1, 5, 9, 3, 7, tzinfo=UTC)) == (
        "Mon, 05 Jan 2026 09:03:07 GMT"
    )
