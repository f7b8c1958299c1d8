"""The component-only seam: EucaOperation requests signed with component keys."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from eucalyptus.common import pki
from eucalyptus.common.soap.security import ComponentKey
from eucalyptus.walrus.internal import sign_internal
from tests.support import Cloud, Walrus


def _cloud_key(cloud: Cloud) -> ComponentKey:
    keys = cloud.paths.keys_dir
    return ComponentKey.load(keys / "cloud-cert.pem", keys / "cloud-pk.pem")


def _call(walrus: Walrus, headers: dict[str, str], path: str = "/usage") -> requests.Response:
    return requests.get(f"{walrus.endpoint}{path}", headers=headers, timeout=10)


@pytest.fixture(scope="module")
def usage_bucket(admin_s3: Any) -> str:
    admin_s3.create_bucket(Bucket="usage")
    admin_s3.put_object(Bucket="usage", Key="a", Body=b"12345")
    admin_s3.put_object(Bucket="usage", Key="b", Body=b"678")
    return "usage"


def test_component_key_is_served(cloud: Cloud, walrus: Walrus, usage_bucket: str) -> None:
    headers = sign_internal(
        _cloud_key(cloud),
        method="GET",
        raw_path="/usage",
        query="",
        operation="DescribeBucketUsage",
    )
    response = _call(walrus, headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"bucket": "usage", "bytes": 8, "objects": 2}


def test_users_and_strangers_are_refused(
    cloud: Cloud, walrus: Walrus, admin_s3: Any, usage_bucket: str
) -> None:
    # a user's valid S3 signature does not open an internal operation
    url = admin_s3.generate_presigned_url("list_objects", Params={"Bucket": "usage"}, ExpiresIn=60)
    user = requests.get(url, headers={"EucaOperation": "DescribeBucketUsage"}, timeout=10)
    assert user.status_code == 403
    assert b"<Code>AccessDenied</Code>" in user.content
    assert _call(walrus, {"EucaOperation": "DescribeBucketUsage"}).status_code == 403
    # a key pair the cloud never issued
    ca = pki.make_cloud_ca()
    stranger = ComponentKey(ca.cert, ca.key)
    headers = sign_internal(
        stranger, method="GET", raw_path="/usage", query="", operation="DescribeBucketUsage"
    )
    assert _call(walrus, headers).status_code == 403


def test_tampering_and_stale_signatures(cloud: Cloud, walrus: Walrus, usage_bucket: str) -> None:
    key = _cloud_key(cloud)
    headers = sign_internal(
        key, method="GET", raw_path="/usage", query="", operation="DescribeBucketUsage"
    )
    # signed for one bucket, sent for another
    assert _call(walrus, headers, "/other").status_code == 403
    forged = dict(headers)
    forged["X-Euca-Signature"] = base64.b64encode(b"\0" * 256).decode()
    assert _call(walrus, forged).status_code == 403
    old = sign_internal(
        key,
        method="GET",
        raw_path="/usage",
        query="",
        operation="DescribeBucketUsage",
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    assert _call(walrus, old).status_code == 403


def test_unknown_operation(cloud: Cloud, walrus: Walrus, usage_bucket: str) -> None:
    headers = sign_internal(
        _cloud_key(cloud), method="GET", raw_path="/usage", query="", operation="NoSuchOp"
    )
    response = _call(walrus, headers)
    assert response.status_code == 501
    assert b"<Code>NotImplemented</Code>" in response.content
