"""Query-API SigV2 verification against boto 2's and botocore's own signers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto.connection
import pytest
from botocore.auth import SigV2Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from eucalyptus.common.auth import (
    HttpRequestParts,
    SigV2Signature,
    identify,
    sign_v2_query,
)
from eucalyptus.common.auth.canonical import sigv2_string_to_sign
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
FORM = "application/x-www-form-urlencoded; charset=UTF-8"


def _now() -> datetime:
    return datetime.now(UTC)


def _parts(
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    body: bytes | str = b"",
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


# --- boto 2 ------------------------------------------------------------------------------


class _SigV2Connection(boto.connection.AWSQueryConnection):  # type: ignore[misc]
    """A boto 2 Query connection that selects boto's QuerySignatureV2AuthHandler."""

    def _required_auth_capability(self) -> list[str]:
        return ["sign-v2"]


def _boto2_request(
    verb: str,
    params: dict[str, str],
    *,
    secret: str = SECRET,
    port: int = 8773,
    sha1: bool = False,
) -> HttpRequestParts:
    """Run boto 2's own signing code on a request, without any network."""
    conn = _SigV2Connection(
        aws_access_key_id=AKID,
        aws_secret_access_key=secret,
        host="euca.example.com",
        port=port,
        is_secure=False,
        path="/services/Euare",
    )
    handler = conn._auth_handler
    assert type(handler).__name__ == "QuerySignatureV2AuthHandler"
    if sha1:
        handler._hmac_256 = None  # boto's own switch to HmacSHA1
    req = conn.build_base_http_request(verb, "/", None, params, {}, "", conn.host)
    req.authorize(connection=conn)
    conn.set_host_header(req)
    return _parts(req.method, req.path, req.headers, req.body)


@pytest.mark.parametrize("verb", ["GET", "POST"])
@pytest.mark.parametrize("sha1", [False, True])
def test_boto2_signature_verifies(verb: str, sha1: bool) -> None:
    parts = _boto2_request(
        verb, {"Action": "GetUser", "UserName": "a b+c/d~é", "Version": "2010-05-08"}, sha1=sha1
    )
    pending = identify(parts)
    assert isinstance(pending, SigV2Signature)
    assert pending.algorithm == ("sha1" if sha1 else "sha256")
    assert pending.scheme == "sigv2"
    assert pending.access_key_id == AKID
    assert pending.region is None
    assert dict(pending.params) == {
        "Action": "GetUser",
        "UserName": "a b+c/d~é",
        "Version": "2010-05-08",
    }
    pending.verify(SECRET, now=_now())


def test_boto2_default_port_verifies() -> None:
    identify(_boto2_request("GET", {"Action": "ListUsers"}, port=80)).verify(SECRET, now=_now())


def test_boto2_wrong_secret_fails() -> None:
    parts = _boto2_request("GET", {"Action": "GetUser"}, secret="not-the-secret")
    with pytest.raises(SignatureDoesNotMatch) as caught:
        identify(parts).verify(SECRET, now=_now())
    sts = caught.value.extra["StringToSign"]
    assert sts.startswith("GET\neuca.example.com\n/services/Euare/\n")
    assert "Action=GetUser" in sts


def test_boto2_changed_param_fails() -> None:
    parts = _boto2_request("GET", {"Action": "GetUser", "UserName": "alice"})
    tampered = HttpRequestParts(
        parts.method,
        parts.raw_path,
        parts.query_string.replace("UserName=alice", "UserName=admin"),
        parts.headers,
        parts.body,
    )
    identify(parts).verify(SECRET, now=_now())
    with pytest.raises(SignatureDoesNotMatch):
        identify(tampered).verify(SECRET, now=_now())


def test_boto2_changed_form_body_fails() -> None:
    parts = _boto2_request("POST", {"Action": "GetUser", "UserName": "alice"})
    body = parts.body.replace(b"UserName=alice", b"UserName=admin")
    tampered = _parts("POST", parts.raw_path, parts.headers, body)
    assert ("UserName", "admin") in tampered.form
    with pytest.raises(SignatureDoesNotMatch):
        identify(tampered).verify(SECRET, now=_now())


