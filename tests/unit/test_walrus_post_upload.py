"""Browser-based uploads (POST Object) against an in-process Walrus pipeline.

SigV4 forms come from boto3's ``generate_presigned_post``; SigV2 forms are built here.
The server harness is :class:`tests.unit.test_walrus_subresources.WalrusServer`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from eucalyptus.walrus import post_upload, subresources
from eucalyptus.walrus.xmlutil import S3_NS, parse_xml, text
from tests.unit.test_walrus_subresources import (
    KEYS,
    OTHER_ID,
    WalrusServer,
    error_code,
    new_bucket_name,
    serve,
    xml_code,
)


@pytest.fixture(scope="module")
def walrus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WalrusServer]:
    yield from serve(
        tmp_path_factory.mktemp("walrus-post"), subresources.HANDLERS, post_upload.HANDLERS
    )


@pytest.fixture(scope="module")
def s3(walrus: WalrusServer) -> Any:
    return walrus.s3()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = new_bucket_name()
    s3.create_bucket(Bucket=name)
    return name


def post(
    url: str,
    fields: Mapping[str, str],
    content: bytes = b"hello",
    filename: str = "hello.txt",
    after: Mapping[str, str] | None = None,
) -> requests.Response:
    """POST a form: ``fields`` then the file (then ``after``, which S3 ignores)."""
    parts: list[tuple[str, Any]] = [(name, (None, value)) for name, value in fields.items()]
    parts.append(("file", (filename, content, "application/octet-stream")))
    parts += [(name, (None, value)) for name, value in (after or {}).items()]
    return requests.post(url, files=parts, allow_redirects=False, timeout=30)


def presigned(s3: Any, bucket: str, key: str, **kwargs: Any) -> dict[str, Any]:
    return dict(s3.generate_presigned_post(bucket, key, **kwargs))


def sigv2_form(
    bucket: str,
    conditions: list[Any],
    *,
    key: str = "AKIDOWNER",
    expires: datetime | None = None,
    secret: str | None = None,
) -> dict[str, str]:
    """The policy and SigV2 signature fields, signed with ``key``'s secret."""
    moment = expires or datetime.now(UTC) + timedelta(hours=1)
    document = {
        "expiration": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": [{"bucket": bucket}, *conditions],
    }
    policy = base64.b64encode(json.dumps(document).encode()).decode()
    digest = hmac.new((secret or KEYS[key][0]).encode(), policy.encode(), hashlib.sha1).digest()
    return {
        "AWSAccessKeyId": key,
        "policy": policy,
        "signature": base64.b64encode(digest).decode(),
    }


# --- success ---------------------------------------------------------------------------


def test_sigv4_presigned_post(walrus: WalrusServer, s3: Any, bucket: str) -> None:
    form = presigned(
        s3,
        bucket,
        "uploads/${filename}",
        Fields={"acl": "public-read", "Content-Type": "text/plain", "x-amz-meta-colour": "blue"},
        Conditions=[
            {"acl": "public-read"},
            ["starts-with", "$Content-Type", "text/"],
            ["eq", "$x-amz-meta-colour", "blue"],
            ["content-length-range", 1, 100],
        ],
    )
    assert form["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    response = post(form["url"], form["fields"], b"hello world", "hello.txt")
    assert response.status_code == 204, response.text
    etag = '"' + hashlib.md5(b"hello world").hexdigest() + '"'
    assert response.headers["ETag"] == etag
    assert response.headers["Location"].endswith(f"/{bucket}/uploads/hello.txt")
    got = s3.get_object(Bucket=bucket, Key="uploads/hello.txt")
    assert got["Body"].read() == b"hello world"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"colour": "blue"}
    anonymous = requests.get(f"{walrus.url}/{bucket}/uploads/hello.txt", timeout=30)
    assert anonymous.content == b"hello world"  # public-read


