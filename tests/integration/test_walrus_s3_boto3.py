"""Walrus against boto3 (SigV4, path style under /services/Walrus and at the port's root)."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from tests.support import Cloud, Walrus, s3_client

pytestmark = pytest.mark.timeout(300)


def _code(exc: ClientError) -> tuple[str, int]:
    return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]


def test_bucket_lifecycle(admin_s3: Any) -> None:
    admin_s3.create_bucket(Bucket="life")
    names = [b["Name"] for b in admin_s3.list_buckets()["Buckets"]]
    assert "life" in names
    admin_s3.head_bucket(Bucket="life")
    with pytest.raises(ClientError) as err:
        admin_s3.create_bucket(Bucket="life")
    assert _code(err.value) == ("BucketAlreadyOwnedByYou", 409)
    admin_s3.put_object(Bucket="life", Key="k", Body=b"x")
    with pytest.raises(ClientError) as err:
        admin_s3.delete_bucket(Bucket="life")
    assert _code(err.value) == ("BucketNotEmpty", 409)
    admin_s3.delete_object(Bucket="life", Key="k")
    admin_s3.delete_bucket(Bucket="life")
    with pytest.raises(ClientError) as err:
        admin_s3.head_bucket(Bucket="life")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_bad_bucket_names(admin_s3: Any) -> None:
    for name in ("ab", "a" * 256, "bad/name", "bad name"):
        with pytest.raises((ClientError, Exception)):
            admin_s3.create_bucket(Bucket=name)


def test_put_get_roundtrip_and_metadata(admin_s3: Any) -> None:
    admin_s3.create_bucket(Bucket="objs")
    data = os.urandom(300_000)
    put = admin_s3.put_object(
        Bucket="objs",
        Key="dir/ünïcode key+with spaces~.bin",
        Body=data,
        ContentType="application/x-test",
        Metadata={"color": "blue"},
        CacheControl="max-age=60",
        ContentDisposition="attachment",
    )
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = admin_s3.get_object(Bucket="objs", Key="dir/ünïcode key+with spaces~.bin")
    assert got["Body"].read() == data
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"color": "blue"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == "attachment"
    head = admin_s3.head_object(Bucket="objs", Key="dir/ünïcode key+with spaces~.bin")
    assert head["ContentLength"] == len(data)


def test_range_and_conditionals(admin_s3: Any) -> None:
    admin_s3.create_bucket(Bucket="ranges")
    data = bytes(range(256)) * 40
    etag = admin_s3.put_object(Bucket="ranges", Key="r", Body=data)["ETag"]
    part = admin_s3.get_object(Bucket="ranges", Key="r", Range="bytes=10-19")
    assert part["Body"].read() == data[10:20]
    assert part["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    tail = admin_s3.get_object(Bucket="ranges", Key="r", Range="bytes=-5")
    assert tail["Body"].read() == data[-5:]
    with pytest.raises(ClientError) as err:
        admin_s3.get_object(Bucket="ranges", Key="r", Range=f"bytes={len(data)}-")
    assert _code(err.value) == ("InvalidRange", 416)
    with pytest.raises(ClientError) as err:
        admin_s3.get_object(Bucket="ranges", Key="r", IfMatch='"nope"')
    assert _code(err.value) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as err:
        admin_s3.get_object(Bucket="ranges", Key="r", IfNoneMatch=etag)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    assert admin_s3.get_object(Bucket="ranges", Key="r", IfMatch=etag)["Body"].read() == data


def test_bad_digest_leaves_nothing(admin_s3: Any) -> None:
    admin_s3.create_bucket(Bucket="digests")
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as err:
        admin_s3.put_object(Bucket="digests", Key="d", Body=b"payload", ContentMD5=wrong)
    assert _code(err.value) == ("BadDigest", 400)
    with pytest.raises(ClientError) as err:
        admin_s3.head_object(Bucket="digests", Key="d")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_copy_object(admin_s3: Any) -> None:
    admin_s3.create_bucket(Bucket="copies")
    admin_s3.put_object(Bucket="copies", Key="src", Body=b"hello", Metadata={"a": "1"})
    admin_s3.copy_object(Bucket="copies", Key="dst", CopySource={"Bucket": "copies", "Key": "src"})
    got = admin_s3.get_object(Bucket="copies", Key="dst")
    assert got["Body"].read() == b"hello"
    assert got["Metadata"] == {"a": "1"}
    admin_s3.copy_object(
        Bucket="copies",
        Key="dst2",
        CopySource="copies/src",
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
    )
    assert admin_s3.head_object(Bucket="copies", Key="dst2")["Metadata"] == {"b": "2"}
    with pytest.raises(ClientError) as err:
        admin_s3.copy_object(Bucket="copies", Key="src", CopySource="copies/src")
    assert _code(err.value) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as err:
        admin_s3.copy_object(
            Bucket="copies", Key="x", CopySource="copies/src", CopySourceIfMatch='"zz"'
        )
    assert _code(err.value) == ("PreconditionFailed", 412)


def test_errors_have_s3_bodies(walrus: Walrus, admin_s3: Any) -> None:
    with pytest.raises(ClientError) as err:
        admin_s3.get_object(Bucket="no-such-bucket-here", Key="k")
    assert _code(err.value) == ("NoSuchBucket", 404)
    admin_s3.create_bucket(Bucket="errs")
    with pytest.raises(ClientError) as err:
        admin_s3.get_object(Bucket="errs", Key="missing")
    assert _code(err.value) == ("NoSuchKey", 404)
    response = requests.get(f"{walrus.endpoint}/errs/missing", timeout=10)
    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content
    assert b"<RequestId>" in response.content


def test_wrong_secret_and_unknown_key(cloud: Cloud, walrus: Walrus) -> None:
    key, secret = cloud.admin_key
    bad = s3_client(walrus.service_url, (key, secret[:-1] + "x"))
    with pytest.raises(ClientError) as err:
        bad.list_buckets()
    assert _code(err.value) == ("SignatureDoesNotMatch", 403)
    unknown = s3_client(walrus.service_url, ("AKIUNKNOWNUNKNOWN123", secret))
    with pytest.raises(ClientError) as err:
        unknown.list_buckets()
    assert _code(err.value) == ("InvalidAccessKeyId", 403)


def test_root_of_port_and_presigned(cloud: Cloud, walrus: Walrus, admin_s3: Any) -> None:
    root = s3_client(walrus.endpoint, cloud.admin_key)
    root.create_bucket(Bucket="rooted")
    root.put_object(Bucket="rooted", Key="a/b", Body=b"at the root")
    assert admin_s3.get_object(Bucket="rooted", Key="a/b")["Body"].read() == b"at the root"
    url = root.generate_presigned_url(
        "get_object", Params={"Bucket": "rooted", "Key": "a/b"}, ExpiresIn=300
    )
    assert requests.get(url, timeout=10).content == b"at the root"
    put_url = admin_s3.generate_presigned_url(
        "put_object", Params={"Bucket": "rooted", "Key": "via-url"}, ExpiresIn=300
    )
    assert requests.put(put_url, data=b"uploaded", timeout=10).status_code == 200
    assert root.get_object(Bucket="rooted", Key="via-url")["Body"].read() == b"uploaded"
    expired = root.generate_presigned_url(
        "get_object", Params={"Bucket": "rooted", "Key": "a/b"}, ExpiresIn=1
    )
    time.sleep(2.1)
    response = requests.get(expired, timeout=10)
    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content


def test_unsigned_payload_and_checksums(cloud: Cloud, walrus: Walrus) -> None:
    client = s3_client(
        walrus.service_url,
        cloud.admin_key,
        request_checksum_calculation="when_supported",
    )
    client.create_bucket(Bucket="sums")
    # CRC32C and CRC64NVME need botocore[crt] on the client side; the unit tests cover them
    for algorithm in ("CRC32", "SHA1", "SHA256"):
        client.put_object(
            Bucket="sums", Key=algorithm, Body=b"check me", ChecksumAlgorithm=algorithm
        )
        got = client.get_object(Bucket="sums", Key=algorithm, ChecksumMode="ENABLED")
        assert got["Body"].read() == b"check me"
    with pytest.raises(ClientError) as err:
        client.put_object(Bucket="sums", Key="bad", Body=b"check me", ChecksumCRC32="AAAAAA==")
    assert _code(err.value) == ("BadDigest", 400)


def test_listing_v1_v2(admin_s3: Any) -> None:
    admin_s3.create_bucket(Bucket="lists")
    keys = [f"p/{i:03d}" for i in range(25)] + ["q/1", "q/2", "top"]
    for key in keys:
        admin_s3.put_object(Bucket="lists", Key=key, Body=b"")
    paginator = admin_s3.get_paginator("list_objects_v2")
    seen = [
        item["Key"]
        for page in paginator.paginate(Bucket="lists", PaginationConfig={"PageSize": 7})
        for item in page.get("Contents", [])
    ]
    assert seen == sorted(keys)
    top = admin_s3.list_objects(Bucket="lists", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["p/", "q/"]
    assert [c["Key"] for c in top["Contents"]] == ["top"]
    v1 = admin_s3.get_paginator("list_objects")
    seen_v1 = [
        item["Key"]
        for page in v1.paginate(Bucket="lists", Prefix="p/", PaginationConfig={"PageSize": 10})
        for item in page.get("Contents", [])
    ]
    assert seen_v1 == sorted(k for k in keys if k.startswith("p/"))


def test_object_acl_document_and_grant_headers_conflict(admin_s3: Any) -> None:
    admin_s3.create_bucket(Bucket="acl-conflict")
    admin_s3.put_object(Bucket="acl-conflict", Key="k", Body=b"x")
    policy = admin_s3.get_object_acl(Bucket="acl-conflict", Key="k")
    document = {"Owner": policy["Owner"], "Grants": policy["Grants"]}
    with pytest.raises(ClientError) as err:
        admin_s3.put_object_acl(
            Bucket="acl-conflict",
            Key="k",
            AccessControlPolicy=document,
            GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"',
        )
    assert _code(err.value) == ("InvalidRequest", 400)
    admin_s3.put_object_acl(Bucket="acl-conflict", Key="k", ACL="public-read")
    grants = admin_s3.get_object_acl(Bucket="acl-conflict", Key="k")["Grants"]
    assert {g["Permission"] for g in grants} == {"FULL_CONTROL", "READ"}
    owner_grant = next(g for g in grants if g["Permission"] == "FULL_CONTROL")
    assert owner_grant["Grantee"]["ID"] == policy["Owner"]["ID"]