def test_changed_host_fails() -> None:
    parts = _boto2_request("GET", {"Action": "GetUser"})
    tampered = HttpRequestParts(
        parts.method, parts.raw_path, parts.query_string, {"Host": "other.example.com"}, b""
    )
    with pytest.raises(SignatureDoesNotMatch):
        identify(tampered).verify(SECRET, now=_now())


# --- botocore ----------------------------------------------------------------------------


def _botocore_request(
    method: str, params: dict[str, str], secret: str = SECRET
) -> HttpRequestParts:
    url = "http://Euca.Example.com:8773/services/Compute"
    if method == "GET":
        request = AWSRequest(method="GET", url=url, params=dict(params))
    else:
        request = AWSRequest(
            method="POST", url=url, data=dict(params), headers={"Content-Type": FORM}
        )
    SigV2Auth(Credentials(AKID, secret)).add_auth(request)
    prepared = request.prepare()
    split = urlsplit(prepared.url)
    headers = dict(prepared.headers.items())
    headers.setdefault("Host", split.netloc)  # what the HTTP client sends
    body = prepared.body or b""
    return _parts(method, f"{split.path}?{split.query}", headers, body)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_botocore_signature_verifies(method: str) -> None:
    parts = _botocore_request(method, {"Action": "DescribeInstances", "Filter.1.Name": "a b"})
    pending = identify(parts)
    assert ("Action", "DescribeInstances") in pending.params
    pending.verify(SECRET, now=_now())
    with pytest.raises(SignatureDoesNotMatch):
        pending.verify("wrong", now=_now())


# --- our own client helper ---------------------------------------------------------------


@pytest.mark.parametrize("method_name", ["HmacSHA1", "HmacSHA256"])
@pytest.mark.parametrize("verb", ["GET", "POST"])
def test_sign_v2_query_round_trip(method_name: str, verb: str) -> None:
    signed = sign_v2_query(
        verb,
        "clc.example.com:8773",
        "/services/Euare",
        {"Action": "CreateUser", "UserName": "bob & alice=*"},
        AKID,
        SECRET,
        now=NOW,
        method_name=method_name,
    )
    encoded = urlencode(signed)
    headers = {"Host": "clc.example.com:8773"}
    if verb == "GET":
        parts = _parts("GET", f"/services/Euare?{encoded}", headers)
    else:
        parts = _parts("POST", "/services/Euare", {**headers, "Content-Type": FORM}, encoded)
    pending = identify(parts)
    assert pending.params == [("Action", "CreateUser"), ("UserName", "bob & alice=*")]
    assert pending.signed_at == NOW
    pending.verify(SECRET, now=NOW + timedelta(minutes=1))


def _signed_get(
    params: Mapping[str, str] | None = None,
    *,
    host: str = "clc.example.com:8773",
    sent_host: str | None = None,
    path: str = "/services/Euare",
    sent_path: str | None = None,
    now: datetime = NOW,
) -> HttpRequestParts:
    signed = sign_v2_query(
        "GET", host, path, params or {"Action": "GetUser"}, AKID, SECRET, now=now
    )
    return _parts("GET", f"{sent_path or path}?{urlencode(signed)}", {"Host": sent_host or host})


def test_host_signed_without_port_is_accepted() -> None:
    parts = _signed_get(host="clc.example.com", sent_host="CLC.example.com:8773")
    identify(parts).verify(SECRET, now=NOW)


def test_host_is_lower_cased() -> None:
    parts = _signed_get(host="clc.example.com:8773", sent_host="CLC.Example.com:8773")
    identify(parts).verify(SECRET, now=NOW)


def test_path_signed_as_root_is_accepted() -> None:
    identify(_signed_get(path="/", sent_path="/services/Euare")).verify(SECRET, now=NOW)


def test_other_path_is_refused() -> None:
    parts = _signed_get(path="/services/Other", sent_path="/services/Euare")
    with pytest.raises(SignatureDoesNotMatch):
        identify(parts).verify(SECRET, now=NOW)


