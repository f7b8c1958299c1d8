"""AWS Signature Version 4: the Authorization header form and the presigned query form.

Any region name is accepted in the credential scope (euca2ools invents one); the
scope's service is reported and only chooses the canonical URI rule: ``s3`` signs
the path as sent, every other service the normalised, re-encoded path (with the
normalised single-encoded path accepted as a fallback for clients that do not
double-encode).

Payload hash: the ``x-amz-content-sha256`` header if sent (a hex value is also
checked against the body when the caller passed the whole body, i.e. unless a
Content-Length header disagrees with ``len(body)``); else for the header form the
SHA-256 of the body; else for presigned ``s3`` ``UNSIGNED-PAYLOAD``; else for other
presigned services the SHA-256 of the body (what botocore's SigV4QueryAuth signs),
or ``UNSIGNED-PAYLOAD`` when the body is empty. Form parameters in a body that the
signature does not cover are refused, since the API layer would read them.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta

from eucalyptus.common.auth.base import (
    PendingSignature,
    SchemeName,
    check_not_expired,
    check_not_future,
)
from eucalyptus.common.auth.canonical import (
    SIGV4_ALGORITHM,
    UNSIGNED_PAYLOAD,
    SigningKeyCache,
    canonical_query,
    format_amz_date,
    normalize_path,
    parse_amz_date,
    parse_http_date,
    sha256_hex,
    signing_key,
    sigv4_canonical_request,
    sigv4_canonical_uri,
    sigv4_signature,
    sigv4_string_to_sign,
)
from eucalyptus.common.auth.request import HttpRequestParts
from eucalyptus.common.errors import (
    IncompleteSignature,
    InvalidParameterValue,
    SignatureDoesNotMatch,
)

MAX_PRESIGN_EXPIRES = 604800
#: query parameters that only carry presigned authentication
PRESIGN_AUTH_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    }
)
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_DATE8 = re.compile(r"[0-9]{8}")
_DIGITS = re.compile(r"[0-9]{1,10}")

MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


class SigV4Signature(PendingSignature):
    """A SigV4 signature (header or presigned form) awaiting its secret key."""

    def __init__(
        self,
        *,
        scheme: SchemeName,
        request: HttpRequestParts,
        access_key_id: str,
        scope_date: str,
        region: str,
        service: str,
        signed_headers: list[str],
        signature: str,
        amz_date: str,
        signed_at: datetime,
        expires_at: datetime | None,
        canonical_query_string: str,
        payload_hashes: list[str],
        params: list[tuple[str, str]],
    ) -> None:
        super().__init__(
            access_key_id=access_key_id,
            signed_at=signed_at,
            expires_at=expires_at,
            params=params,
            region=region,
            service=service,
        )
        self.scheme = scheme
        self.request = request
        self.scope_date = scope_date
        self.signed_headers = signed_headers
        self.signature = signature.lower()
        self.amz_date = amz_date
        self.canonical_query_string = canonical_query_string
        self.payload_hashes = payload_hashes
        self.content_sha256 = request.header("x-amz-content-sha256")

    @property
    def scope(self) -> str:
        """``date/region/service/aws4_request``."""
        return f"{self.scope_date}/{self.region}/{self.service}/aws4_request"

    def check_time(self, now: datetime, max_skew: timedelta) -> None:
        """Header form: X-Amz-Date within ``max_skew``. Presigned: not in the future
        beyond ``max_skew``, and ``now`` not past X-Amz-Date + X-Amz-Expires."""
        if self.expires_at is None:
            super().check_time(now, max_skew)
            return
        check_not_future(self.signed_at, now, max_skew)
        check_not_expired(self.expires_at, now)

    def canonical_requests(self) -> list[str]:
        """Every canonical request that is accepted, the canonical one first."""
        service = self.service or ""
        uris = [sigv4_canonical_uri(self.request.raw_path, service)]
        if service != "s3":
            uris.append(normalize_path(self.request.raw_path))
        return [
            sigv4_canonical_request(
                self.request.method,
                uri,
                self.canonical_query_string,
                self.request.lower_headers,
                self.signed_headers,
                payload,
            )
            for uri in dict.fromkeys(uris)
            for payload in self.payload_hashes
        ]

    def check_signature(self, secret_key: str, key_cache: SigningKeyCache | None) -> None:
        """SignatureDoesNotMatch unless signed with ``secret_key`` (and the body matches)."""
        if self.scope_date != self.amz_date[:8]:
            raise SignatureDoesNotMatch(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                f"date from HTTP: '{self.scope_date}' != '{self.amz_date[:8]}', "
                f"from '{self.amz_date}'."
            )
        key = signing_key(
            secret_key, self.scope_date, self.region or "", self.service or "", key_cache
        )
        candidates = self.canonical_requests()
        for canonical_request in candidates:
            string_to_sign = sigv4_string_to_sign(self.amz_date, self.scope, canonical_request)
            expected = sigv4_signature(key, string_to_sign)
            if hmac.compare_digest(expected.encode(), self.signature.encode()):
                self._check_body_hash()
                return
        canonical_request = candidates[0]
        string_to_sign = sigv4_string_to_sign(self.amz_date, self.scope, canonical_request)
        raise SignatureDoesNotMatch(
            f"{MISMATCH_MESSAGE}\n\nThe Canonical String for this request should have been\n"
            f"'{canonical_request}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n",
            CanonicalRequest=canonical_request,
            StringToSign=string_to_sign,
            SignatureProvided=self.signature,
            AWSAccessKeyId=self.access_key_id,
        )

    def _check_body_hash(self) -> None:
        claimed = self.content_sha256
        if claimed is None or not _HEX_SHA256.fullmatch(claimed):
            return
        length = self.request.header("content-length")
        if length is not None and length.strip() != str(len(self.request.body)):
            return  # the caller streams the body and checks the hash itself
        computed = sha256_hex(self.request.body)
        if claimed.lower() != computed:
            raise SignatureDoesNotMatch(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ClientComputedContentSHA256=claimed,
                S3ComputedContentSHA256=computed,
            )


def _parse_credential(credential: str, where: str) -> tuple[str, str, str, str]:
    """(access key, date, region, service) from ``AKID/YYYYMMDD/region/service/aws4_request``."""
    parts = credential.split("/")
    if len(parts) != 5 or not parts[0] or not _DATE8.fullmatch(parts[1]) or not parts[3]:
        raise IncompleteSignature(
            f"{where} Credential is malformed: expected "
            f"'<access key>/<YYYYMMDD>/<region>/<service>/aws4_request', got '{credential}'"
        )
    if parts[4] != "aws4_request":
        raise IncompleteSignature(
            f"Credential should be scoped with a valid terminator: 'aws4_request', not "
            f"'{parts[4]}'."
        )
    return parts[0], parts[1], parts[2], parts[3]


def _signed_header_list(value: str) -> list[str]:
    return [name.strip().lower() for name in value.split(";") if name.strip()]


def _payload_hashes(req: HttpRequestParts, presigned: bool, service: str) -> tuple[list[str], bool]:
    """The payload hashes to try, and whether they cover the body."""
    claimed = req.header("x-amz-content-sha256")
    if claimed is not None:
        return [claimed], bool(_HEX_SHA256.fullmatch(claimed))
    body_hash = sha256_hex(req.body)
    if not presigned:
        return [body_hash], True
    if service == "s3":
        return [UNSIGNED_PAYLOAD], not req.body
    return ([body_hash, UNSIGNED_PAYLOAD] if not req.body else [body_hash]), True


def _build(
    req: HttpRequestParts,
    *,
    scheme: SchemeName,
    credential: str,
    signed_headers: str,
    signature: str,
    amz_date: str,
    signed_at: datetime,
    expires_at: datetime | None,
    query: list[tuple[str, str]],
) -> SigV4Signature:
    where = "Authorization header" if scheme == "sigv4" else "X-Amz-Credential"
    access_key, scope_date, region, service = _parse_credential(credential, where)
    headers = _signed_header_list(signed_headers)
    if not headers:
        raise IncompleteSignature(f"{where}: SignedHeaders is empty")
    payloads, covered = _payload_hashes(req, scheme == "sigv4-presigned", service)
    if req.form and not covered:
        raise IncompleteSignature(
            "Form parameters in the request body are not covered by the signature "
            f"(payload hash {payloads[0]})"
        )
    return SigV4Signature(
        scheme=scheme,
        request=req,
        access_key_id=access_key,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=headers,
        signature=signature,
        amz_date=amz_date,
        signed_at=signed_at,
        expires_at=expires_at,
        canonical_query_string=canonical_query(query),
        payload_hashes=payloads,
        params=[*((k, v) for k, v in req.query if k not in PRESIGN_AUTH_PARAMS), *req.form],
    )


def parse_sigv4_header(req: HttpRequestParts) -> SigV4Signature | None:
    """Parse ``Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``.

    Returns None for any other Authorization header (or none). Commas may or may
    not be followed by spaces (boto 2 sends none). Raises IncompleteSignature for a
    missing component or date header and a malformed credential scope,
    InvalidParameterValue for an unparsable date.
    """
    authorization = req.header("authorization")
    if authorization is None:
        return None
    words = authorization.strip().split(None, 1)
    if not words or words[0] != SIGV4_ALGORITHM:
        return None
    fields: dict[str, str] = {}
    for part in (words[1] if len(words) > 1 else "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            fields[name.strip()] = value.strip()
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if not fields.get(n)]
    amz_date_header = req.header("x-amz-date")
    date_header = req.header("date")
    problems = [f"Authorization header requires '{n}' parameter." for n in missing]
    if amz_date_header is None and date_header is None:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise IncompleteSignature(" ".join(problems) + f" Authorization={authorization}")
    if amz_date_header is not None:
        amz_date = amz_date_header.strip()
        signed_at = parse_amz_date(amz_date)
    else:
        assert date_header is not None
        signed_at = parse_http_date(date_header)
        amz_date = format_amz_date(signed_at)
    return _build(
        req,
        scheme="sigv4",
        credential=fields["Credential"],
        signed_headers=fields["SignedHeaders"],
        signature=fields["Signature"],
        amz_date=amz_date,
        signed_at=signed_at,
        expires_at=None,
        query=list(req.query),
    )


def parse_sigv4_presigned(req: HttpRequestParts) -> SigV4Signature | None:
    """Parse a presigned SigV4 query (X-Amz-Algorithm, -Credential, -Date, -Expires,
    -SignedHeaders, -Signature).

    Returns None unless X-Amz-Algorithm, X-Amz-Credential or X-Amz-Signature is in
    the query. Raises IncompleteSignature naming missing parameters,
    InvalidParameterValue for another algorithm, a bad date, or an X-Amz-Expires
    that is not an integer in 0..604800.
    """
    markers = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
    if all(req.query_value(name) is None for name in markers):
        return None
    values = {name: req.query_value(name) for name in sorted(PRESIGN_AUTH_PARAMS)}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise IncompleteSignature(
            "Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters; "
            "missing: " + ", ".join(missing)
        )
    algorithm = values["X-Amz-Algorithm"]
    if algorithm != SIGV4_ALGORITHM:
        raise InvalidParameterValue(f"X-Amz-Algorithm only supports '{SIGV4_ALGORITHM}'")
    amz_date = values["X-Amz-Date"] or ""
    signed_at = parse_amz_date(amz_date)
    raw_expires = values["X-Amz-Expires"] or ""
    if not _DIGITS.fullmatch(raw_expires):
        raise InvalidParameterValue("X-Amz-Expires should be a number")
    expires = int(raw_expires)
    if expires > MAX_PRESIGN_EXPIRES:
        raise InvalidParameterValue(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES}"
        )
    return _build(
        req,
        scheme="sigv4-presigned",
        credential=values["X-Amz-Credential"] or "",
        signed_headers=values["X-Amz-SignedHeaders"] or "",
        signature=values["X-Amz-Signature"] or "",
        amz_date=amz_date,
        signed_at=signed_at,
        expires_at=signed_at + timedelta(seconds=expires),
        query=[(k, v) for k, v in req.query if k != "X-Amz-Signature"],
    )
