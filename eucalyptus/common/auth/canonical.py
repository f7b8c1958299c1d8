"""Canonicalisation and crypto pieces shared by every AWS signature scheme.

Both sides use these: the verifiers (:mod:`.sigv2`, :mod:`.sigv4`) and the client
helpers (:mod:`.signing`). A later S3 SigV2 header scheme (``AWS AKID:sig`` with
CanonicalizedAmzHeaders / CanonicalizedResource) builds on :func:`uri_encode`,
:func:`hmac_digest` and :func:`b64` from here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote

from eucalyptus.common.errors import InvalidParameterValue

#: hex SHA-256 of the empty string
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#: payload hash a client may send instead of hashing the body
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
ISO8601_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


# --- encoding ----------------------------------------------------------------------------


def uri_encode(value: str, *, safe: str = "") -> str:
    """RFC 3986 percent-encoding of the UTF-8 bytes of ``value``.

    Unreserved characters ``A-Za-z0-9-_.~`` and those in ``safe`` are kept; every
    other byte becomes ``%XX`` (upper-case hex), so a space is ``%20``.
    """
    return quote(value.encode("utf-8"), safe=safe)


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Decoded (name, value) pairs as a canonical query string.

    Names and values are :func:`uri_encode`\\ d, sorted by encoded name then encoded
    value (byte order), and joined with ``=`` and ``&``. This is the
    CanonicalizedQueryString of SigV2 and the canonical query of SigV4.
    """
    encoded = sorted((uri_encode(name), uri_encode(value)) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def normalize_path(path: str) -> str:
    """Remove ``.`` and ``..`` segments and collapse runs of ``/`` (empty -> ``/``).

    A leading and a trailing slash are kept, as botocore does.
    """
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    head = "/" if path.startswith("/") else ""
    tail = "/" if path.endswith("/") and segments else ""
    return head + "/".join(segments) + tail or "/"


def sigv4_canonical_uri(raw_path: str, service: str) -> str:
    """The SigV4 canonical URI of a path exactly as sent on the wire.

    For ``s3`` the path is used as sent (it is already encoded once). For every
    other service it is normalised (:func:`normalize_path`) and percent-encoded
    again, segment by segment, so ``%`` becomes ``%25`` (botocore's double encoding).
    """
    if service == "s3":
        return raw_path or "/"
    return uri_encode(normalize_path(raw_path), safe="/")


def canonical_header_value(value: str) -> str:
    """A header value trimmed, with inner runs of whitespace collapsed to one space."""
    return " ".join(value.split())


def canonical_headers(headers: Mapping[str, str], names: Sequence[str]) -> str:
    """``name:value\\n`` for each (lower-case) name in order; ``headers`` is keyed lower-case.

    A signed header that is absent contributes an empty value.
    """
    return "".join(f"{name}:{canonical_header_value(headers.get(name, ''))}\n" for name in names)


# --- hashing and keys --------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def hmac_digest(key: bytes, message: str, algorithm: str = "sha256") -> bytes:
    """HMAC of the UTF-8 bytes of ``message`` with ``key`` (``sha256`` or ``sha1``)."""
    return hmac.new(key, message.encode("utf-8"), algorithm).digest()


def b64(data: bytes) -> str:
    """Standard base64 (with padding) as text."""
    return base64.b64encode(data).decode("ascii")


def derive_signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key: HMAC chain over date (YYYYMMDD), region, service, aws4_request."""
    k_date = hmac_digest(f"AWS4{secret_key}".encode(), date)
    k_region = hmac_digest(k_date, region)
    k_service = hmac_digest(k_region, service)
    return hmac_digest(k_service, "aws4_request")


class SigningKeyCache:
    """Derived SigV4 signing keys keyed by (secret, date, region, service).

    Owned by whoever creates it (one per daemon, say) and passed to ``verify``; it
    saves the four HMACs of the key derivation per request. Holds at most
    ``max_entries`` keys and forgets the oldest first. Not thread-safe; meant for
    one event loop. It holds secrets in memory for as long as it lives.
    """

    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._keys: dict[tuple[str, str, str, str], bytes] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def signing_key(self, secret_key: str, date: str, region: str, service: str) -> bytes:
        """The signing key for this scope, derived once and then remembered."""
        cache_key = (secret_key, date, region, service)
        found = self._keys.get(cache_key)
        if found is None:
            found = derive_signing_key(secret_key, date, region, service)
            if len(self._keys) >= self._max:
                del self._keys[next(iter(self._keys))]
            self._keys[cache_key] = found
        return found


def signing_key(
    secret_key: str, date: str, region: str, service: str, cache: SigningKeyCache | None
) -> bytes:
    """The SigV4 signing key, through ``cache`` when one is given."""
    if cache is None:
        return derive_signing_key(secret_key, date, region, service)
    return cache.signing_key(secret_key, date, region, service)


# --- SigV4 strings -----------------------------------------------------------------------


def sigv4_canonical_request(
    method: str,
    canonical_uri: str,
    canonical_query_string: str,
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """The SigV4 canonical request; ``headers`` keyed lower-case, ``signed_headers`` in order."""
    return "\n".join(
        (
            method.upper(),
            canonical_uri,
            canonical_query_string,
            canonical_headers(headers, signed_headers),
            ";".join(signed_headers),
            payload_hash,
        )
    )


def sigv4_string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    """The SigV4 string to sign; ``scope`` is ``date/region/service/aws4_request``."""
    digest = sha256_hex(canonical_request.encode("utf-8"))
    return f"{SIGV4_ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def sigv4_signature(key: bytes, string_to_sign: str) -> str:
    """Lower-case hex HMAC-SHA256 of the string to sign with the signing key."""
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


# --- SigV2 strings -----------------------------------------------------------------------


def sigv2_string_to_sign(
    method: str, host: str, path: str, params: Iterable[tuple[str, str]]
) -> str:
    """The Query-API SigV2 string to sign.

    ``host`` and ``path`` are used exactly as given (callers lower-case the host);
    an empty path is ``/``; ``params`` must already exclude ``Signature``.
    """
    return f"{method.upper()}\n{host}\n{path or '/'}\n{canonical_query(params)}"


# --- dates -------------------------------------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_amz_date(moment: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` (SigV4 X-Amz-Date)."""
    return as_utc(moment).strftime(AMZ_DATE_FORMAT)


def format_iso8601(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (SigV2 Timestamp)."""
    return as_utc(moment).strftime(ISO8601_FORMAT)


def parse_amz_date(value: str, name: str = "X-Amz-Date") -> datetime:
    """Parse ``YYYYMMDDTHHMMSSZ``; InvalidParameterValue naming ``name`` if malformed."""
    try:
        return datetime.strptime(value, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidParameterValue(
            f"Invalid {name} value '{value}': expected the form YYYYMMDD'T'HHMMSS'Z'"
        ) from None


def parse_iso8601(value: str, name: str) -> datetime:
    """Parse an ISO 8601 date-time (``Z``, an offset or none meaning UTC; fractions allowed).

    Raises InvalidParameterValue naming the parameter ``name`` if malformed.
    """
    try:
        return as_utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise InvalidParameterValue(f"Value ({value}) for parameter {name} is invalid.") from None


def parse_http_date(value: str) -> datetime:
    """Parse an RFC 1123 ``Date`` header, or an X-Amz-Date-style value; UTC.

    Raises InvalidParameterValue if neither form fits.
    """
    try:
        return as_utc(parsedate_to_datetime(value))
    except (TypeError, ValueError):
        return parse_amz_date(value, "Date")
