"""S3's own Signature Version 2: ``Authorization: AWS AKID:sig`` and presigned query URLs.

The string to sign (HMAC-SHA1, base64) is::

    METHOD \\n Content-MD5 \\n Content-Type \\n Date \\n
    CanonicalizedAmzHeaders CanonicalizedResource

CanonicalizedAmzHeaders: every ``x-amz-*`` header, lower-cased and sorted, each
``name:value\\n`` with the values trimmed and a repeated header's values joined
by ``,``. The Date line is empty when ``x-amz-date`` is sent (that header then
gives the time), and is the ``Expires`` value for a presigned URL.
CanonicalizedResource: ``/<bucket>`` for a virtual-host request, then the path as
sent (still percent-encoded), then the sub-resources of the query
(:data:`SUBRESOURCES`) sorted by name, with their values decoded.

Clients differ in what they sign, so a few candidate strings are accepted:

* the path as sent, and the path without a leading service prefix such as
  ``/services/Walrus`` (euca2ools signs ``/bucket/key`` while sending
  ``/services/Walrus/bucket/key``), a bare ``/bucket`` also as ``/bucket/`` (what
  botocore signs for a bucket, whatever its endpoint's path), and the
  percent-decoded forms of these;
* the sub-resource names botocore signs, and those boto 2 signs (they differ only
  for rarely used sub-resources), and a sub-resource sent as ``name=`` also signed
  as plain ``name``;
* when both ``x-amz-date`` and ``Date`` are sent, the Date line empty (as the AWS
  documentation says) or holding ``Date`` (as botocore signs it).

A presigned URL carries the ``x-amz-*`` headers it was signed with (and, from
botocore, ``content-type``/``content-md5``) as query parameters: they count as
headers of the request when the request does not send them itself. They stay
in :attr:`~eucalyptus.common.auth.base.PendingSignature.params`.
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from eucalyptus.common.auth.base import (
    PendingSignature,
    SchemeName,
    SchemeParser,
    check_not_expired,
)
from eucalyptus.common.auth.canonical import SigningKeyCache, b64, hmac_digest, parse_http_date
from eucalyptus.common.auth.request import HttpRequestParts
from eucalyptus.common.auth.sigv4 import parse_sigv4_header, parse_sigv4_presigned
from eucalyptus.common.errors import (
    IncompleteSignature,
    InvalidParameterValue,
    SignatureDoesNotMatch,
)

#: where Walrus answers besides ``/``: clients may or may not sign this prefix
DEFAULT_PATH_PREFIXES: tuple[str, ...] = ("/services/Walrus",)

_RESPONSE_OVERRIDES = (
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
)

#: sub-resources in the CanonicalizedResource: the AWS documentation's list plus
#: the newer ones botocore signs
SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "inventory",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "restore",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
        *_RESPONSE_OVERRIDES,
    }
)

#: the sub-resources boto 2 signs (it also knows some Google Cloud Storage ones)
BOTO2_SUBRESOURCES = frozenset(
    {
        "acl",
        "billing",
        "compose",
        "cors",
        "defaultObjectAcl",
        "delete",
        "encryptionConfig",
        "lifecycle",
        "location",
        "logging",
        "partNumber",
        "policy",
        "requestPayment",
        "restore",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "userProject",
        "versionId",
        "versioning",
        "versions",
        "website",
        "websiteConfig",
        *_RESPONSE_OVERRIDES,
    }
)

#: query parameters that only carry presigned authentication
PRESIGN_AUTH_PARAMS = frozenset({"AWSAccessKeyId", "Signature", "Expires"})

MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
_AMZ_PREFIX = "x-amz-"
_EPOCH_SECONDS = re.compile(r"[0-9]{1,20}")


# --- canonical pieces ----------------------------------------------------------------------


def canonical_amz_headers(headers: Iterable[tuple[str, str]]) -> str:
    """CanonicalizedAmzHeaders of (name, value) pairs in any case, repeats allowed.

    Only ``x-amz-*`` names count; each becomes ``name:value\\n`` (lower-case name,
    values trimmed, a repeated header's values joined by ``,``), sorted by name.
    """
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        lowered = name.strip().lower()
        if lowered.startswith(_AMZ_PREFIX):
            grouped.setdefault(lowered, []).append(value.strip())
    return "".join(f"{name}:{','.join(grouped[name])}\n" for name in sorted(grouped))


def subresource_suffixes(query_string: str) -> list[str]:
    """The query parts of the CanonicalizedResource a client may have signed.

    Each is ``""`` or ``?name[=value]&...``: the sub-resources of the raw query
    string sorted by name (stable), values percent-decoded. The first uses
    :data:`SUBRESOURCES`; boto 2's list and the ``name=`` -> ``name`` spelling
    follow when they make a difference.
    """
    pieces = [piece.partition("=") for piece in query_string.split("&") if piece]
    suffixes: list[str] = []
    for names in (SUBRESOURCES, BOTO2_SUBRESOURCES):
        chosen = sorted(
            ((name, sep, unquote(value)) for name, sep, value in pieces if name in names),
            key=lambda item: item[0],
        )
        for drop_empty in (False, True):
            parts = [
                name if drop_empty and not value else f"{name}{sep}{value}"
                for name, sep, value in chosen
            ]
            suffixes.append("?" + "&".join(parts) if parts else "")
    return list(dict.fromkeys(suffixes))


def path_candidates(
    raw_path: str, virtual_bucket: str | None, path_prefixes: Sequence[str]
) -> list[str]:
    """The resource paths a client may have signed, the path as sent first.

    The raw path; the raw path without the first matching prefix of
    ``path_prefixes``; for path-style requests a bare ``/bucket`` of those also as
    ``/bucket/`` (botocore signs a bucket so); then the percent-decoded forms of
    all. Each is put under ``/<virtual_bucket>`` for a virtual-host request.
    """
    path = raw_path or "/"
    raw = [path]
    for prefix in path_prefixes:
        stripped = prefix.rstrip("/")
        if stripped and (path == stripped or path.startswith(stripped + "/")):
            raw.append(path[len(stripped) :] or "/")
            break
    if not virtual_bucket:
        raw += [p + "/" for p in raw if len(p) > 1 and p.count("/") == 1]
    paths = [*raw, *(unquote(p) for p in raw)]
    if virtual_bucket:
        paths = [f"/{virtual_bucket}{p}" for p in paths]
    return list(dict.fromkeys(paths))


def string_to_sign(
    method: str,
    content_md5: str,
    content_type: str,
    date: str,
    amz_headers: str,
    resource: str,
) -> str:
    """The S3 SigV2 string to sign; ``amz_headers`` from :func:`canonical_amz_headers`."""
    return f"{method.upper()}\n{content_md5}\n{content_type}\n{date}\n{amz_headers}{resource}"


def sign_string(secret_key: str, text: str) -> str:
    """Base64 HMAC-SHA1 of ``text`` with ``secret_key``: an S3 SigV2 signature."""
    return b64(hmac_digest(secret_key.encode("utf-8"), text, "sha1"))


# --- the pending signature -----------------------------------------------------------------


class S3V2Signature(PendingSignature):
    """An S3 SigV2 signature (header or presigned URL) awaiting its secret key.

    ``strings_to_sign()`` lists every accepted string to sign, the canonical one
    (path as sent, botocore's sub-resources) first.
    """

    def __init__(
        self,
        *,
        scheme: SchemeName,
        request: HttpRequestParts,
        access_key_id: str,
        signature: str,
        content_md5: str,
        content_type: str,
        date_lines: list[str],
        amz_headers: str,
        resources: list[str],
        signed_at: datetime,
        expires_at: datetime | None,
        params: list[tuple[str, str]],
    ) -> None:
        super().__init__(
            access_key_id=access_key_id,
            signed_at=signed_at,
            expires_at=expires_at,
            params=params,
        )
        self.scheme = scheme
        self.request = request
        # base64 has no spaces: a '+' sent unencoded in a query decodes to ' '
        self.signature = signature.strip().replace(" ", "+")
        self.content_md5 = content_md5
        self.content_type = content_type
        self.date_lines = date_lines
        self.amz_headers = amz_headers
        self.resources = resources

    def check_time(self, now: datetime, max_skew: timedelta) -> None:
        """Header form: the date within ``max_skew`` of now. Presigned: now not past Expires."""
        if self.scheme == "s3v2-presigned" and self.expires_at is not None:
            check_not_expired(self.expires_at, now)
            return
        super().check_time(now, max_skew)

    def strings_to_sign(self) -> list[str]:
        """Every string to sign that is accepted, the canonical one first."""
        method = self.request.method
        return [
            string_to_sign(
                method, self.content_md5, self.content_type, date, self.amz_headers, resource
            )
            for resource in self.resources
            for date in self.date_lines
        ]

    def check_signature(self, secret_key: str, key_cache: SigningKeyCache | None) -> None:
        """SignatureDoesNotMatch unless one accepted string to sign matches the signature.

        The error's ``extra`` holds AWSAccessKeyId, StringToSign (the canonical
        candidate), SignatureProvided and StringToSignBytes (hex, space separated).
        ``key_cache`` is unused (SigV2 derives no key).
        """
        provided = self.signature.encode("ascii", "replace")
        candidates = self.strings_to_sign()
        for candidate in candidates:
            if hmac.compare_digest(sign_string(secret_key, candidate).encode(), provided):
                return
        canonical = candidates[0]
        raise SignatureDoesNotMatch(
            MISMATCH_MESSAGE,
            AWSAccessKeyId=self.access_key_id,
            StringToSign=canonical,
            SignatureProvided=self.signature,
            StringToSignBytes=canonical.encode("utf-8").hex(" "),
        )


# --- parsers -------------------------------------------------------------------------------


def _header_value(req: HttpRequestParts, name: str, fallback: Mapping[str, str]) -> str:
    value = req.header(name)
    if value is None:
        value = fallback.get(name, "")
    return value.strip()


def _resources(
    req: HttpRequestParts, virtual_bucket: str | None, path_prefixes: Sequence[str]
) -> list[str]:
    return [
        path + suffix
        for path in path_candidates(req.raw_path, virtual_bucket, path_prefixes)
        for suffix in subresource_suffixes(req.query_string)
    ]


def _parse_date(value: str) -> datetime:
    try:
        return parse_http_date(value)
    except InvalidParameterValue:
        raise IncompleteSignature(
            f"AWS authentication requires a valid Date or x-amz-date header: '{value}'"
        ) from None


def parse_s3v2_header(
    req: HttpRequestParts,
    *,
    virtual_bucket: str | None = None,
    path_prefixes: Sequence[str] = DEFAULT_PATH_PREFIXES,
) -> S3V2Signature | None:
    """Parse ``Authorization: AWS <access key>:<base64 signature>``.

    Returns None for any other Authorization header (or none). ``virtual_bucket``
    is the bucket named by the Host of a virtual-host request. Raises
    IncompleteSignature for a malformed header value and for a missing or
    unparsable date (``x-amz-date``, else ``Date``).
    """
    authorization = req.header("authorization")
    if authorization is None:
        return None
    words = authorization.strip().split(None, 1)
    if not words or words[0] != "AWS":
        return None
    access_key, sep, signature = (words[1] if len(words) > 1 else "").strip().rpartition(":")
    if not sep or not access_key or not signature:
        raise IncompleteSignature(
            "AWS authorization header is invalid. Expected AwsAccessKeyId:signature, "
            f"got '{authorization}'"
        )
    amz_date = req.header("x-amz-date")
    date = req.header("date")
    if amz_date is None and date is None:
        raise IncompleteSignature("AWS authentication requires a valid Date or x-amz-date header")
    signed_at = _parse_date(amz_date if amz_date is not None else date or "")
    date_lines = [""] if amz_date is not None else [(date or "").strip()]
    if amz_date is not None and date is not None:
        date_lines.append(date.strip())
    return S3V2Signature(
        scheme="s3v2",
        request=req,
        access_key_id=access_key.strip(),
        signature=signature,
        content_md5=_header_value(req, "content-md5", {}),
        content_type=_header_value(req, "content-type", {}),
        date_lines=date_lines,
        amz_headers=canonical_amz_headers(req.headers.items()),
        resources=_resources(req, virtual_bucket, path_prefixes),
        signed_at=signed_at,
        expires_at=None,
        params=list(req.query),
    )


def _expiry(value: str) -> datetime:
    if not _EPOCH_SECONDS.fullmatch(value.strip()):
        raise IncompleteSignature(f"Invalid date (should be seconds since epoch): {value}")
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(value.strip()))
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def parse_s3v2_query(
    req: HttpRequestParts,
    *,
    virtual_bucket: str | None = None,
    path_prefixes: Sequence[str] = DEFAULT_PATH_PREFIXES,
) -> S3V2Signature | None:
    """Parse a presigned SigV2 URL: ``AWSAccessKeyId``, ``Signature``, ``Expires`` (epoch).

    Returns None when neither AWSAccessKeyId nor Signature is in the query, or when
    SignatureVersion is (a Query-API request). Raises IncompleteSignature naming
    the missing parameters, or for an Expires that is not a number of seconds.
    """
    access_key = req.query_value("AWSAccessKeyId")
    signature = req.query_value("Signature")
    if access_key is None and signature is None:
        return None
    if req.query_value("SignatureVersion") is not None:
        return None
    expires = req.query_value("Expires")
    missing = [
        name
        for name, value in (
            ("AWSAccessKeyId", access_key),
            ("Signature", signature),
            ("Expires", expires),
        )
        if not value
    ]
    if missing:
        raise IncompleteSignature(
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
            "parameters; missing: " + ", ".join(missing)
        )
    assert access_key and signature and expires  # narrowed by the check above
    expires_at = _expiry(expires)
    query_headers = {
        name.lower(): value
        for name, value in req.query
        if name.lower().startswith(_AMZ_PREFIX) or name.lower() in ("content-md5", "content-type")
    }
    amz = {k: v for k, v in query_headers.items() if k.startswith(_AMZ_PREFIX)}
    sent = [(k, v) for k, v in req.headers.items() if k.lower() not in amz]
    return S3V2Signature(
        scheme="s3v2-presigned",
        request=req,
        access_key_id=access_key.strip(),
        signature=signature,
        content_md5=_header_value(req, "content-md5", query_headers),
        content_type=_header_value(req, "content-type", query_headers),
        date_lines=[expires.strip()],
        amz_headers=canonical_amz_headers([*sent, *amz.items()]),
        resources=_resources(req, virtual_bucket, path_prefixes),
        signed_at=expires_at,
        expires_at=expires_at,
        params=[(k, v) for k, v in req.query if k not in PRESIGN_AUTH_PARAMS],
    )


def s3_schemes(
    virtual_bucket: str | None = None,
    path_prefixes: Sequence[str] = DEFAULT_PATH_PREFIXES,
) -> tuple[SchemeParser, ...]:
    """The scheme parsers of S3, in order: SigV4 header, SigV4 presigned, S3 SigV2
    header, S3 SigV2 presigned; for :func:`~eucalyptus.common.auth.detect.identify`."""
    prefixes = tuple(path_prefixes)
    return (
        parse_sigv4_header,
        parse_sigv4_presigned,
        functools.partial(parse_s3v2_header, virtual_bucket=virtual_bucket, path_prefixes=prefixes),
        functools.partial(parse_s3v2_query, virtual_bucket=virtual_bucket, path_prefixes=prefixes),
    )