def test_sigv2_form_and_success_statuses(s3: Any, walrus: WalrusServer, bucket: str) -> None:
    url = f"{walrus.url}/{bucket}"
    fields = {
        "key": "v2/object",
        **sigv2_form(bucket, [["starts-with", "$key", "v2/"], {"success_action_status": "201"}]),
        "success_action_status": "201",
    }
    response = post(url, fields, b"version two")
    assert response.status_code == 201, response.text
    root = parse_xml(response.content)
    assert root.tag == f"{{{S3_NS}}}PostResponse"
    assert text(root, "Bucket") == bucket
    assert text(root, "Key") == "v2/object"
    assert text(root, "ETag") == response.headers["ETag"]
    assert s3.get_object(Bucket=bucket, Key="v2/object")["Body"].read() == b"version two"
    assert s3.get_object_acl(Bucket=bucket, Key="v2/object")["Owner"]["DisplayName"] == "alice"

    fields = {
        "key": "v2/two-hundred",
        **sigv2_form(
            bucket, [["starts-with", "$key", ""], ["eq", "$success_action_status", "200"]]
        ),
        "success_action_status": "200",
    }
    response = post(url, fields)
    assert (response.status_code, response.content) == (200, b"")


def test_redirect(walrus: WalrusServer, bucket: str) -> None:
    target = "https://app.example.com/done?x=1"
    fields = {
        "key": "redirected",
        **sigv2_form(
            bucket, [{"key": "redirected"}, ["starts-with", "$success_action_redirect", "https://"]]
        ),
        "success_action_redirect": target,
    }
    response = post(f"{walrus.url}/{bucket}", fields)
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.netloc == "app.example.com" and location.path == "/done"
    query = parse_qs(location.query)
    assert query["x"] == ["1"]
    assert query["bucket"] == [bucket]
    assert query["key"] == ["redirected"]
    assert query["etag"] == [response.headers["ETag"]]


def test_ignored_fields_and_fields_after_the_file(
    s3: Any, walrus: WalrusServer, bucket: str
) -> None:
    fields = {
        "key": "ignored",
        "x-ignore-note": "not checked",
        **sigv2_form(bucket, [{"key": "ignored"}]),
    }
    response = post(
        f"{walrus.url}/{bucket}", fields, after={"x-amz-meta-late": "dropped", "acl": "bogus"}
    )
    assert response.status_code == 204, response.text
    assert s3.head_object(Bucket=bucket, Key="ignored")["Metadata"] == {}


def test_tagging_field_and_large_file(s3: Any, walrus: WalrusServer, bucket: str) -> None:
    tagging = "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"
    content = bytes(range(256)) * (3 * 4096 + 7)  # about 3 MB, streamed
    fields = {
        "key": "big",
        "tagging": tagging,
        **sigv2_form(bucket, [{"key": "big"}, {"tagging": tagging}]),
    }
    response = post(f"{walrus.url}/{bucket}", fields, content)
    assert response.status_code == 204, response.text
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["Body"].read() == content
    assert s3.get_object_tagging(Bucket=bucket, Key="big")["TagSet"] == [{"Key": "k", "Value": "v"}]


