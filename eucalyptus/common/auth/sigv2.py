"""AWS Signature Version 2 for the Query APIs (EC2, IAM, ...).

The authentication parameters (``AWSAccessKeyId``, ``SignatureVersion=2``,
``SignatureMethod`` ``HmacSHA1``/``HmacSHA256``, ``Signature``, ``Timestamp`` or
``Expires``) come in the query string or in a form-encoded POST body. The string
to sign is::

    METHOD \\n lower-case Host header \\n path \\n canonical query of all params but Signature

Real clients differ in the host and path they sign (boto 2 signs the host without
the port and sends it so; http.client-based clients send ``host:port``; some sign
``/`` whatever the path), so verification accepts a small set of variants: the
Host header as sent, lower-cased, without port; the raw path, its decoded form and
``/``.

Only SignatureVersion 2 is accepted. Versions 0 and 1 (insecure, retired by AWS)
get InvalidParameterValue, as AWS answers a value it does not support; an unknown
SignatureMethod likewise.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from urllib.parse import unquote

from eucalyptus.common.auth.base import (
    PendingSignature,
    SchemeName,
    check_not_expired,
    check_skew,
)
from eucalyptus.common.auth.canonical import (
    SigningKeyCache,
    b64,
    hmac_digest,
    parse_iso8601,
    sigv2_string_to_sign,
)
from eucalyptus.common.auth.request import HttpRequestParts
from eucalyptus.common.errors import (
    IncompleteSignature,
    InvalidParameterValue,
    SignatureDoesNotMatch,
)

#: SignatureMethod -> hashlib name
SIGNATURE_METHODS = {"HmacSHA1": "sha1", "HmacSHA256": "sha256"}
#: parameters that only carry authentication and are not passed on to the API
AUTH_ONLY_PARAMS = frozenset(
    {"AWSAccessKeyId", "Signature", "SignatureVersion", "SignatureMethod", "Timestamp", "Expires"}
)
_MARKERS = ("AWSAccessKeyId", "Signature", "SignatureVersion", "SignatureMethod")

MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def host_variants(host: str) -> list[str]:
    """Host values a client may have signed: lower-cased, as sent, without the port."""
    lowered = host.lower()
    variants = [lowered, host]
    if lowered.startswith("["):  # IPv6 literal: [::1]:8773
        bracket = lowered.find("]")
        if bracket != -1 and lowered[bracket + 1 :].startswith(":"):
            variants.append(lowered[: bracket + 1])
    elif ":" in lowered:
        variants.append(lowered.rsplit(":", 1)[0])
    return _unique(variants)


def path_variants(raw_path: str) -> list[str]:
    """Paths a client may have signed: as sent, percent-decoded, and ``/``."""
    path = raw_path or "/"
    return _unique([path, unquote(path), "/"])


class SigV2Signature(PendingSignature):
    """A Query-API SigV2 signature awaiting its secret key."""

    def __init__(
        self,
        *,
        request: HttpRequestParts,
        access_key_id: str,
        signature: str,
        algorithm: str,
        signed_params: list[tuple[str, str]],
        signed_at: datetime,
        expires_at: datetime | None,
        params: list[tuple[str, str]],
        has_timestamp: bool,
    ) -> None:
        super().__init__(
            access_key_id=access_key_id,
            signed_at=signed_at,
            expires_at=expires_at,
            params=params,
        )
        self.scheme: SchemeName = "sigv2"
        self.request = request
        # base64 has no spaces: a '+' sent unencoded in a query decodes to ' '
        self.signature = signature.replace(" ", "+")
        self.algorithm = algorithm
        self.signed_params = signed_params
        self.has_timestamp = has_timestamp

    def check_time(self, now: datetime, max_skew: timedelta) -> None:
        """Timestamp (if sent) within max_skew of now; now not past Expires (if sent)."""
        if self.has_timestamp:
            check_skew(self.signed_at, now, max_skew)
        if self.expires_at is not None:
            check_not_expired(self.expires_at, now)

    def strings_to_sign(self) -> list[str]:
        """Every string to sign that is accepted, the canonical one first."""
        host = self.request.header("host") or ""
        return [
            sigv2_string_to_sign(self.request.method, h, p, self.signed_params)
            for h in host_variants(host)
            for p in path_variants(self.request.raw_path)
        ]

    def check_signature(self, secret_key: str, key_cache: SigningKeyCache | None) -> None:
        """SignatureDoesNotMatch unless one accepted string to sign matches the signature."""
        key = secret_key.encode("utf-8")
        candidates = self.strings_to_sign()
        for string_to_sign in candidates:
            expected = b64(hmac_digest(key, string_to_sign, self.algorithm))
            if hmac.compare_digest(expected.encode(), self.signature.encode()):
                return
        raise SignatureDoesNotMatch(
            MISMATCH_MESSAGE,
            StringToSign=candidates[0],
            SignatureProvided=self.signature,
            AWSAccessKeyId=self.access_key_id,
        )


def _first(pairs: list[tuple[str, str]], name: str) -> str | None:
    for key, value in pairs:
        if key == name:
            return value
    return None


def parse_sigv2(req: HttpRequestParts) -> SigV2Signature | None:
    """Parse a Query-API SigV2 signature from the query string and form body.

    Returns None unless one of AWSAccessKeyId, Signature, SignatureVersion or
    SignatureMethod is present. Raises InvalidParameterValue for a SignatureVersion
    other than 2, an unknown SignatureMethod or an unparsable date, and
    IncompleteSignature naming every missing piece.
    """
    all_params = [*req.query, *req.form]
    if not any(_first(all_params, marker) is not None for marker in _MARKERS):
        return None
    version = _first(all_params, "SignatureVersion")
    if version is not None and version != "2":
        raise InvalidParameterValue(
            f"Value ({version}) for parameter SignatureVersion is invalid. "
            "Valid SignatureVersion is 2."
        )
    method = _first(all_params, "SignatureMethod")
    if method is not None and method not in SIGNATURE_METHODS:
        raise InvalidParameterValue(
            f"Value ({method}) for parameter SignatureMethod is invalid. "
            "Valid values are HmacSHA1 and HmacSHA256."
        )
    access_key = _first(all_params, "AWSAccessKeyId")
    signature = _first(all_params, "Signature")
    timestamp = _first(all_params, "Timestamp")
    expires = _first(all_params, "Expires")
    missing = [
        name
        for name, value in (
            ("AWSAccessKeyId", access_key),
            ("Signature", signature),
            ("SignatureVersion", version),
            ("SignatureMethod", method),
        )
        if not value
    ]
    if timestamp is None and expires is None:
        missing.append("Timestamp or Expires")
    if missing:
        raise IncompleteSignature(
            "Request must contain a signature that conforms to AWS standards; missing: "
            + ", ".join(missing)
        )
    assert access_key and signature and method  # narrowed by the check above
    expires_at = None if expires is None else parse_iso8601(expires, "Expires")
    signed_at = parse_iso8601(timestamp, "Timestamp") if timestamp is not None else expires_at
    assert signed_at is not None
    return SigV2Signature(
        request=req,
        access_key_id=access_key,
        signature=signature,
        algorithm=SIGNATURE_METHODS[method],
        signed_params=[(k, v) for k, v in all_params if k != "Signature"],
        signed_at=signed_at,
        expires_at=expires_at,
        params=[(k, v) for k, v in all_params if k not in AUTH_ONLY_PARAMS],
        has_timestamp=timestamp is not None,
    )
