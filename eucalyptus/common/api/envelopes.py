"""One renderer per API family: success and error envelopes with request ids.

* EC2: ``<XResponse xmlns=ns><requestId/>...</XResponse>``; errors
  ``<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>``.
* IAM: ``<XResponse><XResult>...</XResult><ResponseMetadata><RequestId/>``; errors
  ``<ErrorResponse xmlns=ns><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/>``.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from eucalyptus.common.api.xmlout import document
from eucalyptus.common.errors import ApiFamily, AwsError

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
EC2_DEFAULT_VERSION = "2016-11-15"


def ec2_namespace(version: str) -> str:
    return f"http://ec2.amazonaws.com/doc/{version or EC2_DEFAULT_VERSION}/"


def iam_success(action: str, result: dict[str, Any] | None, request_id: str) -> bytes:
    body: dict[str, Any] = {}
    if result is not None:
        body[f"{action}Result"] = result
    body["ResponseMetadata"] = {"RequestId": request_id}
    return document(f"{action}Response", IAM_NS, body, list_item="member")


def ec2_success(action: str, version: str, result: dict[str, Any], request_id: str) -> bytes:
    body: dict[str, Any] = {"requestId": request_id, **result}
    return document(f"{action}Response", ec2_namespace(version), body, list_item="item")


def error_code(error: AwsError, family: ApiFamily) -> tuple[str, int]:
    return error.code_for(family)


def iam_error(error: AwsError, request_id: str) -> tuple[bytes, int]:
    code, status = error.code_for("iam")
    root = etree.Element(f"{{{IAM_NS}}}ErrorResponse", nsmap={None: IAM_NS})  # type: ignore[dict-item]
    err = etree.SubElement(root, f"{{{IAM_NS}}}Error")
    etree.SubElement(err, f"{{{IAM_NS}}}Type").text = "Sender" if status < 500 else "Receiver"
    etree.SubElement(err, f"{{{IAM_NS}}}Code").text = code
    etree.SubElement(err, f"{{{IAM_NS}}}Message").text = error.message
    etree.SubElement(root, f"{{{IAM_NS}}}RequestId").text = request_id
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8")), status


def ec2_error(error: AwsError, request_id: str) -> tuple[bytes, int]:
    code, status = error.code_for("ec2")
    root = etree.Element("Response")
    errors = etree.SubElement(root, "Errors")
    err = etree.SubElement(errors, "Error")
    etree.SubElement(err, "Code").text = code
    etree.SubElement(err, "Message").text = error.message
    etree.SubElement(root, "RequestID").text = request_id
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8")), status
