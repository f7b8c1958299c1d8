"""Helpers for the Euare integration tests: clients, hand-signed requests, error parsing.

boto3 cannot send the Eucalyptus extensions (CreateAccount, IsRecursive,
DelegateAccount, ...), so :func:`call` signs a Query request itself with the
project's own client-side signers and posts it with ``requests``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from lxml import etree

from eucalyptus.common.auth import sign_v2_query, sign_v4_headers
from tests.support import Cloud

IAM_VERSION = "2010-05-08"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
IAM_NS = {"i": "https://iam.amazonaws.com/doc/2010-05-08/"}

Key = tuple[str, str]


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{secrets.token_hex(4)}"


def iam_client(cloud: Cloud, key: Key) -> Any:
    """A boto3 IAM client with ``key`` that does not retry (every answer is seen)."""
    return boto3.client(
        "iam",
        endpoint_url=cloud.url("Euare"),
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        region_name="eucalyptus",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def client_error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    """(code, HTTP status, message) of a boto3 error."""
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )


def call(
    cloud: Cloud,
    key: Key,
    action: str,
    params: Mapping[str, str] | None = None,
    *,
    service: str = "Euare",
    version: str = IAM_VERSION,
    sigv2: bool = False,
    now: datetime | None = None,
) -> requests.Response:
    """POST one hand-signed Query request (SigV4, or SigV2 when asked)."""
    url = cloud.url(service)
    when = now or datetime.now(UTC)
    form = {"Action": action, "Version": version, **(params or {})}
    headers = {"Content-Type": FORM}
    if sigv2:
        pairs = sign_v2_query(
            "POST", urlsplit(url).netloc, urlsplit(url).path, form, key[0], key[1], now=when
        )
        body = urlencode(pairs).encode()
    else:
        body = urlencode(form).encode()
        signing = "iam" if service == "Euare" else "ec2"
        headers = sign_v4_headers(
            "POST",
            url,
            headers,
            body,
            key[0],
            key[1],
            region="eucalyptus",
            service=signing,
            now=when,
        )
    return requests.post(url, data=body, headers=headers, timeout=30)


@dataclass(frozen=True)
class IamError:
    type: str
    code: str
    message: str
    request_id: str


def iam_error(response: requests.Response) -> IamError:
    """The parts of an IAM ``ErrorResponse``; fails the test if the envelope is wrong."""
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{IAM_NS['i']}}}ErrorResponse", response.text
    return IamError(
        type=root.findtext("i:Error/i:Type", namespaces=IAM_NS) or "",
        code=root.findtext("i:Error/i:Code", namespaces=IAM_NS) or "",
        message=root.findtext("i:Error/i:Message", namespaces=IAM_NS) or "",
        request_id=root.findtext("i:RequestId", namespaces=IAM_NS) or "",
    )


def iam_result(response: requests.Response) -> etree._Element:
    """The ``<Action>Result`` element of a successful IAM response."""
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    result = root.find("i:*", IAM_NS)
    assert result is not None, response.text
    return result


def create_account(cloud: Cloud, name: str) -> str:
    """CreateAccount as the cloud admin; returns the account number."""
    result = iam_result(call(cloud, cloud.admin_key, "CreateAccount", {"AccountName": name}))
    number = result.findtext("i:Account/i:AccountId", namespaces=IAM_NS)
    assert number, etree.tostring(result)
    return number


def account_admin_key(cloud: Cloud, account: str) -> Key:
    """A new access key of ``account``'s admin, made by the cloud admin (DelegateAccount)."""
    result = iam_result(
        call(cloud, cloud.admin_key, "CreateAccessKey", {"DelegateAccount": account})
    )
    assert result.findtext("i:AccessKey/i:UserName", namespaces=IAM_NS) == "admin"
    key_id = result.findtext("i:AccessKey/i:AccessKeyId", namespaces=IAM_NS)
    secret = result.findtext("i:AccessKey/i:SecretAccessKey", namespaces=IAM_NS)
    assert key_id and secret
    return key_id, secret


def user_key(iam: Any, user: str) -> Key:
    """A new access key of ``user``, made with the ``iam`` client."""
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]
