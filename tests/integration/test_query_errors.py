"""The Query pipeline over raw HTTP and boto 2: authentication, envelopes, limits, request ids."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import boto.exception
import boto.iam.connection
import pytest
import requests
from lxml import etree

from eucalyptus.common.auth import sign_v4_headers
from tests.integration.euare import FORM, call, iam_error, iam_result, unique
from tests.support import Cloud

LIST_USERS = {"Action": "ListUsers", "Version": "2010-05-08"}


def _assert_request_id_header(response: requests.Response, body_id: str) -> None:
    assert body_id
    assert response.headers["x-amzn-RequestId"] == body_id


def test_unauthenticated_request_is_missing_authentication_token(cloud: Cloud) -> None:
    response = requests.post(cloud.url(), data=LIST_USERS, timeout=30)
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("text/xml")
    error = iam_error(response)
    assert (error.type, error.code) == ("Sender", "MissingAuthenticationToken")
    assert error.message
    _assert_request_id_header(response, error.request_id)


def test_success_carries_the_same_request_id_in_header_and_body(cloud: Cloud) -> None:
    response = call(cloud, cloud.admin_key, "GetUser")
    iam_result(response)
    root = etree.fromstring(response.content)
    body_id = root.findtext("{*}ResponseMetadata/{*}RequestId") or ""
    _assert_request_id_header(response, body_id)
    other = call(cloud, cloud.admin_key, "GetUser")
    assert other.headers["x-amzn-RequestId"] != body_id


def test_wrong_secret_is_signature_does_not_match(cloud: Cloud) -> None:
    key_id, _ = cloud.admin_key
    for sigv2 in (False, True):
        response = call(cloud, (key_id, "W" * 40), "ListUsers", sigv2=sigv2)
        assert response.status_code == 403
        error = iam_error(response)
        assert error.code == "SignatureDoesNotMatch"
        _assert_request_id_header(response, error.request_id)


def test_ec2_bad_signature_is_auth_failure_in_the_ec2_envelope(cloud: Cloud) -> None:
    key_id, _ = cloud.admin_key
    response = call(
        cloud, (key_id, "W" * 40), "DescribeInstances", service="Eucalyptus", version="2016-11-15"
    )
    assert response.status_code == 401
    root = etree.fromstring(response.content)
    assert root.tag == "Response"
    assert root.findtext("Errors/Error/Code") == "AuthFailure"
    assert root.findtext("Errors/Error/Message")
    _assert_request_id_header(response, root.findtext("RequestID") or "")


def test_unknown_access_key_is_invalid_client_token_id(cloud: Cloud) -> None:
    response = call(cloud, ("AKIUNKNOWN0000000000", "x" * 40), "ListUsers")
    assert response.status_code == 403
    assert iam_error(response).code == "InvalidClientTokenId"


@pytest.mark.parametrize("minutes", [-20, 20], ids=["past", "future"])
@pytest.mark.parametrize("sigv2", [False, True], ids=["sigv4", "sigv2"])
def test_request_signed_twenty_minutes_off_is_refused(
    cloud: Cloud, sigv2: bool, minutes: int
) -> None:
    then = datetime.now(UTC) + timedelta(minutes=minutes)
    response = call(cloud, cloud.admin_key, "ListUsers", sigv2=sigv2, now=then)
    assert response.status_code == 403
    error = iam_error(response)
    assert error.code == "SignatureDoesNotMatch"
    assert ("expired" if minutes < 0 else "not yet current") in error.message


def test_unknown_action_is_invalid_action(cloud: Cloud) -> None:
    response = call(cloud, cloud.admin_key, "LaunchRockets")
    assert response.status_code == 400
    error = iam_error(response)
    assert error.code == "InvalidAction"
    assert "LaunchRockets" in error.message


def test_missing_parameter_is_missing_parameter(cloud: Cloud) -> None:
    response = call(cloud, cloud.admin_key, "CreateUser")
    assert response.status_code == 400
    error = iam_error(response)
    assert error.code == "MissingParameter"
    assert "UserName" in error.message


def _raw_exchange(cloud: Cloud, head: bytes, body: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", cloud.port), timeout=timeout) as sock:
        sock.sendall(head + body)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_oversized_content_length_is_refused_before_the_body_is_read(cloud: Cloud) -> None:
    head = (
        f"POST /services/Euare HTTP/1.1\r\nHost: 127.0.0.1:{cloud.port}\r\n"
        f"Content-Type: {FORM}\r\nContent-Length: 5000000\r\n\r\n"
    ).encode()
    started = time.monotonic()
    # the server answers without waiting for the 5 MB it was promised
    answer = _raw_exchange(cloud, head, b"Action=ListUsers&Version=2010-05-08")
    assert time.monotonic() - started < 5
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"x-amzn-requestid" in answer.lower()


def test_streamed_body_over_one_mib_is_refused(cloud: Cloud) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"Action=ListUsers&Version=2010-05-08&Padding="
        for _ in range(24):
            yield b"x" * 65536

    response = requests.post(cloud.url(), data=chunks(), headers={"Content-Type": FORM}, timeout=30)
    assert response.status_code == 413
    assert iam_error(response).code == "RequestEntityTooLarge"


def test_streamed_body_under_the_limit_arrives_whole(cloud: Cloud) -> None:
    form = {**LIST_USERS, "Padding": "x" * 900_000}
    body = urlencode(form).encode()
    headers = sign_v4_headers(
        "POST",
        cloud.url(),
        {"Content-Type": FORM},
        body,
        *cloud.admin_key,
        region="eucalyptus",
        service="iam",
        now=datetime.now(UTC),
    )

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]
            if start % (64 * 8192) == 0:
                time.sleep(0.01)  # arrive in pieces

    response = requests.post(cloud.url(), data=chunks(), headers=headers, timeout=30)
    iam_result(response)


def test_refused_request_is_logged_with_its_request_id(cloud: Cloud) -> None:
    response = call(cloud, ("AKIUNKNOWN0000000001", "x" * 40), "ListUsers")
    rid = iam_error(response).request_id
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [line for line in cloud.log_text().splitlines() if rid in line]
        if lines:
            break
        time.sleep(0.05)
    assert lines, f"request id {rid} not in cloud.log"
    assert any("InvalidClientTokenId" in line for line in lines), lines


# --- boto 2 ----------------------------------------------------------------------------------


class _SigV2IAMConnection(boto.iam.connection.IAMConnection):  # type: ignore[misc]
    """boto 2's IAM connection signs SigV4 ('hmac-v4'); ask for its Query SigV2 signer."""

    def _required_auth_capability(self) -> list[str]:
        return ["sign-v2"]