def test_unencoded_plus_in_signature_is_tolerated() -> None:
    candidates = (_signed_get({"Action": "GetUser", "UserName": f"u{i}"}) for i in range(500))
    parts = next(p for p in candidates if "+" in dict(p.query)["Signature"])
    params = dict(parts.query)
    signature = params.pop("Signature")
    sloppy_query = urlencode(params) + "&Signature=" + signature  # '+' not encoded
    sloppy = HttpRequestParts("GET", parts.raw_path, sloppy_query, parts.headers, b"")
    identify(sloppy).verify(SECRET, now=NOW)


# --- time --------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [timedelta(minutes=16), timedelta(minutes=-16)])
def test_skewed_timestamp_is_expired(offset: timedelta) -> None:
    pending = identify(_signed_get(now=NOW))
    with pytest.raises(RequestExpired):
        pending.verify(SECRET, now=NOW + offset)
    pending.verify(SECRET, now=NOW + offset / 16 * 14)


def _expires_request(expires: datetime) -> HttpRequestParts:
    """A request carrying Expires instead of Timestamp (sign_v2_query always sends Timestamp)."""
    params = {
        "Action": "GetUser",
        "AWSAccessKeyId": AKID,
        "SignatureVersion": "2",
        "SignatureMethod": "HmacSHA256",
        "Expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    sts = sigv2_string_to_sign("GET", "h:1", "/", params.items())
    digest = hmac.new(SECRET.encode(), sts.encode(), hashlib.sha256).digest()
    params["Signature"] = base64.b64encode(digest).decode()
    return _parts("GET", "/?" + urlencode(params), {"Host": "h:1"})


def test_expires_only_request() -> None:
    parts = _expires_request(NOW + timedelta(hours=2))
    pending = identify(parts)
    assert pending.expires_at == NOW + timedelta(hours=2)
    pending.verify(SECRET, now=NOW)  # far-future Expires is fine, no skew rule
    with pytest.raises(RequestExpired):
        pending.verify(SECRET, now=NOW + timedelta(hours=2, seconds=1))
    assert "Expires" not in dict(pending.params)


# --- malformed requests ------------------------------------------------------------------


def _query(**params: str) -> HttpRequestParts:
    return _parts("GET", "/?" + urlencode(params), {"Host": "h"})


def test_no_credentials_is_missing_token() -> None:
    with pytest.raises(MissingAuthenticationToken):
        identify(_query(Action="GetUser"))


def test_missing_signature_is_incomplete() -> None:
    with pytest.raises(IncompleteSignature, match="Signature"):
        identify(
            _query(
                Action="GetUser",
                AWSAccessKeyId=AKID,
                SignatureVersion="2",
                SignatureMethod="HmacSHA256",
                Timestamp="2026-11-21T12:00:00Z",
            )
        )


def test_missing_timestamp_and_access_key_are_named() -> None:
    with pytest.raises(IncompleteSignature) as caught:
        identify(_query(SignatureVersion="2", SignatureMethod="HmacSHA1", Signature="abc"))
    assert "AWSAccessKeyId" in caught.value.message
    assert "Timestamp" in caught.value.message


@pytest.mark.parametrize("version", ["0", "1", "3"])
def test_other_signature_versions_are_invalid(version: str) -> None:
    with pytest.raises(InvalidParameterValue, match="SignatureVersion"):
        identify(
            _query(
                AWSAccessKeyId=AKID,
                SignatureVersion=version,
                SignatureMethod="HmacSHA256",
                Signature="abc",
                Timestamp="2026-11-21T12:00:00Z",
            )
        )


def test_unknown_signature_method_is_invalid() -> None:
    with pytest.raises(InvalidParameterValue, match="SignatureMethod"):
        identify(
            _query(
                AWSAccessKeyId=AKID,
                SignatureVersion="2",
                SignatureMethod="HmacMD5",
                Signature="abc",
                Timestamp="2026-11-21T12:00:00Z",
            )
        )


def test_bad_timestamp_is_invalid() -> None:
    with pytest.raises(InvalidParameterValue, match="Timestamp"):
        identify(
            _query(
                AWSAccessKeyId=AKID,
                SignatureVersion="2",
                SignatureMethod="HmacSHA256",
                Signature="abc",
                Timestamp="yesterday",
            )
        )
