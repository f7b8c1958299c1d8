"""Query-protocol parameters and the per-family envelopes."""

from __future__ import annotations

import pytest
from lxml import etree

from eucalyptus.common.api.envelopes import ec2_error, ec2_success, iam_error, iam_success
from eucalyptus.common.api.params import QueryParams
from eucalyptus.common.errors import (
    InvalidParameterValue,
    MissingParameter,
    SignatureDoesNotMatch,
)


def test_indexed_lists_come_back_in_index_order() -> None:
    params = QueryParams(
        [
            ("InstanceId.10", "i-c"),
            ("InstanceId.2", "i-b"),
            ("InstanceId.1", "i-a"),
            ("Names.member.1", "n1"),
            ("Names.member.2", "n2"),
        ]
    )
    assert params.get_list("InstanceId") == ["i-a", "i-b", "i-c"]
    assert params.get_list("Names") == ["n1", "n2"]
    assert params.get_list("Absent") == []


def test_filters_with_several_values() -> None:
    params = QueryParams(
        [
            ("Filter.2.Name", "tag:Env"),
            ("Filter.2.Value.1", "prod"),
            ("Filter.1.Name", "group-name"),
            ("Filter.1.Value.2", "b"),
            ("Filter.1.Value.1", "a"),
        ]
    )
    assert params.get_structs("Filter") == [
        {"Name": "group-name", "Value": ["a", "b"]},
        {"Name": "tag:Env", "Value": ["prod"]},
    ]


def test_typed_values_and_their_errors() -> None:
    params = QueryParams([("MaxItems", "5"), ("Bad", "x"), ("Flag", "true"), ("Empty", "")])
    assert params.get_int("MaxItems", minimum=1, maximum=10) == 5
    assert params.get_bool("Flag") is True
    with pytest.raises(InvalidParameterValue, match="not an integer"):
        params.get_int("Bad")
    with pytest.raises(InvalidParameterValue, match="between 1 and 3"):
        params.get_int("MaxItems", minimum=1, maximum=3)
    with pytest.raises(InvalidParameterValue, match="expected true or false"):
        params.get_bool("Bad")
    with pytest.raises(MissingParameter, match="UserName"):
        params.require("UserName")
    with pytest.raises(MissingParameter, match="Empty"):
        params.require("Empty")


def test_first_occurrence_of_a_repeated_parameter_wins() -> None:
    assert QueryParams([("Action", "GetUser"), ("Action", "DeleteUser")]).action == "GetUser"


def test_iam_envelopes() -> None:
    body = etree.fromstring(iam_success("GetUser", {"User": {"UserName": "a"}}, "rid-1"))
    ns = {"i": "https://iam.amazonaws.com/doc/2010-05-08/"}
    assert body.tag == "{https://iam.amazonaws.com/doc/2010-05-08/}GetUserResponse"
    assert body.findtext("i:GetUserResult/i:User/i:UserName", namespaces=ns) == "a"
    assert body.findtext("i:ResponseMetadata/i:RequestId", namespaces=ns) == "rid-1"
    error_xml, status = iam_error(SignatureDoesNotMatch("nope"), "rid-2")
    error = etree.fromstring(error_xml)
    assert status == 403
    assert error.findtext("i:Error/i:Code", namespaces=ns) == "SignatureDoesNotMatch"
    assert error.findtext("i:Error/i:Type", namespaces=ns) == "Sender"
    assert error.findtext("i:RequestId", namespaces=ns) == "rid-2"


def test_ec2_envelopes_use_the_version_namespace_and_family_codes() -> None:
    body = etree.fromstring(ec2_success("DescribeRegions", "2014-06-15", {"x": [1, 2]}, "r"))
    assert body.tag == "{http://ec2.amazonaws.com/doc/2014-06-15/}DescribeRegionsResponse"
    items = body.findall(
        "{http://ec2.amazonaws.com/doc/2014-06-15/}x/{http://ec2.amazonaws.com/doc/2014-06-15/}item"
    )
    assert [i.text for i in items] == ["1", "2"]
    error_xml, status = ec2_error(SignatureDoesNotMatch("nope"), "r")
    error = etree.fromstring(error_xml)
    assert status == 401
    assert error.findtext("Errors/Error/Code") == "AuthFailure"
    assert error.findtext("RequestID") == "r"
