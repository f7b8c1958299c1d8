"""Client-side signing: what our own tools (and the tests) use to call the Query APIs.

Every helper is pure: it takes the clock as ``now`` and returns what to send. URLs
and paths are taken as they will go on the wire (already percent-encoded); a caller
using aiohttp should pass such a URL with ``yarl.URL(url, encoded=True)`` so that it
is not re-encoded after signing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from eucalyptus.common.auth.canonical import (
    EMPTY_SHA256,
    SIGV4_ALGORITHM,
    UNSIGNED_PAYLOAD,
    SigningKeyCache,
    b64,
    canonical_query,
    format_amz_date,
    format_iso8601,
    hmac_digest,
    sha256_hex,
    signing_key,
    sigv2_string_to_sign,
    sigv4_canonical_request,
    sigv4_canonical_uri,
    sigv4_signature,
    sigv4_string_to_sign,
)
from eucalyptus.common.auth.request import parse_query
from eucalyptus.common.auth.sigv2 import SIGNATURE_METHODS
from eucalyptus.common.auth.sigv4 import MAX_PRESIGN_EXPIRES

#: headers never signed by :func:`sign_v4_headers` (proxies and clients change them)
UNSIGNED_HEADERS = frozenset({"authorization", "user-agent", "expect", "x-amzn-trace-id"})


def sign_v2_query(
    method: str,
    host: str,
    path: str,
    params: Mapping[str, str],
    access_key: str,
    secret_key: str,
    *,
    now: datetime,
    method_name: str = "HmacSHA256",
) -> list[tuple[str, str]]:
    """Sign Query-API parameters with SigV2.

    ``host`` must be the Host header that will be sent (with its port if not the
    default) and ``path`` the request path. Returns ``params`` plus
    AWSAccessKeyId, SignatureVersion, SignatureMethod, Timestamp and Signature, to
    send in the query string (GET) or a form body (POST). Raises ValueError for a
    ``method_name`` other than HmacSHA1 / HmacSHA256.
    """
    if method_name not in SIGNATURE_METHODS:
        raise ValueError(f"unsupported SigV2 method {method_name!r}")
    signed = {k: v for k, v in params.items() if k != "Signature"}
    signed.update(
        AWSAccessKeyId=access_key,
        SignatureVersion="2",
        SignatureMethod=method_name,
        Timestamp=format_iso8601(now),
    )
    pairs = list(signed.items())
    string_to_sign = sigv2_string_to_sign(method, host.lower(), path, pairs)
    digest = hmac_digest(secret_key.encode("utf-8"), string_to_sign, SIGNATURE_METHODS[method_name])
    return [*pairs, ("Signature", b64(digest))]


def sign_v4_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
    *,
    region: str,
    service: str,
    now: datetime,
    key_cache: SigningKeyCache | None = None,
) -> dict[str, str]:
    """Sign a request with a SigV4 Authorization header.

    Returns a copy of ``headers`` plus Host (from the URL, unless given),
    X-Amz-Date, ``x-amz-content-sha256`` (for ``s3`` only) and Authorization. All
    headers are signed except those in :data:`UNSIGNED_HEADERS`; the body is hashed.
    """
    parts = urlsplit(url)
    out = {
        k: v
        for k, v in headers.items()
        if k.lower() not in ("authorization", "x-amz-date", "x-amz-content-sha256")
    }
    if not any(k.lower() == "host" for k in out):
        out["Host"] = parts.netloc
    amz_date = format_amz_date(now)
    out["X-Amz-Date"] = amz_date
    payload = sha256_hex(body)
    if service == "s3":
        out["x-amz-content-sha256"] = payload
    lower = {k.lower(): v for k, v in out.items()}
    signed = sorted(k for k in lower if k not in UNSIGNED_HEADERS)
    canonical_request = sigv4_canonical_request(
        method,
        sigv4_canonical_uri(parts.path, service),
        canonical_query(parse_query(parts.query)),
        lower,
        signed,
        payload,
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    key = signing_key(secret_key, amz_date[:8], region, service, key_cache)
    signature = sigv4_signature(key, sigv4_string_to_sign(amz_date, scope, canonical_request))
    out["Authorization"] = (
        f"{SIGV4_ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return out


def presign_v4_url(
    method: str,
    url: str,
    access_key: str,
    secret_key: str,
    *,
    region: str,
    service: str,
    now: datetime,
    expires: int,
    key_cache: SigningKeyCache | None = None,
) -> str:
    """A presigned SigV4 URL valid for ``expires`` seconds from ``now``.

    Only ``host`` is signed. The payload hash is ``UNSIGNED-PAYLOAD`` for ``s3`` and
    the hash of an empty body otherwise (as botocore presigns). The query string is
    rewritten in canonical order. Raises ValueError unless 0 <= expires <= 604800.
    """
    if not 0 <= expires <= MAX_PRESIGN_EXPIRES:
        raise ValueError(f"expires must be within 0..{MAX_PRESIGN_EXPIRES} seconds")
    parts = urlsplit(url)
    amz_date = format_amz_date(now)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    pairs = [
        *parse_query(parts.query),
        ("X-Amz-Algorithm", SIGV4_ALGORITHM),
        ("X-Amz-Credential", f"{access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    query = canonical_query(pairs)
    canonical_request = sigv4_canonical_request(
        method,
        sigv4_canonical_uri(parts.path, service),
        query,
        {"host": parts.netloc},
        ["host"],
        UNSIGNED_PAYLOAD if service == "s3" else EMPTY_SHA256,
    )
    key = signing_key(secret_key, amz_date[:8], region, service, key_cache)
    signature = sigv4_signature(key, sigv4_string_to_sign(amz_date, scope, canonical_request))
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, f"{query}&X-Amz-Signature={signature}", "")
    )
