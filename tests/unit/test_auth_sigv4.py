"""SigV4 verification (header and presigned) against botocore, boto 2 and AWS's test suite."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import boto.iam
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from eucalyptus.common.auth import (
    HttpRequestParts,
    SigningKeyCache,
    SigV4Signature,
    identify,
    presign_v4_url,
    sign_v4_headers,
)
from eucalyptus.common.auth.canonical import (
    EMPTY_SHA256,
    derive_signing_key,
    sigv4_canonical_request,
    sigv4_signature,
    sigv4_string_to_sign,
)
from eucalyptus.common.errors import (
    IncompleteSignature,
    InvalidParameterValue,
    MissingAuthenticationToken,
    RequestExpired,
    SignatureDoesNotMatch,
)

AKID = "AKIAEXAMPLEEUCA00001"
SECRET = "s3cr3t/Key+With=Odd/Chars0123456789abcd"
NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded; charset=utf-8"
URL = "http://clc.example.com:8773/services/Euare"


def _now() -> datetime:
    return datetime.now(UTC)


def _parts(
    method: str, path_and_query: str, headers: Mapping[str, str], body: bytes | str = b""
) -> HttpRequestParts:
    raw = body.encode() if isinstance(body, str) else body
    path, _, query = path_and_query.partition("?")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    form = (
        parse_qsl(raw.decode(), keep_blank_values=True)
        if content_type.startswith("application/x-www-form-urlencoded")
        else []
    )
    return HttpRequestParts(method, path, query, dict(headers), raw, form)


def _from_botocore(request: AWSRequest) -> HttpRequestParts:
    prepared = request.prepare()
    split = urlsplit(prepared.url)
    headers = dict(prepared.headers.items())
    headers.setdefault("Host", split.netloc)  # what the HTTP client sends
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    return _parts(prepared.method, f"{split.path}?{split.query}", headers, body)


def _botocore(
    method: str = "GET",
    url: str = URL,
    *,
    params: dict[str, str] | None = None,
    data: dict[str, str] | bytes | None = None,
    headers: dict[str, str] | None = None,
    region: str = "eucalyptus",
    service: str = "iam",
    secret: str = SECRET,
    signer: type[SigV4Auth] = SigV4Auth,
) -> HttpRequestParts:
    request = AWSRequest(method=method, url=url, params=params, data=data, headers=headers)
    signer(Credentials(AKID, secret), service, region).add_auth(request)
    return _from_botocore(request)


def _with(parts: HttpRequestParts, **changes: object) -> HttpRequestParts:
    fields: dict[str, object] = {
        "method": parts.method,
        "raw_path": parts.raw_path,
        "query_string": parts.query_string,
        "headers": parts.headers,
        "body": parts.body,
        "form": parts.form,
    }
    fields.update(changes)
    return HttpRequestParts(**fields)  # type: ignore[arg-type]


# --- the AWS SigV4 test suite ------------------------------------------------------------


def test_aws_suite_get_vanilla() -> None:
    signature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    headers = {
        "Host": "example.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
        f"aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}",
    }
    pending = identify(HttpRequestParts("GET", "/", "", headers, b""))
    assert (pending.scheme, pending.region, pending.service) == ("sigv4", "us-east-1", "service")
    assert pending.signed_at == datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
    now = datetime(2015, 8, 30, 12, 40, tzinfo=UTC)
    pending.verify("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", now=now)
    with pytest.raises(SignatureDoesNotMatch) as caught:
        pending.verify("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", now=now)
    assert caught.value.extra["CanonicalRequest"] == (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
        "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert caught.value.extra["StringToSign"] == (
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    )


# --- botocore header signatures ----------------------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "eucalyptus", "made-up-region-9", "localhost"])
def test_botocore_get_any_region(region: str) -> None:
    parts = _botocore(params={"Action": "GetUser", "UserName": "a b+c/é"}, region=region)
    pending = identify(parts)
    assert isinstance(pending, SigV4Signature)
    assert (pending.region, pending.service, pending.access_key_id) == (region, "iam", AKID)
    assert pending.params == [("Action", "GetUser"), ("UserName", "a b+c/é")]
    pending.verify(SECRET, now=_now())


def test_botocore_post_form() -> None:
    data = {"Action": "CreateUser", "UserName": "bob", "Path": "/division/"}
    parts = _botocore("POST", data=data, headers={"Content-Type": FORM})
    assert parts.form
    pending = identify(parts)
    assert dict(pending.params) == data
    pending.verify(SECRET, now=_now())


def test_wrong_secret_fails_with_canonical_request() -> None:
    parts = _botocore(params={"Action": "GetUser"}, secret="another-secret")
    with pytest.raises(SignatureDoesNotMatch) as caught:
        identify(parts).verify(SECRET, now=_now())
    assert caught.value.extra["CanonicalRequest"].startswith("GET\n/services/Euare\nAction=GetUser")
    assert "The String-to-Sign should have been" in caught.value.message


def test_changed_param_fails() -> None:
    parts = _botocore(params={"Action": "GetUser", "UserName": "alice"})
    identify(parts).verify(SECRET, now=_now())
    tampered = _with(parts, query_string=parts.query_string.replace("alice", "admin"))
    with pytest.raises(SignatureDoesNotMatch):
        identify(tampered).verify(SECRET, now=_now())


def test_changed_signed_header_fails() -> None:
    parts = _botocore(params={"Action": "GetUser"}, headers={"X-Amz-Target": "one"})
    identify(parts).verify(SECRET, now=_now())
    tampered = _with(parts, headers={**parts.headers, "X-Amz-Target": "two"})
    with pytest.raises(SignatureDoesNotMatch):
        identify(tampered).verify(SECRET, now=_now())


def test_changed_body_fails() -> None:
    parts = _botocore("POST", data={"Action": "DeleteUser", "UserName": "bob"})
    identify(parts).verify(SECRET, now=_now())
    body = parts.body.replace(b"bob", b"eve")
    tampered = _with(parts, body=body, form=parse_qsl(body.decode()))
    with pytest.raises(SignatureDoesNotMatch):
        identify(tampered).verify(SECRET, now=_now())


def test_header_values_are_trimmed_and_collapsed() -> None:
    parts = _botocore(params={"Action": "GetUser"}, headers={"X-Amz-Meta": "  a   b  "})
    identify(parts).verify(SECRET, now=_now())


def test_double_encoded_path_for_non_s3() -> None:
    parts = _botocore(url="http://h:8773/services/Euare/a%20b/./c//d", params={"Action": "X"})
    assert "%20" in parts.raw_path
    identify(parts).verify(SECRET, now=_now())


def test_single_encoded_path_is_accepted_for_non_s3() -> None:
    """Some clients do not double-encode the path of non-S3 services."""
    raw_path = "/services/Euare/a%20b"
    headers = {"Host": "h", "X-Amz-Date": "20261121T120000Z"}
    canonical_request = sigv4_canonical_request(
        "GET", raw_path, "", {"host": "h", "x-amz-date": "20261121T120000Z"},
        ["host", "x-amz-date"], EMPTY_SHA256,
    )  # fmt: skip
    scope = "20261121/r/iam/aws4_request"
    key = derive_signing_key(SECRET, "20261121", "r", "iam")
    signature = sigv4_signature(
        key, sigv4_string_to_sign("20261121T120000Z", scope, canonical_request)
    )
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={AKID}/{scope}, SignedHeaders=host;x-amz-date, "
        f"Signature={signature}"
    )
    identify(HttpRequestParts("GET", raw_path, "", headers, b"")).verify(SECRET, now=NOW)


def test_s3_path_is_signed_as_sent() -> None:
    url = "http://walrus.example.com:8773/services/Walrus/bucket/a%20key/./x"
    parts = _botocore("PUT", url, data=b"hello", service="s3", signer=S3SigV4Auth)
    assert "x-amz-content-sha256" in {k.lower() for k in parts.headers}
    pending = identify(parts)
    assert pending.service == "s3"
    pending.verify(SECRET, now=_now())
    tampered = _with(parts, body=b"HELLO")
    with pytest.raises(SignatureDoesNotMatch, match="x-amz-content-sha256"):
        identify(tampered).verify(SECRET, now=_now())


def test_date_header_instead_of_x_amz_date() -> None:
    parts = _botocore(params={"Action": "GetUser"}, headers={"Date": "placeholder"})
    assert "X-Amz-Date" not in parts.headers
    identify(parts).verify(SECRET, now=_now())


@pytest.mark.parametrize("minutes", [16, -16])
def test_skewed_request_is_expired(minutes: int) -> None:
    pending = identify(_botocore(params={"Action": "GetUser"}))
    with pytest.raises(RequestExpired):
        pending.verify(SECRET, now=_now() + timedelta(minutes=minutes))
    pending.verify(SECRET, now=_now() + timedelta(minutes=minutes * 14 // 16))


# --- boto 2 ------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["GET", "POST"])
def test_boto2_hmac_v4_verifies(verb: str) -> None:
    conn = boto.iam.IAMConnection(
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        host="clc.example.com",
        port=8773,
        is_secure=False,
        path="/services/Euare",
    )
    assert type(conn._auth_handler).__name__ == "HmacAuthV4Handler"
    params = {"Action": "GetUser", "UserName": "a b", "Version": "2010-05-08"}
    req = conn.build_base_http_request(verb, "/", None, params, {}, "", conn.host)
    req.authorize(connection=conn)
    conn.set_host_header(req)
    parts = _parts(req.method, req.path, req.headers, req.body)
    pending = identify(parts)
    assert dict(pending.params) == params
    pending.verify(SECRET, now=_now())
    with pytest.raises(SignatureDoesNotMatch):
        pending.verify(SECRET[:-1], now=_now())


# --- presigned ---------------------------------------------------------------------------


def test_botocore_presigned_non_s3() -> None:
    request = AWSRequest(method="GET", url=URL, params={"Action": "GetUser"})
    SigV4QueryAuth(Credentials(AKID, SECRET), "iam", "cloud-1", expires=300).add_auth(request)
    pending = identify(_from_botocore(request))
    assert pending.scheme == "sigv4-presigned"
    assert pending.params == [("Action", "GetUser")]
    assert pending.expires_at == pending.signed_at + timedelta(seconds=300)
    pending.verify(SECRET, now=_now())
    with pytest.raises(RequestExpired):
        pending.verify(SECRET, now=_now() + timedelta(seconds=301))
    with pytest.raises(RequestExpired):
        pending.verify(SECRET, now=_now() - timedelta(minutes=16))


def test_botocore_presigned_s3() -> None:
    url = "http://walrus.example.com:8773/services/Walrus/bucket/my%20key"
    request = AWSRequest(method="GET", url=url)
    S3SigV4QueryAuth(Credentials(AKID, SECRET), "s3", "any", expires=604800).add_auth(request)
    parts = _from_botocore(request)
    pending = identify(parts)
    pending.verify(SECRET, now=_now() + timedelta(days=6))
    with pytest.raises(RequestExpired):
        pending.verify(SECRET, now=_now() + timedelta(days=7, seconds=5))
    with pytest.raises(SignatureDoesNotMatch):
        identify(_with(parts, raw_path=parts.raw_path + "2")).verify(SECRET, now=_now())


def test_presigned_expires_over_a_week_is_invalid() -> None:
    request = AWSRequest(method="GET", url=URL, params={"Action": "GetUser"})
    SigV4QueryAuth(Credentials(AKID, SECRET), "iam", "r", expires=604801).add_auth(request)
    with pytest.raises(InvalidParameterValue, match="604800"):
        identify(_from_botocore(request))


def test_presigned_missing_parameter_is_incomplete() -> None:
    url = presign_v4_url("GET", URL, AKID, SECRET, region="r", service="iam", now=NOW, expires=60)
    split = urlsplit(url)
    query = "&".join(p for p in split.query.split("&") if not p.startswith("X-Amz-Credential="))
    with pytest.raises(IncompleteSignature, match="X-Amz-Credential"):
        identify(HttpRequestParts("GET", split.path, query, {"Host": split.netloc}, b""))


# --- our own client helpers --------------------------------------------------------------


@pytest.mark.parametrize("service", ["iam", "ec2", "s3"])
def test_sign_v4_headers_round_trip(service: str) -> None:
    cache = SigningKeyCache()
    body = b"Action=GetUser&UserName=a%20b"
    headers = sign_v4_headers(
        "POST",
        URL + "/x%2Fy",
        {"Content-Type": FORM, "User-Agent": "euca"},
        body,
        AKID,
        SECRET,
        region="my-region",
        service=service,
        now=NOW,
        key_cache=cache,
    )
    assert ("x-amz-content-sha256" in headers) == (service == "s3")
    assert "user-agent" not in headers["Authorization"]
    parts = _parts("POST", "/services/Euare/x%2Fy", headers, body)
    pending = identify(parts)
    for _ in range(2):
        pending.verify(SECRET, now=NOW, key_cache=cache)
    assert len(cache) == 1
    with pytest.raises(SignatureDoesNotMatch):
        pending.verify(SECRET + "x", now=NOW, key_cache=cache)
    assert len(cache) == 2


@pytest.mark.parametrize("service", ["iam", "s3"])
def test_presign_v4_url_round_trip(service: str) -> None:
    url = presign_v4_url(
        "GET", URL + "?Action=GetUser&Marker=a+b", AKID, SECRET,
        region="r1", service=service, now=NOW, expires=3600,
    )  # fmt: skip
    split = urlsplit(url)
    pending = identify(
        HttpRequestParts("GET", split.path, split.query, {"Host": split.netloc}, b"")
    )
    assert pending.params == [("Action", "GetUser"), ("Marker", "a b")]
    pending.verify(SECRET, now=NOW + timedelta(minutes=59))
    with pytest.raises(RequestExpired):
        pending.verify(SECRET, now=NOW + timedelta(minutes=61))


def test_signing_key_cache_forgets_oldest() -> None:
    cache = SigningKeyCache(max_entries=2)
    for region in ("a", "b", "c"):
        cache.signing_key(SECRET, "20261121", region, "iam")
    assert len(cache) == 2


# --- malformed requests ------------------------------------------------------------------


def _signed() -> dict[str, str]:
    return sign_v4_headers("GET", URL, {}, b"", AKID, SECRET, region="r", service="iam", now=NOW)


def test_no_credentials_is_missing_token() -> None:
    with pytest.raises(MissingAuthenticationToken):
        identify(HttpRequestParts("GET", "/", "Action=GetUser", {"Host": "h"}, b""))


def test_unknown_authorization_scheme_is_incomplete() -> None:
    with pytest.raises(IncompleteSignature, match="Basic"):
        identify(HttpRequestParts("GET", "/", "", {"Authorization": "Basic Zm9vOmJhcg=="}, b""))


def test_missing_signature_component_is_incomplete() -> None:
    headers = _signed()
    headers["Authorization"] = headers["Authorization"].split(", Signature=")[0]
    with pytest.raises(IncompleteSignature, match="'Signature'"):
        identify(HttpRequestParts("GET", "/services/Euare", "", headers, b""))


def test_missing_date_is_incomplete() -> None:
    headers = {k: v for k, v in _signed().items() if k != "X-Amz-Date"}
    with pytest.raises(IncompleteSignature, match="X-Amz-Date"):
        identify(HttpRequestParts("GET", "/services/Euare", "", headers, b""))


def test_malformed_credential_is_incomplete() -> None:
    headers = _signed()
    headers["Authorization"] = headers["Authorization"].replace("/r/iam/", "/r/")
    with pytest.raises(IncompleteSignature, match="Credential"):
        identify(HttpRequestParts("GET", "/services/Euare", "", headers, b""))


def test_scope_date_must_match_request_date() -> None:
    headers = _signed()
    headers["Authorization"] = headers["Authorization"].replace("/20261121/", "/20261120/")
    pending = identify(HttpRequestParts("GET", "/services/Euare", "", headers, b""))
    with pytest.raises(SignatureDoesNotMatch, match="Credential scope"):
        pending.verify(SECRET, now=NOW)


def test_unsigned_payload_form_is_refused() -> None:
    headers = {**_signed(), "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "Content-Type": FORM}
    parts = _parts("POST", "/services/Euare", headers, b"Action=DeleteUser")
    with pytest.raises(IncompleteSignature, match="not covered"):
        identify(parts)
