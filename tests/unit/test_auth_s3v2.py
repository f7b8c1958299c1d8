"""S3 SigV2 (header and presigned) verification against boto 2's and botocore's signers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import boto.s3.connection
import boto.utils
import boto3
import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from multidict import CIMultiDict

from eucalyptus.common.auth import (
    HttpRequestParts,
    S3V2Signature,
    SigV4Signature,
    identify,
    parse_s3v2_header,
    parse_s3v2_query,
    s3_schemes,
)
from eucalyptus.common.auth.s3v2 import path_candidates, subresource_suffixes
from eucalyptus.common.errors import (
    IncompleteSignature,
    MissingAuthenticationToken,
    RequestExpired,
    SignatureDoesNotMatch,
)
from eucalyptus.walrus.errors import s3_code

AKID = "AKIAEXAMPLEWALRUS001"
SECRET = "s3cr3t/Walrus+Key=Odd/Chars0123456789ab"
HOST = "walrus.example.com"
PORT = 8773
WALRUS = f"http://{HOST}:{PORT}/services/Walrus"

KEYS = [
    "plain.txt",
    "with space/and more spaces.txt",
    "ünïcødé/文件.bin",
    "plus+sign+key",
    "tilde~and-dash_under.score",
    "odd !'()*$@=;:,&.txt",
    "dir/sub dir/",
]


def _now() -> datetime:
    return datetime.now(UTC)


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _parts(method: str, url: str, headers: Any, body: bytes = b"") -> HttpRequestParts:
    """What the HTTP layer would give us for a request sent to ``url``."""
    split = urlsplit(url)
    if not isinstance(headers, CIMultiDict):
        headers = CIMultiDict((k, _text(v)) for k, v in headers.items())
    if "host" not in headers:
        headers["Host"] = split.netloc
    return HttpRequestParts(method, split.path, split.query, headers, body)


def _verify(parts: HttpRequestParts, *, now: datetime | None = None, **kwargs: Any) -> Any:
    pending = identify(parts, s3_schemes(**kwargs))
    pending.verify(SECRET, now=now or _now())
    return pending


# --- capturing real boto3 requests ---------------------------------------------------------


class _Captured(Exception):
    """Raised from before-send to stop the request before any network access."""


def _client(endpoint: str = WALRUS, **config: Any) -> Any:
    config.setdefault("signature_version", "s3")
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(**config),
    )


def _capture(client: Any, operation: str, **params: Any) -> HttpRequestParts:
    def stop(request: Any, **_: Any) -> None:
        raise _Captured(request)

    client.meta.events.register("before-send.s3", stop)
    with pytest.raises(_Captured) as captured:
        getattr(client, operation)(**params)
    request = captured.value.args[0]
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    return _parts(request.method, request.url, request.headers, body or b"")


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("endpoint", [WALRUS, f"http://{HOST}:{PORT}"])
def test_boto3_put_object(key: str, endpoint: str) -> None:
    body = b"some object data"
    parts = _capture(
        _client(endpoint),
        "put_object",
        Bucket="bucket",
        Key=key,
        Body=body,
        Metadata={"colour": "  blue  ", "Mixed-Case": "x"},
        ContentType="text/plain; charset=utf-8",
        ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode(),
    )
    assert parts.header("x-amz-meta-colour") is not None
    pending = _verify(parts)
    assert isinstance(pending, S3V2Signature)
    assert pending.scheme == "s3v2"
    assert pending.access_key_id == AKID
    assert pending.region is None and pending.expires_at is None


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("get_object_acl", {"Key": "k y"}),
        ("get_bucket_acl", {}),
        ("list_object_versions", {}),
        ("get_bucket_versioning", {}),
        ("get_bucket_location", {}),
        ("get_bucket_tagging", {}),
        ("get_bucket_policy", {}),
        ("get_bucket_cors", {}),
        ("get_bucket_lifecycle_configuration", {}),
        ("get_bucket_website", {}),
        ("get_bucket_notification_configuration", {}),
        ("get_bucket_accelerate_configuration", {}),
        ("create_multipart_upload", {"Key": "big file"}),
        ("list_multipart_uploads", {}),
        ("upload_part", {"Key": "big file", "PartNumber": 3, "UploadId": "a+b/c=d", "Body": b"x"}),
        ("list_parts", {"Key": "big file", "UploadId": "a+b/c=d"}),
        ("abort_multipart_upload", {"Key": "big file", "UploadId": "a+b/c=d"}),
        (
            "get_object",
            {
                "Key": "k",
                "VersionId": "v+1/2",
                "ResponseContentType": "text/plain; charset=utf-8",
                "ResponseContentDisposition": 'attachment; filename="a b.txt"',
                "ResponseCacheControl": "no-cache",
            },
        ),
        ("delete_object", {"Key": "k", "VersionId": "3"}),
        ("delete_objects", {"Delete": {"Objects": [{"Key": "a"}, {"Key": "b c"}]}}),
        ("restore_object", {"Key": "k", "RestoreRequest": {"Days": 1}}),
        ("list_objects", {"Prefix": "a b", "Marker": "m", "MaxKeys": 5, "Delimiter": "/"}),
        ("list_objects_v2", {"Prefix": "ü", "ContinuationToken": "t+k"}),
    ],
)
def test_boto3_subresources(operation: str, params: dict[str, Any]) -> None:
    parts = _capture(_client(), operation, Bucket="bucket", **params)
    _verify(parts)


def test_boto3_virtual_host() -> None:
    client = _client(f"http://{HOST}:{PORT}", s3={"addressing_style": "virtual"})
    parts = _capture(
        client, "get_object", Bucket="bucket", Key="a b/ü", ResponseContentType="text/plain"
    )
    assert parts.header("host") == f"bucket.{HOST}:{PORT}"
    assert parts.raw_path == "/a%20b/%C3%BC"
    _verify(parts, virtual_bucket="bucket")
    with pytest.raises(SignatureDoesNotMatch):
        _verify(parts)  # without the bucket the resource is wrong


def test_boto3_virtual_host_bucket_root() -> None:
    client = _client(f"http://{HOST}:{PORT}", s3={"addressing_style": "virtual"})
    parts = _capture(client, "list_objects", Bucket="bucket", Prefix="p q")
    _verify(parts, virtual_bucket="bucket")


# --- botocore signers directly -------------------------------------------------------------


def _hmacv1(
    method: str, url: str, headers: Mapping[str, str] | None = None, auth_path: str | None = None
) -> AWSRequest:
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    if auth_path is not None:
        request.auth_path = auth_path
    HmacV1Auth(Credentials(AKID, SECRET)).add_auth(request)
    return request


def test_botocore_hmacv1_repeated_amz_headers() -> None:
    request = AWSRequest(method="PUT", url=f"{WALRUS}/bucket/key?acl")
    request.headers["x-amz-meta-multi"] = " one "
    request.headers["X-Amz-Meta-Multi"] = "two"
    request.headers["x-amz-acl"] = "public-read"
    HmacV1Auth(Credentials(AKID, SECRET)).add_auth(request)
    headers = CIMultiDict((k, _text(v)) for k, v in request.headers.items())
    assert len(headers.getall("x-amz-meta-multi")) == 2
    parts = _parts("PUT", request.url, headers)
    pending = _verify(parts)
    assert "x-amz-meta-multi:one,two\n" in pending.strings_to_sign()[0]


def test_botocore_hmacv1_x_amz_date_replaces_date() -> None:
    stamp = format_datetime(_now(), usegmt=True)
    request = _hmacv1("GET", f"{WALRUS}/bucket/key", {"x-amz-date": stamp})
    parts = _parts("GET", request.url, request.headers)
    pending = _verify(parts)  # botocore signs Date too; the documented form has it empty
    assert pending.date_lines[0] == ""


def test_botocore_hmacv1_auth_path() -> None:
    request = _hmacv1("GET", f"http://bucket.{HOST}/obj%20x", auth_path="/bucket/obj%20x")
    _verify(_parts("GET", request.url, request.headers), virtual_bucket="bucket")


# --- boto 2 --------------------------------------------------------------------------------


def _boto2(path: str = "/services/Walrus") -> boto.s3.connection.S3Connection:
    return boto.s3.connection.S3Connection(
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        host=HOST,
        port=PORT,
        is_secure=False,
        path=path,
        calling_format=boto.s3.connection.OrdinaryCallingFormat(),
    )


def _boto2_request(
    method: str,
    bucket: str,
    key: str = "",
    query_args: str = "",
    headers: dict[str, str] | None = None,
    path: str = "/services/Walrus",
) -> HttpRequestParts:
    conn = _boto2(path)
    fmt = conn.calling_format
    request_path = fmt.build_path_base(bucket, key)
    auth_path = fmt.build_auth_path(bucket, key)
    if query_args:
        request_path += "?" + query_args
        auth_path += "?" + query_args
    request = conn.build_base_http_request(
        method, request_path, auth_path, headers=headers or {}, host=conn.server_name()
    )
    request.authorize(connection=conn)
    return _parts(method, f"http://{request.host}{request.path}", request.headers)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("prefix", ["/services/Walrus", "/"])
def test_boto2_objects(key: str, prefix: str) -> None:
    body = b"boto 2 data"
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode(),
        "x-amz-meta-Owner": "  Somebody Else ",
        "x-amz-meta-unicode": "çà et là",
        "x-amz-acl": "public-read",
        "x-amz-storage-class": "STANDARD",
    }
    parts = _boto2_request("PUT", "bucket", key, headers=headers, path=prefix)
    if prefix != "/":
        assert parts.raw_path.startswith("/services/Walrus/bucket/")
    _verify(parts)


@pytest.mark.parametrize(
    ("method", "key", "query_args"),
    [
        ("GET", "", "acl"),
        ("PUT", "k", "acl"),
        ("GET", "", "versions&prefix=a%20b&key-marker=x"),
        ("POST", "big object", "uploads"),
        ("PUT", "big object", "partNumber=2&uploadId=VXBsb2FkIElE%2B%2F"),
        ("GET", "big object", "uploadId=VXBsb2FkIElE&max-parts=10"),
        ("GET", "k", "versionId=3HL4kqtJlcpXroDTDmJ%2Brmsr"),
        ("GET", "k", "response-content-type=text%2Fplain&response-expires=0"),
        ("GET", "", "location"),
        ("GET", "", "logging"),
        ("GET", "", "policy"),
        ("GET", "", "website"),
        ("GET", "", "lifecycle"),
        ("GET", "", "tagging"),
        ("GET", "", "cors"),
        ("POST", "", "delete"),
        ("GET", "", "storageClass"),
        ("GET", "", "websiteConfig"),
        ("GET", "", "versioning"),
        ("GET", "", "requestPayment"),
        ("POST", "k", "restore"),
        ("GET", "k", "torrent"),
    ],
)
def test_boto2_subresources(method: str, key: str, query_args: str) -> None:
    _verify(_boto2_request(method, "bucket", key, query_args))


def test_boto2_bucket_listing_and_service() -> None:
    _verify(_boto2_request("GET", "bucket", query_args="prefix=a&delimiter=%2F&max-keys=5"))
    _verify(_boto2_request("GET", ""))


def _sign_v2(method: str, auth_path: str, headers: dict[str, str]) -> dict[str, str]:
    text = boto.utils.canonical_string(method, auth_path, headers)
    digest = hmac.new(SECRET.encode(), text.encode(), hashlib.sha1).digest()
    return {**headers, "Authorization": f"AWS {AKID}:{base64.b64encode(digest).decode()}"}


def _date(moment: datetime | None = None) -> str:
    return format_datetime(moment or _now(), usegmt=True)


def test_euca2ools_signs_without_the_service_prefix() -> None:
    headers = _sign_v2("PUT", "/bucket/my%20key", {"Date": _date(), "x-amz-meta-a": "b"})
    parts = _parts("PUT", f"{WALRUS}/bucket/my%20key", headers)
    pending = _verify(parts)
    # the canonical (reported) string is the one over the path as sent
    assert pending.strings_to_sign()[0].endswith("\n/services/Walrus/bucket/my%20key")
    with pytest.raises(SignatureDoesNotMatch):
        _verify(parts, path_prefixes=())


def test_client_signing_the_decoded_path() -> None:
    headers = _sign_v2("GET", "/bucket/ü and +", {"Date": _date()})
    path = "/bucket/" + quote("ü and +")
    _verify(_parts("GET", f"http://{HOST}{path}", headers))
    _verify(_parts("GET", f"{WALRUS}{path}", headers))


def test_subresource_sent_with_equals_sign() -> None:
    headers = _sign_v2("GET", "/bucket?acl", {"Date": _date()})
    _verify(_parts("GET", f"{WALRUS}/bucket?acl=", headers))


def test_prefix_only_matches_whole_segments() -> None:
    headers = _sign_v2("GET", "/Walrus2/key", {"Date": _date()})
    with pytest.raises(SignatureDoesNotMatch):
        _verify(_parts("GET", f"http://{HOST}/services/Walrus2/key", headers))


def test_candidates() -> None:
    assert path_candidates("/services/Walrus/b/a%20b", None, ("/services/Walrus",)) == [
        "/services/Walrus/b/a%20b",
        "/b/a%20b",
        "/services/Walrus/b/a b",
        "/b/a b",
    ]
    assert path_candidates("/services/Walrus/b", None, ("/services/Walrus/",)) == [
        "/services/Walrus/b",
        "/b",
        "/b/",
    ]
    assert path_candidates("/k", "bkt", ("/services/Walrus",)) == ["/bkt/k"]
    assert path_candidates("", None, ()) == ["/"]
    assert subresource_suffixes("") == [""]
    assert subresource_suffixes("prefix=a&max-keys=2") == [""]
    assert subresource_suffixes("versionId=a%2Bb&acl&uploadId=") == [
        "?acl&uploadId=&versionId=a+b",
        "?acl&uploadId&versionId=a+b",
    ]
    assert subresource_suffixes("select&select-type=2&websiteConfig") == [
        "?select&select-type=2",
        "?websiteConfig",
    ]


# --- errors --------------------------------------------------------------------------------


def test_wrong_secret_reports_string_to_sign() -> None:
    parts = _boto2_request("PUT", "bucket", "a b", headers={"x-amz-meta-k": "v"})
    pending = identify(parts, s3_schemes())
    with pytest.raises(SignatureDoesNotMatch) as raised:
        pending.verify("not the secret", now=_now())
    extra = raised.value.extra
    expected = boto.utils.canonical_string("PUT", parts.raw_path, dict(parts.headers))
    assert extra["StringToSign"] == expected
    assert extra["StringToSignBytes"] == " ".join(f"{b:02x}" for b in expected.encode())
    assert extra["AWSAccessKeyId"] == AKID
    assert extra["SignatureProvided"] == (parts.header("authorization") or "").rsplit(":", 1)[1]
    assert list(extra) == [
        "AWSAccessKeyId",
        "StringToSign",
        "SignatureProvided",
        "StringToSignBytes",
    ]
    assert s3_code(raised.value) == ("SignatureDoesNotMatch", 403)


def test_tampered_header_fails() -> None:
    parts = _boto2_request("PUT", "bucket", "k", headers={"x-amz-acl": "private"})
    headers = dict(parts.headers)
    headers["x-amz-acl"] = "public-read-write"
    with pytest.raises(SignatureDoesNotMatch):
        _verify(_parts("PUT", f"http://{HOST}{parts.raw_path}", headers))


@pytest.mark.parametrize("offset", [timedelta(minutes=16), timedelta(minutes=-16)])
def test_skewed_date(offset: timedelta) -> None:
    headers = _sign_v2("GET", "/bucket/k", {"Date": _date(_now() + offset)})
    with pytest.raises(RequestExpired) as raised:
        _verify(_parts("GET", f"http://{HOST}/bucket/k", headers))
    assert s3_code(raised.value) == ("RequestTimeTooSkewed", 403)
    assert "Expires" not in raised.value.extra


def test_x_amz_date_gives_the_time() -> None:
    old = _date(_now() - timedelta(hours=2))
    headers = _sign_v2("GET", "/bucket/k", {"Date": old, "x-amz-date": _date()})
    assert "\n\nx-amz-date:" in boto.utils.canonical_string("GET", "/bucket/k", headers)
    pending = _verify(_parts("GET", f"http://{HOST}/bucket/k", headers))
    assert abs(pending.signed_at - _now()) < timedelta(minutes=1)


def test_missing_or_bad_date() -> None:
    parts = _parts("GET", f"http://{HOST}/bucket/k", {"Authorization": f"AWS {AKID}:c2ln"})
    with pytest.raises(IncompleteSignature, match="Date or x-amz-date") as raised:
        identify(parts, s3_schemes())
    assert s3_code(raised.value) == ("AccessDenied", 403)
    bad = {"Authorization": f"AWS {AKID}:c2ln", "Date": "yesterday-ish"}
    with pytest.raises(IncompleteSignature, match="valid Date"):
        identify(_parts("GET", f"http://{HOST}/bucket/k", bad), s3_schemes())


@pytest.mark.parametrize("value", ["AWS", f"AWS {AKID}", "AWS :sig", f"AWS {AKID}:"])
def test_malformed_authorization(value: str) -> None:
    parts = _parts("GET", f"http://{HOST}/b", {"Authorization": value, "Date": _date()})
    with pytest.raises(IncompleteSignature):
        identify(parts, s3_schemes())


def test_other_schemes_are_not_claimed() -> None:
    parts = _parts("GET", f"http://{HOST}/b", {"Authorization": "Bearer x", "Date": _date()})
    assert parse_s3v2_header(parts) is None
    with pytest.raises(IncompleteSignature, match="Unsupported Authorization Type"):
        identify(parts, s3_schemes())
    with pytest.raises(MissingAuthenticationToken):
        identify(_parts("GET", f"http://{HOST}/b", {}), s3_schemes())


# --- presigned -----------------------------------------------------------------------------


def _presigned_parts(url: str, method: str = "GET", **headers: str) -> HttpRequestParts:
    return _parts(method, url, headers)


def test_botocore_presigned_get() -> None:
    url = _client().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": "bucket",
            "Key": "ü and space+plus",
            "VersionId": "v+1",
            "ResponseContentType": "text/plain; charset=utf-8",
            "ResponseContentDisposition": "attachment",
        },
        ExpiresIn=600,
    )
    parts = _presigned_parts(url)
    pending = _verify(parts)
    assert pending.scheme == "s3v2-presigned"
    assert pending.expires_at is not None
    assert timedelta(minutes=9) < pending.expires_at - _now() <= timedelta(minutes=10)
    names = {name for name, _ in pending.params}
    assert "versionId" in names and "response-content-type" in names
    assert not names & {"AWSAccessKeyId", "Signature", "Expires"}


def test_botocore_presigned_put_with_headers_in_query() -> None:
    url = _client().generate_presigned_url(
        "put_object",
        Params={"Bucket": "bucket", "Key": "k", "Metadata": {"m": "v"}, "ContentType": "a/b"},
        ExpiresIn=600,
    )
    assert "x-amz-meta-m=v" in url and "content-type=a%2Fb" in url
    _verify(_presigned_parts(url, "PUT"))  # without the headers: taken from the query
    _verify(_presigned_parts(url, "PUT", **{"Content-Type": "a/b", "x-amz-meta-m": "v"}))
    with pytest.raises(SignatureDoesNotMatch):
        _verify(_presigned_parts(url, "PUT", **{"Content-Type": "other/type"}))


def test_botocore_hmacv1_query_auth() -> None:
    request = AWSRequest(method="GET", url=f"{WALRUS}/bucket/a%20b?acl")
    HmacV1QueryAuth(Credentials(AKID, SECRET), expires=60).add_auth(request)
    _verify(_presigned_parts(request.url))


def test_boto2_generate_url() -> None:
    url = _boto2().generate_url(
        300,
        "GET",
        bucket="bucket",
        key="ü k+y",
        headers={"x-amz-meta-x": "y z"},
        response_headers={"response-content-type": "text/plain; charset=utf-8"},
        version_id="abc",
    )
    pending = _verify(_presigned_parts(url))
    assert pending.scheme == "s3v2-presigned"


def test_expired_presigned_url() -> None:
    url = _client().generate_presigned_url(
        "get_object", Params={"Bucket": "bucket", "Key": "k"}, ExpiresIn=60
    )
    pending = identify(_presigned_parts(url), s3_schemes())
    with pytest.raises(RequestExpired) as raised:
        pending.verify(SECRET, now=_now() + timedelta(minutes=5))
    assert "Expires" in raised.value.extra
    assert s3_code(raised.value) == ("AccessDenied", 403)
    # far in the past is fine until it expires: no skew check on presigned SigV2
    pending.verify(SECRET, now=_now() - timedelta(days=30))


def test_presigned_wrong_secret() -> None:
    url = _client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    pending = identify(_presigned_parts(url), s3_schemes())
    with pytest.raises(SignatureDoesNotMatch) as raised:
        pending.verify("wrong", now=_now())
    string_to_sign = raised.value.extra["StringToSign"]
    assert string_to_sign.startswith("GET\n\n\n") and string_to_sign.endswith(
        "\n/services/Walrus/b/k"
    )


def test_presigned_parse_rules() -> None:
    def parse(query: str) -> S3V2Signature | None:
        return parse_s3v2_query(HttpRequestParts("GET", "/b/k", query, {}, b""))

    assert parse("") is None
    assert parse("acl&versionId=1") is None
    assert parse("AWSAccessKeyId=A&Signature=s&Expires=1&SignatureVersion=2") is None
    with pytest.raises(IncompleteSignature, match="Expires"):
        parse("AWSAccessKeyId=A&Signature=s")
    with pytest.raises(IncompleteSignature, match="AWSAccessKeyId"):
        parse("Signature=s&Expires=10")
    with pytest.raises(IncompleteSignature, match="seconds since epoch"):
        parse("AWSAccessKeyId=A&Signature=s&Expires=2030-01-01")
    huge = parse("AWSAccessKeyId=A&Signature=a+b&Expires=99999999999999999999")
    assert huge is not None and huge.expires_at is not None and huge.expires_at.year == 9999
    assert huge.signature == "a+b"  # '+' decoded as a space is put back


# --- SigV4 through the S3 schemes ----------------------------------------------------------


def _botocore_v4(signer: Callable[[Credentials], Any], url: str, **headers: str) -> AWSRequest:
    request = AWSRequest(method="PUT", url=url, data=b"payload", headers=headers)
    signer(Credentials(AKID, SECRET)).add_auth(request)
    return request


@pytest.mark.parametrize("key", ["k", "a%20b/%C3%BC%2Bplus", "tilde~"])
def test_sigv4_header_with_service_prefix(key: str) -> None:
    request = _botocore_v4(
        lambda c: S3SigV4Auth(c, "s3", "us-east-1"),
        f"{WALRUS}/bucket/{key}",
        **{"x-amz-meta-a": "b"},
    )
    prepared = request.prepare()
    parts = _parts("PUT", prepared.url, prepared.headers, b"payload")
    pending = _verify(parts)
    assert isinstance(pending, SigV4Signature)
    assert pending.scheme == "sigv4"


def test_sigv4_presigned_with_service_prefix() -> None:
    request = AWSRequest(method="GET", url=f"{WALRUS}/bucket/a%20b?versionId=1")
    S3SigV4QueryAuth(Credentials(AKID, SECRET), "s3", "us-east-1", expires=300).add_auth(request)
    pending = _verify(_parts("GET", request.prepare().url, {}))
    assert pending.scheme == "sigv4-presigned"


def test_boto3_sigv4_client_with_service_prefix() -> None:
    client = _client(signature_version="s3v4")
    parts = _capture(client, "put_object", Bucket="bucket", Key="ü k", Body=b"abc")
    pending = _verify(parts)
    assert isinstance(pending, SigV4Signature)
    url = client.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "ü k"})
    assert _verify(_presigned_parts(url)).scheme == "sigv4-presigned"