def _boto2(cloud: Cloud, key: tuple[str, str], method: str | None) -> Any:
    cls = boto.iam.connection.IAMConnection if method is None else _SigV2IAMConnection
    conn = cls(
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        host="127.0.0.1",
        port=cloud.port,
        path="/services/Euare",
        is_secure=False,
    )
    if method == "HmacSHA1":
        conn._auth_handler._hmac_256 = None  # boto 2 falls back to HmacSHA1 without it
    if method is not None:
        assert conn._auth_handler.algorithm() == method
    return conn


@pytest.mark.parametrize("method", ["HmacSHA1", "HmacSHA256", None], ids=["sha1", "sha256", "v4"])
def test_boto2_gets_creates_and_lists_users(cloud: Cloud, method: str | None) -> None:
    conn = _boto2(cloud, cloud.admin_key, method)
    me = conn.get_user()["get_user_response"]["get_user_result"]["user"]
    assert me["user_name"] == "admin"
    name = unique("boto2")
    made = conn.create_user(name, path="/boto2/")["create_user_response"]["create_user_result"]
    assert made["user"]["user_name"] == name
    listed = conn.get_all_users(path_prefix="/boto2/")["list_users_response"]["list_users_result"]
    assert name in [u["user_name"] for u in listed["users"]]


def test_boto2_wrong_secret_is_refused(cloud: Cloud) -> None:
    conn = _boto2(cloud, (cloud.admin_key[0], "W" * 40), "HmacSHA256")
    with pytest.raises(boto.exception.BotoServerError) as excinfo:
        conn.get_user()
    assert (excinfo.value.status, excinfo.value.error_code) == (403, "SignatureDoesNotMatch")
