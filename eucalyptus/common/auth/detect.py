"""Which signature scheme a request uses: an ordered list of scheme parsers.

The first parser that recognises the request wins. The S3 SigV2 forms
(``Authorization: AWS AKID:signature`` and the ``AWSAccessKeyId``/``Signature``/
``Expires`` query without ``SignatureVersion``) are to be added by the Walrus work
as further parsers: the header one anywhere, the query one before
:func:`~eucalyptus.common.auth.sigv2.parse_sigv2` (which would otherwise claim the
request and report the missing SignatureVersion).
"""

from __future__ import annotations

from collections.abc import Sequence

from eucalyptus.common.auth.base import PendingSignature, SchemeParser
from eucalyptus.common.auth.request import HttpRequestParts
from eucalyptus.common.auth.sigv2 import parse_sigv2
from eucalyptus.common.auth.sigv4 import parse_sigv4_header, parse_sigv4_presigned
from eucalyptus.common.errors import IncompleteSignature, MissingAuthenticationToken

#: the schemes of the Query APIs, in the order they are tried
DEFAULT_SCHEMES: tuple[SchemeParser, ...] = (
    parse_sigv4_header,
    parse_sigv4_presigned,
    parse_sigv2,
)


def identify(
    req: HttpRequestParts, schemes: Sequence[SchemeParser] = DEFAULT_SCHEMES
) -> PendingSignature:
    """Detect the signature scheme of ``req`` and parse it, without any secret.

    Raises MissingAuthenticationToken when the request carries no credentials at
    all; IncompleteSignature when a scheme is recognised but pieces are missing or
    malformed (the message names them), or when an Authorization header of no
    known scheme is sent; InvalidParameterValue for unsupported values (a SigV2
    SignatureVersion other than 2, an unknown SignatureMethod, a bad date, a
    presigned X-Amz-Expires over 604800).
    """
    for parse in schemes:
        pending = parse(req)
        if pending is not None:
            return pending
    authorization = req.header("authorization")
    if authorization is not None:
        kind = authorization.strip().split(None, 1)[0] if authorization.strip() else ""
        raise IncompleteSignature(f"Unsupported Authorization Type: '{kind}'")
    raise MissingAuthenticationToken("Request is missing Authentication Token")
