"""Message declarations: every field type both ways, wire names, and refusals of bad input."""

from __future__ import annotations

import math
from dataclasses import field
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

import pytest
from lxml import etree

from eucalyptus.common.errors import InvalidAction, InvalidParameterValue
from eucalyptus.common.soap.codec import EUCA_NS, euca
from eucalyptus.common.soap.configuration_msgs import (
    CONFIGURATION_SERVICE,
    DESCRIBE_SERVICE,
    ComponentRecord,
    DescribeComponentsResponseType,
)
from eucalyptus.common.soap.messages import (
    EucalyptusMessage,
    check_message_type,
    from_xml,
    message,
    to_xml,
    wire_name,
)
from eucalyptus.common.soap.operations import Operation, ServiceDecl, Timeouts


@message
class NetConfig:
    private_mac_address: str
    vlan: int
    public_ip: str | None = None


@message
class EveryType(EucalyptusMessage):
    text: str
    count: int
    flag: bool
    ratio: float
    blob: bytes
    when: datetime
    net: NetConfig
    names: list[str] = field(default_factory=list)
    nets: list[NetConfig] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    maybe: str | None = None
    maybe_net: NetConfig | None = None
    kind: Literal["machine", "kernel"] = "machine"
    type_: str = field(default="t", metadata={"wire": "instanceType"})


