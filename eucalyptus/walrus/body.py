"""A request body as a stream that is checked before anything it carried becomes visible.

:class:`BodyStream` yields the payload (decoding ``aws-chunked`` bodies and checking
each chunk's signature on the way) and, through :meth:`BodyStream.verify`, checks at the
end what the client promised: the length, ``Content-MD5``, a SigV4 payload hash and an
``x-amz-checksum-*`` value. Writers call ``verify`` after the last byte and before the
file is renamed into place, so a body that fails any check is never stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from eucalyptus.common.auth import PendingSignature, SigV4Signature
from eucalyptus.common.auth.chunked import STREAMING_MODES, chunked_decoder_for
from eucalyptus.walrus.checksums import Checksummer, checksum_from_headers
from eucalyptus.walrus.errors import (
    BadDigest,
    EntityTooLarge,
    IncompleteBody,
    InvalidArgument,
    InvalidDigest,
    InvalidRequest,
    MissingContentLength,
    XAmzContentSHA256Mismatch,
)

READ_SLICE = 256 * 1024
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


class BodyStream:
    """The payload of one request; iterate :meth:`chunks` once, then :meth:`verify`."""

    def __init__(
        self,
        request: web.Request,
        lower_headers: Mapping[str, str],
        *,
        signature: PendingSignature | None,
        secret: str | None,
    ) -> None:
        self.request = request
        self.headers = lower_headers
        self.signature = signature
        self.secret = secret
        self.mode = lower_headers.get("x-amz-content-sha256", "")
        self.streaming = self.mode in STREAMING_MODES
        self.expected_length = self._expected_length()
        self.received = 0
        self._sha256 = hashlib.sha256() if _HEX64.fullmatch(self.mode) else None
        self._md5_expected = self._content_md5()
        self._checksum_spec = checksum_from_headers(lower_headers)
        self._checksummer = (
            None if self._checksum_spec is None else Checksummer(self._checksum_spec.algorithm)
        )
        self._trailers: dict[str, str] = {}
        self.checksum: tuple[str, str] | None = None

    # --- what the client declared ------------------------------------------------------

    def _expected_length(self) -> int | None:
        name = "x-amz-decoded-content-length" if self.streaming else "content-length"
        raw = self.headers.get(name)
        if raw is None:
            return None
        try:
            value = int(raw.strip())
        except ValueError:
            raise InvalidArgument(f"Invalid {name}: {raw}", ArgumentName=name) from None
        if value < 0:
            raise InvalidArgument(f"Invalid {name}: {raw}", ArgumentName=name)
        return value

    def _content_md5(self) -> bytes | None:
        raw = self.headers.get("content-md5")
        if raw is None:
            return None
        try:
            digest = base64.b64decode(raw.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidDigest(Content_MD5=raw) from None
        if len(digest) != 16:
            raise InvalidDigest(Content_MD5=raw)
        return digest

    def require_length(self, max_size: int) -> int:
        """The declared payload length; 411 when absent, EntityTooLarge past ``max_size``."""
        if self.expected_length is None:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                return -1
            raise MissingContentLength()
        if self.expected_length > max_size:
            raise EntityTooLarge(
                ProposedSize=str(self.expected_length), MaxSizeAllowed=str(max_size)
            )
        return self.expected_length

    # --- the payload -------------------------------------------------------------------

    async def chunks(self) -> AsyncIterator[bytes]:
        """The decoded payload, in pieces as they arrive."""
        content = self.request.content
        decoder = None
        if self.streaming:
            if not isinstance(self.signature, SigV4Signature) or self.secret is None:
                raise InvalidRequest(
                    f"x-amz-content-sha256 {self.mode} needs a SigV4 Authorization header"
                )
            decoder = chunked_decoder_for(self.signature, self.secret, self.mode)
        while True:
            try:
                data = await content.read(READ_SLICE)
            except ConnectionError as exc:  # the client went away mid-body: not our fault
                raise IncompleteBody(
                    f"The connection closed after {self.received} bytes of the body"
                ) from exc
            if not data:
                break
            pieces = decoder.feed(data) if decoder is not None else [data]
            for piece in pieces:
                self._account(piece)
                yield piece
        if decoder is not None:
            self._trailers = decoder.finish()

    def _account(self, piece: bytes) -> None:
        self.received += len(piece)
        if self.expected_length is not None and self.received > self.expected_length:
            raise IncompleteBody("The request body is longer than its declared length")
        if self._sha256 is not None:
            self._sha256.update(piece)
        if self._checksummer is not None:
            self._checksummer.update(piece)

    async def read_all(self, limit: int, too_large: type[Exception] = EntityTooLarge) -> bytes:
        """The whole (small) body, verified; ``too_large`` past ``limit`` bytes."""
        if self.expected_length is not None and self.expected_length > limit:
            raise too_large()
        data = bytearray()
        async for piece in self.chunks():
            data += piece
            if len(data) > limit:
                raise too_large()
        self.verify(hashlib.md5(bytes(data)).hexdigest())  # noqa: S324 - Content-MD5
        return bytes(data)

    # --- the checks at the end ---------------------------------------------------------

    def verify(self, md5_hex: str) -> None:
        """Raise unless the body is exactly what the client declared and signed."""
        if self.expected_length is not None and self.received != self.expected_length:
            raise IncompleteBody(
                f"You did not provide the number of bytes specified by the Content-Length "
                f"HTTP header ({self.received} of {self.expected_length})"
            )
        if self._md5_expected is not None and self._md5_expected.hex() != md5_hex:
            raise BadDigest(ExpectedDigest=self._md5_expected.hex(), CalculatedDigest=md5_hex)
        if self._sha256 is not None and self._sha256.hexdigest() != self.mode.lower():
            raise XAmzContentSHA256Mismatch(
                ClientComputedContentSHA256=self.mode,
                S3ComputedContentSHA256=self._sha256.hexdigest(),
            )
        if self._checksum_spec is not None and self._checksummer is not None:
            algorithm = self._checksum_spec.algorithm
            expected = self._checksum_spec.expected(self._trailers)
            actual = self._checksummer.b64digest()
            if expected is not None and expected != actual:
                raise BadDigest(
                    f"The {algorithm} you specified did not match the calculated checksum."
                )
            self.checksum = (algorithm, actual)