def test_versioned_bucket_answers_the_version(s3: Any, walrus: WalrusServer, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    form = presigned(s3, bucket, "versioned")
    response = post(form["url"], form["fields"])
    assert response.status_code == 204
    listed = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [item["VersionId"] for item in listed] == [response.headers["x-amz-version-id"]]


def test_anonymous_upload_needs_public_write(s3: Any, walrus: WalrusServer, bucket: str) -> None:
    url = f"{walrus.url}/{bucket}"
    response = post(url, {"key": "anon"})
    assert (response.status_code, xml_code(response)) == (403, "AccessDenied")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    response = post(url, {"key": "anon", "Content-Type": "text/plain"})
    assert response.status_code == 204, response.text
    assert error_code(s3.head_object, Bucket=bucket, Key="anon") == "403"  # not the owner's
    fields = {"key": "anon", "Content-Type": "text/plain", "acl": "bucket-owner-full-control"}
    assert post(url, fields).status_code == 204
    assert s3.head_object(Bucket=bucket, Key="anon")["ContentType"] == "text/plain"
    owner = s3.get_object_acl(Bucket=bucket, Key="anon")["Owner"]
    assert owner["DisplayName"] == "anonymous"


# --- refusals --------------------------------------------------------------------------


def _refused(response: requests.Response) -> tuple[int, str, str]:
    root = parse_xml(response.content)
    return response.status_code, text(root, "Code") or "", text(root, "Message") or ""


def test_expired_policy(walrus: WalrusServer, bucket: str) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    fields = {"key": "k", **sigv2_form(bucket, [{"key": "k"}], expires=past)}
    status, code, message = _refused(post(f"{walrus.url}/{bucket}", fields))
    assert (status, code) == (403, "AccessDenied")
    assert message == "Invalid according to Policy: Policy expired."


def test_extra_fields(walrus: WalrusServer, bucket: str) -> None:
    fields = {
        "key": "k",
        "x-amz-meta-extra": "sneaky",
        "Content-Type": "text/html",
        **sigv2_form(bucket, [{"key": "k"}]),
    }
    status, code, message = _refused(post(f"{walrus.url}/{bucket}", fields))
    assert (status, code) == (403, "AccessDenied")
    assert (
        message == "Invalid according to Policy: Extra input fields: x-amz-meta-extra, content-type"
    )


@pytest.mark.parametrize(
    ("conditions", "spelled"),
    [
        ([{"key": "other"}], '["eq", "$key", "other"]'),
        ([{"key": "k"}, {"acl": "public-read"}], '["eq", "$acl", "public-read"]'),
        ([["starts-with", "$key", "up/"]], '["starts-with", "$key", "up/"]'),
    ],
    ids=["key", "missing-field", "prefix"],
)
def test_condition_failures(
    walrus: WalrusServer, bucket: str, conditions: list[Any], spelled: str
) -> None:
    fields = {"key": "k", **sigv2_form(bucket, conditions)}
    status, code, message = _refused(post(f"{walrus.url}/{bucket}", fields))
    assert (status, code) == (403, "AccessDenied")
    assert message == f"Invalid according to Policy: Policy Condition failed: {spelled}"


def test_wrong_bucket_condition(s3: Any, walrus: WalrusServer, bucket: str) -> None:
    other = new_bucket_name()
    s3.create_bucket(Bucket=other)
    form = presigned(s3, other, "k")
    response = post(f"{walrus.url}/{bucket}", form["fields"])
    assert _refused(response)[:2] == (403, "AccessDenied")
    assert "Condition failed" in _refused(response)[2]


def test_content_length_range(s3: Any, walrus: WalrusServer, bucket: str) -> None:
    form = presigned(s3, bucket, "sized", Conditions=[["content-length-range", 3, 5]])
    too_big = post(form["url"], form["fields"], b"123456")
    assert (too_big.status_code, xml_code(too_big)) == (400, "EntityTooLarge")
    too_small = post(form["url"], form["fields"], b"12")
    assert (too_small.status_code, xml_code(too_small)) == (400, "EntityTooSmall")
    assert error_code(s3.head_object, Bucket=bucket, Key="sized") == "404"
    assert post(form["url"], form["fields"], b"1234").status_code == 204


def test_bad_signatures(s3: Any, walrus: WalrusServer, bucket: str) -> None:
    url = f"{walrus.url}/{bucket}"
    fields = {"key": "k", **sigv2_form(bucket, [{"key": "k"}], secret="wrong")}
    assert _refused(post(url, fields))[:2] == (403, "SignatureDoesNotMatch")
    fields = {"key": "k", **sigv2_form(bucket, [{"key": "k"}])}
    fields["AWSAccessKeyId"] = "AKIDNOBODY"
    assert _refused(post(url, fields))[:2] == (403, "InvalidAccessKeyId")
    form = presigned(s3, bucket, "k")
    form["fields"]["x-amz-signature"] = "0" * 64
    assert _refused(post(form["url"], form["fields"]))[:2] == (403, "SignatureDoesNotMatch")
    form = presigned(s3, bucket, "k")
    form["fields"]["x-amz-algorithm"] = "AWS4-HMAC-SHA1"
    assert _refused(post(form["url"], form["fields"]))[:2] == (400, "InvalidArgument")


def test_signer_needs_bucket_write(walrus: WalrusServer, s3: Any, bucket: str) -> None:
    url = f"{walrus.url}/{bucket}"
    fields = {"key": "k", **sigv2_form(bucket, [{"key": "k"}], key="AKIDOTHER")}
    assert _refused(post(url, fields))[:2] == (403, "AccessDenied")
    s3.put_bucket_acl(Bucket=bucket, GrantWrite=f"id={OTHER_ID}")
    assert post(url, fields).status_code == 204


def test_malformed_forms(walrus: WalrusServer, bucket: str) -> None:
    url = f"{walrus.url}/{bucket}"
    fields = {"key": "k", **sigv2_form(bucket, [{"key": "k"}])}
    response = requests.post(url, files=[(n, (None, v)) for n, v in fields.items()], timeout=30)
    assert _refused(response)[:2] == (400, "InvalidArgument")  # no file
    no_key = {name: value for name, value in fields.items() if name != "key"}
    assert _refused(post(url, no_key))[:2] == (400, "InvalidArgument")
    no_signature = {name: value for name, value in fields.items() if name != "signature"}
    assert _refused(post(url, no_signature))[:2] == (400, "InvalidArgument")
    no_policy = {name: value for name, value in fields.items() if name != "policy"}
    assert _refused(post(url, no_policy))[:2] == (400, "InvalidArgument")
    bad_policy = {**fields, "policy": base64.b64encode(b"not json").decode()}
    assert _refused(post(url, bad_policy))[:2] == (400, "InvalidPolicyDocument")
    policy = base64.b64encode(b'{"conditions": []}').decode()
    digest = hmac.new(KEYS["AKIDOWNER"][0].encode(), policy.encode(), hashlib.sha1).digest()
    no_expiry = {**fields, "policy": policy, "signature": base64.b64encode(digest).decode()}
    assert _refused(post(url, no_expiry))[:2] == (400, "InvalidPolicyDocument")
    padded = {**fields, "x-ignore-pad": "x" * (65 * 1024)}
    assert _refused(post(url, padded))[:2] == (400, "MaxPostPreDataLengthExceeded")
    response = requests.post(url, data=b"key=k", timeout=30)
    assert _refused(response)[:2] == (400, "MalformedPOSTRequest")
    response = requests.post(
        f"{walrus.url}/no-such-bucket-post", files=[("key", (None, "k"))], timeout=30
    )
    assert _refused(response)[:2] == (404, "NoSuchBucket")


def test_policy_evaluation_units() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    document = {
        "expiration": "2026-01-02T00:00:00Z",
        "conditions": [
            {"bucket": "b"},
            ["starts-with", "$Content-Type", "image/"],
            ["content-length-range", 0, 10],
        ],
    }
    fields = {"key": "k", "content-type": "image/png, image/gif"}
    with pytest.raises(Exception, match="Extra input fields: key"):
        post_upload.check_policy(document, fields, bucket="b", key="k", now=now)
    fields = {"content-type": "image/png, text/plain"}
    with pytest.raises(Exception, match="Condition failed"):
        post_upload.check_policy(document, fields, bucket="b", key="k", now=now)
    fields = {"content-type": "image/png,image/gif"}
    assert post_upload.check_policy(document, fields, bucket="b", key="k", now=now) == (0, 10)
    for bad in (
        {"conditions": [["eq", "key", "x"]]},
        {"conditions": [["nope", "$a", "b"]]},
        {"conditions": [["content-length-range", 5, 1]]},
        {"conditions": "x"},
    ):
        with pytest.raises(post_upload.InvalidPolicyDocument):
            post_upload.parse_conditions(bad)
    assert post_upload.object_key({"key": "a/${filename}"}, "C:\\docs\\x.txt") == "a/x.txt"