def _full() -> EveryType:
    return EveryType(
        correlation_id="c-1",
        user_id="eucalyptus",
        status_message="fine",
        return_=False,
        epoch=7,
        node_name="node-1",
        text="  spaces & <markup>  ",
        count=-42,
        flag=True,
        ratio=0.1,
        blob=bytes(range(256)),
        when=datetime(2026, 11, 21, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
        net=NetConfig(private_mac_address="d0:0d:00:00:00:01", vlan=10, public_ip="1.2.3.4"),
        names=["a", "", "c"],
        nets=[
            NetConfig(private_mac_address="m1", vlan=1),
            NetConfig(private_mac_address="m2", vlan=2),
        ],
        sizes=[1, 2, 3],
        maybe="present",
        maybe_net=NetConfig(private_mac_address="m3", vlan=3),
        kind="kernel",
        type_="m1.small",
    )


def _round_trip(obj: EveryType) -> EveryType:
    data = etree.tostring(to_xml(obj, "everyType"))
    return from_xml(EveryType, etree.fromstring(data))


def test_every_field_type_round_trips() -> None:
    original = _full()
    decoded = _round_trip(original)
    assert decoded == original
    assert decoded.when.utcoffset() == timedelta(0)  # written in UTC, same instant


def test_absent_optionals_and_empty_lists_round_trip() -> None:
    original = EveryType(
        text="",
        count=0,
        flag=False,
        ratio=-2.5e-10,
        blob=b"",
        when=datetime(1999, 1, 1, tzinfo=UTC),
        net=NetConfig(private_mac_address="", vlan=0),
    )
    xml = to_xml(original, "everyType")
    assert xml.find(euca("maybe")) is None and xml.find(euca("names")) is None
    assert _round_trip(original) == original


def test_special_floats_round_trip() -> None:
    for value in (math.inf, -math.inf):
        assert _round_trip(_with(ratio=value)).ratio == value
    assert math.isnan(_round_trip(_with(ratio=math.nan)).ratio)


def _with(**changes: object) -> EveryType:
    obj = _full()
    for key, value in changes.items():
        setattr(obj, key, value)
    return obj


def test_wire_names_are_lower_camel_case_or_overridden() -> None:
    xml = to_xml(_full(), "everyType")
    assert xml.tag == euca("everyType")
    children = [child.tag.removeprefix(f"{{{EUCA_NS}}}") for child in xml]
    assert children[:6] == [
        "correlationId",
        "userId",
        "statusMessage",
        "return",
        "epoch",
        "nodeName",
    ]
    assert "instanceType" in children and "maybeNet" in children
    assert xml.find(f"{euca('net')}/{euca('privateMacAddress')}") is not None
    assert [e.text for e in xml.findall(euca("names"))] == ["a", "", "c"]
    assert wire_name("return_") == "return" and wire_name("last_seen") == "lastSeen"


def _decode(xml: str) -> EveryType:
    return from_xml(EveryType, etree.fromstring(f'<e:x xmlns:e="{EUCA_NS}">{xml}</e:x>'))


REQUIRED = (
    "<e:text>t</e:text><e:count>1</e:count><e:flag>1</e:flag><e:ratio>1.5</e:ratio>"
    "<e:blob>AAE=</e:blob><e:when>2026-01-01T00:00:00</e:when>"
    "<e:net><e:privateMacAddress>m</e:privateMacAddress><e:vlan>4</e:vlan></e:net>"
)


def test_minimal_input_decodes_with_defaults_and_ignores_unknown_elements() -> None:
    obj = _decode(REQUIRED + "<e:unknown>zzz</e:unknown><other:x xmlns:other='urn:o'/>")
    assert obj.flag is True and obj.blob == b"\x00\x01"
    assert obj.when == datetime(2026, 1, 1, tzinfo=UTC)  # no offset: read as UTC
    assert obj.names == [] and obj.maybe is None and obj.return_ is True
    assert obj.kind == "machine" and obj.type_ == "t"


def test_missing_required_field_is_named() -> None:
    with pytest.raises(InvalidParameterValue, match=r"x\.count: required field is missing"):
        _decode(REQUIRED.replace("<e:count>1</e:count>", ""))
    with pytest.raises(InvalidParameterValue, match=r"x\.net\.vlan: required"):
        _decode(REQUIRED.replace("<e:vlan>4</e:vlan>", ""))


@pytest.mark.parametrize(
    ("replace", "by", "reason"),
    [
        ("<e:count>1</e:count>", "<e:count>abc</e:count>", r"x\.count: expected an integer"),
        ("<e:count>1</e:count>", "<e:count>1.0</e:count>", r"x\.count: expected an integer"),
        ("<e:flag>1</e:flag>", "<e:flag>yes</e:flag>", r"x\.flag: expected true or false"),
        ("<e:ratio>1.5</e:ratio>", "<e:ratio>1_5</e:ratio>", r"x\.ratio: expected a number"),
        ("<e:blob>AAE=</e:blob>", "<e:blob>not*base64</e:blob>", r"x\.blob: expected base64"),
        ("<e:when>2026-01-01T00:00:00</e:when>", "<e:when>noon</e:when>", r"x\.when: expected"),
        ("<e:vlan>4</e:vlan>", "<e:vlan>4</e:vlan><e:vlan>5</e:vlan>", r"x\.net\.vlan: appears 2"),
        ("<e:text>t</e:text>", "<e:text><e:b/></e:text>", r"x\.text: a simple value must not"),
        (
            "<e:count>1</e:count>",
            '<e:count xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="true"/>',
            r"x\.count: is nil",
        ),
    ],
    ids=["int", "int-float", "bool", "float", "base64", "datetime", "repeated", "nested", "nil"],
)
def test_malformed_values_are_refused(replace: str, by: str, reason: str) -> None:
    assert replace in REQUIRED
    with pytest.raises(InvalidParameterValue, match=reason):
        _decode(REQUIRED.replace(replace, by))


def test_literal_values_outside_the_declaration_are_refused() -> None:
    with pytest.raises(InvalidParameterValue, match=r"x\.kind: 'ramdisk' is not one of"):
        _decode(REQUIRED + "<e:kind>ramdisk</e:kind>")
    with pytest.raises(ValueError, match="kind"):
        to_xml(_with(kind="ramdisk"))


def test_list_items_are_checked_with_their_index() -> None:
    with pytest.raises(InvalidParameterValue, match=r"x\.sizes\[1\]: expected an integer"):
        _decode(REQUIRED + "<e:sizes>1</e:sizes><e:sizes>two</e:sizes>")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"count": "1"}, TypeError),
        ({"count": True}, TypeError),
        ({"flag": 1}, TypeError),
        ({"text": None}, TypeError),
        ({"names": "abc"}, TypeError),
        ({"net": "x"}, TypeError),
        ({"when": datetime(2026, 1, 1)}, ValueError),
        ({"text": "bell \x07"}, ValueError),
    ],
    ids=[
        "str-as-int",
        "bool-as-int",
        "int-as-bool",
        "none",
        "str-as-list",
        "nested",
        "naive",
        "control-char",
    ],
)
def test_encoding_refuses_values_that_do_not_match_the_declaration(
    changes: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        to_xml(_with(**changes))


def test_unsupported_field_types_are_refused_at_declaration() -> None:
    @message
    class Bad(EucalyptusMessage):
        table: dict[str, int]

    with pytest.raises(TypeError, match=r"Bad\.table: unsupported"):
        check_message_type(Bad)
    with pytest.raises(TypeError, match=r"Bad\.table"):
        Operation("Bad", Bad, EucalyptusMessage, timeout=1.0, idempotent=True)


def test_service_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        ServiceDecl("S", "/s", [DESCRIBE_SERVICE, DESCRIBE_SERVICE])
    with pytest.raises(ValueError, match="timeout"):
        Operation("X", EucalyptusMessage, EucalyptusMessage, timeout=0, idempotent=True)
    assert CONFIGURATION_SERVICE.soap_action("RegisterComponent") == (
        "Configuration#RegisterComponent"
    )
    assert CONFIGURATION_SERVICE.operation("DescribeService") is DESCRIBE_SERVICE
    assert DESCRIBE_SERVICE.timeout == Timeouts.URGENT
    with pytest.raises(InvalidAction):
        CONFIGURATION_SERVICE.operation("ncRunInstance")


def test_configuration_messages_round_trip() -> None:
    response = DescribeComponentsResponseType(
        components=[
            ComponentRecord(
                component_type="node",
                partition="cluster01",
                name="nc-1",
                host="10.0.0.5",
                port=8775,
                state="ENABLED",
                last_seen=datetime(2026, 11, 21, tzinfo=UTC),
            ),
            ComponentRecord(
                component_type="walrus",
                partition="walrus",
                name="walrus",
                host="10.0.0.1",
                port=8773,
                state="NOTREADY",
            ),
        ]
    )
    xml = to_xml(response, "DescribeComponentsResponse")
    assert xml.find(f"{euca('components')}/{euca('type')}") is not None
    assert from_xml(DescribeComponentsResponseType, xml) == response
