"""AWS request authentication shared by every API front end.

Verification is two steps so the secret can be looked up asynchronously::

    pending = identify(HttpRequestParts(...))      # scheme + access key, no secret
    secret = await lookup(pending.access_key_id)   # caller: InvalidClientTokenId
    pending.verify(secret, now=now, key_cache=cache)

Schemes: SigV4 (Authorization header and presigned query) and Query-API SigV2
(query string or form body). The client-side counterparts are
:func:`sign_v2_query`, :func:`sign_v4_headers` and :func:`presign_v4_url`.

S3 (Walrus) adds its own SigV2 (``Authorization: AWS AKID:sig`` and presigned
URLs): ``identify(parts, s3_schemes(...))``; and the aws-chunked streaming body,
decoded by :func:`chunked_decoder_for` once the header signature is verified.
"""

from eucalyptus.common.auth.base import (
    DEFAULT_MAX_SKEW,
    PendingSignature,
    SchemeName,
    SchemeParser,
)
from eucalyptus.common.auth.canonical import SigningKeyCache
from eucalyptus.common.auth.chunked import (
    STREAMING_MODES,
    AwsChunkedDecoder,
    MalformedChunk,
    chunked_decoder_for,
)
from eucalyptus.common.auth.detect import DEFAULT_SCHEMES, identify
from eucalyptus.common.auth.request import HttpRequestParts
from eucalyptus.common.auth.s3v2 import (
    S3V2Signature,
    parse_s3v2_header,
    parse_s3v2_query,
    s3_schemes,
)
from eucalyptus.common.auth.signing import presign_v4_url, sign_v2_query, sign_v4_headers
from eucalyptus.common.auth.sigv2 import SigV2Signature
from eucalyptus.common.auth.sigv4 import SigV4Signature

__all__ = [
    "DEFAULT_MAX_SKEW",
    "DEFAULT_SCHEMES",
    "STREAMING_MODES",
    "AwsChunkedDecoder",
    "HttpRequestParts",
    "MalformedChunk",
    "PendingSignature",
    "S3V2Signature",
    "SchemeName",
    "SchemeParser",
    "SigV2Signature",
    "SigV4Signature",
    "SigningKeyCache",
    "chunked_decoder_for",
    "identify",
    "parse_s3v2_header",
    "parse_s3v2_query",
    "presign_v4_url",
    "s3_schemes",
    "sign_v2_query",
    "sign_v4_headers",
]
