"""Walrus driven by boto 2 (Signature Version 2), the way euca2ools-era tools talk to it.

Two connections: ``path='/services/Walrus'`` (boto 2 then sends *and signs*
``/services/Walrus/<bucket>/<key>``: ``S3Connection.make_request`` passes the auth path
through ``get_path`` too) and the root of the port. Both use OrdinaryCallingFormat (path
style). Every test runs over both.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import warnings
from typing import Any

import pytest
import requests

from tests.support import Cloud, Walrus

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import boto
    from boto.exception import S3CreateError, S3ResponseError
    from boto.s3.connection import OrdinaryCallingFormat, S3Connection
    from boto.s3.key import Key
    from boto.s3.prefix import Prefix

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

MIB = 1024 * 1024


@pytest.fixture(scope="module", params=["service-path", "root"])
def conn(request: pytest.FixtureRequest, cloud: Cloud, walrus: Walrus) -> Any:
    key, secret = cloud.admin_key
    connection = S3Connection(
        key,
        secret,
        host="127.0.0.1",
        port=walrus.port,
        is_secure=False,
        path="/services/Walrus" if request.param == "service-path" else "/",
        calling_format=OrdinaryCallingFormat(),
    )
    connection.tag = request.param  # bucket names differ between the two runs
    return connection


def name(conn: Any, base: str) -> str:
    return f"b2-{conn.tag}-{base}"


def base_url(conn: Any, walrus: Walrus) -> str:
    return walrus.service_url if conn.tag == "service-path" else walrus.endpoint


def test_boto2_signs_the_service_path(conn: Any) -> None:
    request = conn.build_base_http_request("GET", "/", None)
    assert request.path == ("/services/Walrus/" if conn.tag == "service-path" else "/")
    request = conn.build_base_http_request("GET", "/b/k", "/b/k")
    assert request.auth_path == ("/services/Walrus/b/k" if conn.tag == "service-path" else "/b/k")


def test_bucket_create_list_lookup_delete(conn: Any) -> None:
    bucket = conn.create_bucket(name(conn, "life"))
    assert name(conn, "life") in [b.name for b in conn.get_all_buckets()]
    assert conn.get_bucket(name(conn, "life")).name == bucket.name
    assert conn.lookup(name(conn, "absent")) is None
    with pytest.raises(S3ResponseError) as err:
        conn.get_bucket(name(conn, "absent"))
    assert err.value.status == 404
    with pytest.raises(S3CreateError) as err:
        conn.create_bucket(name(conn, "life"))
    assert (err.value.status, err.value.error_code) == (409, "BucketAlreadyOwnedByYou")
    bucket.new_key("x").set_contents_from_string("x")
    with pytest.raises(S3ResponseError) as err:
        bucket.delete()
    assert (err.value.status, err.value.error_code) == (409, "BucketNotEmpty")
    bucket.delete_key("x")
    conn.delete_bucket(name(conn, "life"))
    assert name(conn, "life") not in [b.name for b in conn.get_all_buckets()]


def test_keys_contents_and_metadata(conn: Any) -> None:
    bucket = conn.create_bucket(name(conn, "keys"))
    key = bucket.new_key("dir/ünïcode name + space.txt")
    key.set_metadata("color", "blue")
    key.set_metadata("Mixed-Case", "Value")
    key.set_contents_from_string("hello, boto 2", headers={"Content-Type": "text/plain"})
    assert key.etag == f'"{hashlib.md5(b"hello, boto 2").hexdigest()}"'

    got = bucket.get_key("dir/ünïcode name + space.txt")
    assert got is not None
    assert got.get_contents_as_string() == b"hello, boto 2"
    assert got.content_type == "text/plain"
    assert got.size == len(b"hello, boto 2")
    assert got.get_metadata("color") == "blue"
    assert got.get_metadata("mixed-case") == "Value"
    assert bucket.get_key("dir/missing") is None

    data = os.urandom(200_000)
    bucket.new_key("bin").set_contents_from_file(io.BytesIO(data))
    assert bucket.get_key("bin").get_contents_as_string() == data
    ranged = bucket.get_key("bin").get_contents_as_string(headers={"Range": "bytes=100-199"})
    assert ranged == data[100:200]


def test_list_with_prefix_and_delimiter(conn: Any) -> None:
    bucket = conn.create_bucket(name(conn, "listing"))
    for key in ("a.txt", "photos/2024/x.jpg", "photos/2024/y.jpg", "photos/z.jpg", "zz"):
        bucket.new_key(key).set_contents_from_string(key)
    everything = [k.name for k in bucket.list()]
    assert everything == ["a.txt", "photos/2024/x.jpg", "photos/2024/y.jpg", "photos/z.jpg", "zz"]
    top = list(bucket.list(delimiter="/"))
    # S3 sends the keys (Contents), then the CommonPrefixes; boto 2 yields them so
    assert [(type(e).__name__, e.name) for e in top] == [
        ("Key", "a.txt"),
        ("Key", "zz"),
        ("Prefix", "photos/"),
    ]
    inside = list(bucket.list(prefix="photos/", delimiter="/"))
    assert [e.name for e in inside if isinstance(e, Key)] == ["photos/z.jpg"]
    assert [e.name for e in inside if isinstance(e, Prefix)] == ["photos/2024/"]
    page = bucket.get_all_keys(max_keys=2)
    assert [k.name for k in page] == ["a.txt", "photos/2024/x.jpg"]
    assert page.is_truncated
    rest = bucket.get_all_keys(marker="photos/2024/x.jpg")
    assert [k.name for k in rest] == ["photos/2024/y.jpg", "photos/z.jpg", "zz"]


def test_generate_url_is_a_working_presigned_get(conn: Any, walrus: Walrus) -> None:
    bucket = conn.create_bucket(name(conn, "urls"))
    bucket.new_key("doc/a b.txt").set_contents_from_string("presigned")
    url = conn.generate_url(300, "GET", bucket.name, "doc/a b.txt")
    assert url.startswith(base_url(conn, walrus).rstrip("/") + "/")
    response = requests.get(url, timeout=10)
    assert (response.status_code, response.content) == (200, b"presigned")
    with_override = conn.generate_url(
        300,
        "GET",
        bucket.name,
        "doc/a b.txt",
        response_headers={"response-content-type": "application/x-test"},
    )
    response = requests.get(with_override, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/x-test"
    assert requests.get(url.replace("Signature=", "Signature=x"), timeout=10).status_code == 403
    expired = conn.generate_url(1, "GET", bucket.name, "doc/a b.txt")
    time.sleep(2.1)
    response = requests.get(expired, timeout=10)
    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content


def test_make_public_and_acl(conn: Any, walrus: Walrus) -> None:
    bucket = conn.create_bucket(name(conn, "public"))
    key = bucket.new_key("page")
    key.set_contents_from_string("public page")
    url = f"{base_url(conn, walrus)}/{bucket.name}/page"
    assert requests.get(url, timeout=10).status_code == 403
    key.make_public()
    assert requests.get(url, timeout=10).content == b"public page"
    grants = key.get_acl().acl.grants
    assert {(g.permission, g.uri) for g in grants if g.type == "Group"} == {
        ("READ", "http://acs.amazonaws.com/groups/global/AllUsers")
    }
    key.set_acl("private")
    assert requests.get(url, timeout=10).status_code == 403
    listing_url = f"{base_url(conn, walrus)}/{bucket.name}"
    assert requests.get(listing_url, timeout=10).status_code == 403
    bucket.make_public()
    assert b"<Key>page</Key>" in requests.get(listing_url, timeout=10).content
    assert [g.type for g in bucket.get_acl().acl.grants] == ["CanonicalUser", "Group"]
    bucket.set_canned_acl("private")


def test_copy_key(conn: Any) -> None:
    bucket = conn.create_bucket(name(conn, "copies"))
    other = conn.create_bucket(name(conn, "copies-to"))
    source = bucket.new_key("src")
    source.set_metadata("kind", "original")
    source.set_contents_from_string("copy me")
    copied = other.copy_key("dst", bucket.name, "src")
    assert copied.etag.strip('"') == hashlib.md5(b"copy me").hexdigest()
    dst = other.get_key("dst")
    assert dst.get_contents_as_string() == b"copy me"
    assert dst.get_metadata("kind") == "original"
    other.copy_key("dst2", bucket.name, "src", metadata={"kind": "replaced"})
    assert other.get_key("dst2").get_metadata("kind") == "replaced"
    with pytest.raises(S3ResponseError) as err:
        other.copy_key("dst3", bucket.name, "no-such-source")
    assert (err.value.status, err.value.error_code) == (404, "NoSuchKey")


def test_delete_keys(conn: Any) -> None:
    bucket = conn.create_bucket(name(conn, "deletes"))
    for key in ("one", "two", "three"):
        bucket.new_key(key).set_contents_from_string(key)
    bucket.get_key("one").delete()
    assert bucket.get_key("one") is None
    result = bucket.delete_keys(["two", "three", "never-there"])
    assert sorted(d.key for d in result.deleted) == ["never-there", "three", "two"]
    assert result.errors == []
    assert list(bucket.list()) == []
    bucket.delete()


def test_multipart_upload(conn: Any) -> None:
    bucket = conn.create_bucket(name(conn, "multipart"))
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(123_456)]
    upload = bucket.initiate_multipart_upload("big.bin", metadata={"origin": "boto2"})
    assert [u.id for u in bucket.get_all_multipart_uploads()] == [upload.id]
    for number, data in enumerate(parts, start=1):
        upload.upload_part_from_file(io.BytesIO(data), number)
    listed = upload.get_all_parts()
    assert [(p.part_number, p.size) for p in listed] == [
        (i, len(d)) for i, d in enumerate(parts, start=1)
    ]
    assert [p.etag.strip('"') for p in listed] == [hashlib.md5(d).hexdigest() for d in parts]
    done = upload.complete_upload()
    digests = b"".join(hashlib.md5(d).digest() for d in parts)
    assert done.etag.strip('"') == f"{hashlib.md5(digests).hexdigest()}-3"
    key = bucket.get_key("big.bin")
    assert key.size == sum(len(d) for d in parts)
    assert key.get_metadata("origin") == "boto2"
    assert key.get_contents_as_string() == b"".join(parts)
    assert list(bucket.get_all_multipart_uploads()) == []

    abandoned = bucket.initiate_multipart_upload("abandoned")
    abandoned.upload_part_from_file(io.BytesIO(b"tiny"), 1)
    abandoned.cancel_upload()
    assert list(bucket.get_all_multipart_uploads()) == []
    small = bucket.initiate_multipart_upload("too-small")
    small.upload_part_from_file(io.BytesIO(b"a" * 100), 1)
    small.upload_part_from_file(io.BytesIO(b"b" * 100), 2)
    with pytest.raises(S3ResponseError) as err:
        small.complete_upload()
    assert (err.value.status, err.value.error_code) == (400, "EntityTooSmall")
    small.cancel_upload()


def test_versioning(conn: Any) -> None:
    bucket = conn.create_bucket(name(conn, "versions"))
    bucket.configure_versioning(True)
    assert bucket.get_versioning_status() == {"Versioning": "Enabled"}
    first = bucket.new_key("doc")
    first.set_contents_from_string("v1")
    second = bucket.new_key("doc")
    second.set_contents_from_string("v2")
    assert first.version_id and second.version_id and first.version_id != second.version_id
    versions = list(bucket.list_versions())
    assert [v.version_id for v in versions] == [second.version_id, first.version_id]
    old = bucket.get_key("doc", version_id=first.version_id)
    assert old.get_contents_as_string() == b"v1"


def test_errors(conn: Any, cloud: Cloud, walrus: Walrus) -> None:
    key_id, secret = cloud.admin_key
    wrong = S3Connection(
        key_id,
        secret[:-1] + ("x" if secret[-1] != "x" else "y"),
        host="127.0.0.1",
        port=walrus.port,
        is_secure=False,
        path=conn.path,
        calling_format=OrdinaryCallingFormat(),
    )
    with pytest.raises(S3ResponseError) as err:
        wrong.get_all_buckets()
    assert (err.value.status, err.value.error_code) == (403, "SignatureDoesNotMatch")
    bucket = conn.create_bucket(name(conn, "errors"))
    with pytest.raises(S3ResponseError) as err:
        bucket.new_key("nope").get_contents_as_string()
    assert (err.value.status, err.value.error_code) == (404, "NoSuchKey")
    assert boto.__version__.startswith("2.")
