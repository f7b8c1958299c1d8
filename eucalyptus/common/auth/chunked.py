"""The ``aws-chunked`` request body of S3 streaming uploads, decoded as it arrives.

A SigV4 request whose ``x-amz-content-sha256`` is one of :data:`STREAMING_MODES`
sends its payload in chunks::

    <hex size>;chunk-signature=<64 hex>\\r\\n<data>\\r\\n     (signed modes)
    <hex size>\\r\\n<data>\\r\\n                              (unsigned trailer mode)

ending with a chunk of size 0, then (trailer modes) trailer lines ``name:value``
and, when signed, ``x-amz-trailer-signature:<64 hex>``, then an empty line.

Each chunk signature is the hex HMAC-SHA256, with the request's signing key, of::

    AWS4-HMAC-SHA256-PAYLOAD \\n <amz date> \\n <scope> \\n <previous signature> \\n
    <sha256 of ""> \\n <sha256 of the chunk data>

where the first "previous signature" (the seed) is the request's own signature.
The trailer signature signs ``AWS4-HMAC-SHA256-TRAILER \\n <amz date> \\n <scope> \\n
<final chunk signature> \\n <sha256 of the trailer lines, each "name:value\\n">``.

Decoded data is handed out as soon as it arrives, before the signature of its
chunk can be checked: nothing is authenticated until :meth:`AwsChunkedDecoder.finish`
returns, so the caller keeps what it receives apart (a temporary file) until then.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from eucalyptus.common.auth.canonical import (
    EMPTY_SHA256,
    SigningKeyCache,
    signing_key,
    sigv4_signature,
)
from eucalyptus.common.auth.sigv4 import SigV4Signature
from eucalyptus.common.errors import AwsError, IncompleteSignature, SignatureDoesNotMatch

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#: the ``x-amz-content-sha256`` values that announce an aws-chunked body
STREAMING_MODES = frozenset(
    {STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER}
)

PAYLOAD_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"
TRAILER_SIGNATURE = "x-amz-trailer-signature"
DEFAULT_MAX_CHUNK = 16 * 1024 * 1024
#: longest chunk-size or trailer line accepted (without its line end)
MAX_LINE = 4096
MAX_TRAILERS = 32

_HEX_SIZE = re.compile(r"[0-9a-fA-F]{1,16}")
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")

# parser states
_SIZE_LINE = 0  # reading "<hex size>[;chunk-signature=...]"
_DATA = 1  # passing chunk data through
_DATA_END = 2  # expecting the CRLF after the data
_TRAILER = 3  # reading trailer lines up to the empty line
_DONE = 4


class MalformedChunk(AwsError):
    """The aws-chunked framing is broken or the body ended before its final chunk."""

    code = "IncompleteBody"
    status = 400
    default_message = "The aws-chunked request body is malformed or incomplete"


class AwsChunkedDecoder:
    """Incremental decoder (and signature checker) of one aws-chunked body.

    ``mode`` is the request's ``x-amz-content-sha256`` value; ``signing_key`` the
    SigV4 signing key (None only for the unsigned mode); ``amz_date``, ``scope``
    and ``seed_signature`` come from the verified request signature. Feed the
    body in slices of any size with :meth:`feed`, then call :meth:`finish` at
    end of input. ``decoded_length`` counts the payload bytes emitted so far.
    """

    def __init__(
        self,
        *,
        mode: str,
        signing_key: bytes | None,
        amz_date: str,
        scope: str,
        seed_signature: str,
        max_chunk: int = DEFAULT_MAX_CHUNK,
    ) -> None:
        if mode not in STREAMING_MODES:
            raise ValueError(f"not an aws-chunked mode: {mode!r}")
        self.mode = mode
        self._signed = mode != STREAMING_UNSIGNED_TRAILER
        if self._signed and signing_key is None:
            raise ValueError(f"{mode} needs a signing key")
        self._key = signing_key or b""
        self._trailers_allowed = mode != STREAMING_SIGNED
        self._sign_prefix = f"{amz_date}\n{scope}\n"
        self._previous = seed_signature.lower()
        self._max_chunk = max_chunk
        self._state = _SIZE_LINE
        self._line = bytearray()
        self._remaining = 0
        self._crlf_seen = 0
        self._chunk_signature = ""
        self._chunk_hash = hashlib.sha256()
        self._chunks = 0
        self._trailers: dict[str, str] = {}
        self._trailer_lines: list[str] = []
        self._trailer_signed = False
        self._blank_after_final = False
        self.decoded_length = 0

    # --- input -------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Consume the next slice of the body; return the payload pieces it holds.

        Raises MalformedChunk for broken framing (or data after the end),
        SignatureDoesNotMatch for a chunk or trailer whose signature is wrong, and
        IncompleteSignature for signed trailers sent without their signature.
        """
        if not isinstance(data, bytes):
            data = bytes(data)  # a caller's reusable buffer must not be handed back
        out: list[bytes] = []
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                piece = view[pos : pos + take]
                if self._signed:
                    self._chunk_hash.update(piece)
                out.append(data if take == end else piece.tobytes())
                pos += take
                self._remaining -= take
                self.decoded_length += take
                if not self._remaining:
                    self._state = _DATA_END
            elif state == _DATA_END:
                if data[pos] != b"\r\n"[self._crlf_seen]:
                    raise MalformedChunk(f"chunk {self._chunks} is not followed by CRLF")
                pos += 1
                self._crlf_seen += 1
                if self._crlf_seen == 2:
                    self._crlf_seen = 0
                    self._end_chunk()
            elif state == _DONE:
                raise MalformedChunk("data after the end of the aws-chunked body")
            else:
                pos = self._read_line(data, pos, end)
        return out

    def finish(self) -> dict[str, str]:
        """Declare end of input; return the trailers (lower-case names, no signature).

        Raises MalformedChunk unless the final chunk (and, in the trailer modes,
        the trailer section) was complete. A trailer section missing only its
        closing empty line is accepted.
        """
        complete = self._state == _DONE or (
            self._state == _TRAILER
            and not self._line
            and (self._trailers or self._blank_after_final)
        )
        if not complete:
            raise MalformedChunk(
                "The aws-chunked request body ended before its final chunk"
                if self._state != _TRAILER
                else "The aws-chunked request body ended inside its trailer"
            )
        if self._state == _TRAILER:
            self._close_trailer()
        return dict(self._trailers)

    # --- lines -------------------------------------------------------------------------

    def _read_line(self, data: bytes, pos: int, end: int) -> int:
        """Collect a line; handle it once complete. Returns the new position."""
        limit = min(end, pos + MAX_LINE + 2 - len(self._line))
        newline = data.find(b"\n", pos, limit)
        if newline == -1:
            self._line += data[pos:limit]
            if len(self._line) > MAX_LINE + 1:
                raise MalformedChunk(f"line longer than {MAX_LINE} bytes in the aws-chunked body")
            return limit
        self._line += data[pos:newline]
        raw = bytes(self._line[:-1] if self._line.endswith(b"\r") else self._line)
        self._line.clear()
        try:
            line = raw.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedChunk("non-ASCII chunk header or trailer") from None
        if self._state == _SIZE_LINE:
            self._size_line(line)
        else:
            self._trailer_line(line)
        return newline + 1

    def _size_line(self, line: str) -> None:
        size_text, _, extensions = line.partition(";")
        if not _HEX_SIZE.fullmatch(size_text.strip()):
            raise MalformedChunk(f"invalid chunk size line: {line[:80]!r}")
        size = int(size_text, 16)
        if size > self._max_chunk:
            raise MalformedChunk(f"chunk of {size} bytes exceeds the limit of {self._max_chunk}")
        self._chunks += 1
        self._chunk_signature = self._signature_extension(extensions) if self._signed else ""
        if size == 0:
            if self._signed:
                self._check_chunk(EMPTY_SHA256)
            self._state = _TRAILER
            return
        self._remaining = size
        self._chunk_hash = hashlib.sha256()
        self._state = _DATA

    def _signature_extension(self, extensions: str) -> str:
        for extension in extensions.split(";"):
            name, _, value = extension.partition("=")
            if name.strip() == "chunk-signature" and _HEX_SIGNATURE.fullmatch(value.strip()):
                return value.strip().lower()
        raise MalformedChunk(f"chunk {self._chunks} has no valid chunk-signature")

    def _trailer_line(self, line: str) -> None:
        if not line:
            if not self._trailers and not self._trailer_signed and not self._blank_after_final:
                # "0;chunk-signature=...\r\n\r\n": done, unless trailers still follow
                self._blank_after_final = True
                if self._trailers_allowed:
                    return
            self._close_trailer()
            self._state = _DONE
            return
        if not self._trailers_allowed:
            raise MalformedChunk(f"{self.mode} allows no trailer")
        if self._trailer_signed:
            raise MalformedChunk("trailer after x-amz-trailer-signature")
        name, sep, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep or not name:
            raise MalformedChunk(f"invalid trailer line: {line[:80]!r}")
        if name == TRAILER_SIGNATURE:
            if self._signed:
                self._check_trailer(value)
            self._trailer_signed = True
            return
        if name in self._trailers or len(self._trailers) >= MAX_TRAILERS:
            raise MalformedChunk(f"repeated or too many trailers ({name})")
        self._trailers[name] = value
        self._trailer_lines.append(f"{name}:{value}\n")

    def _close_trailer(self) -> None:
        if self._signed and self._trailers and not self._trailer_signed:
            raise IncompleteSignature("The signed trailer has no x-amz-trailer-signature")

    # --- signatures --------------------------------------------------------------------

    def _end_chunk(self) -> None:
        if self._signed:
            self._check_chunk(self._chunk_hash.hexdigest())
        self._state = _SIZE_LINE

    def _check_chunk(self, data_sha256: str) -> None:
        text = (
            f"{PAYLOAD_ALGORITHM}\n{self._sign_prefix}{self._previous}\n"
            f"{EMPTY_SHA256}\n{data_sha256}"
        )
        self._check([text], self._chunk_signature, f"chunk {self._chunks}")
        self._previous = self._chunk_signature

    def _check_trailer(self, provided: str) -> None:
        if not _HEX_SIGNATURE.fullmatch(provided):
            raise MalformedChunk("x-amz-trailer-signature is not 64 hex digits")
        orders = dict.fromkeys([tuple(self._trailer_lines), tuple(sorted(self._trailer_lines))])
        texts = [
            f"{TRAILER_ALGORITHM}\n{self._sign_prefix}{self._previous}\n"
            + hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
            for lines in orders
        ]
        self._check(texts, provided.lower(), "trailer")

    def _check(self, texts: list[str], provided: str, what: str) -> None:
        """SignatureDoesNotMatch unless one of ``texts`` signs to ``provided``."""
        for text in texts:
            if hmac.compare_digest(sigv4_signature(self._key, text), provided):
                return
        raise SignatureDoesNotMatch(
            f"The {what} signature we calculated does not match the signature you "
            "provided. Check your key and signing method.",
            StringToSign=texts[0],
            SignatureProvided=provided,
        )


def chunked_decoder_for(
    sig: SigV4Signature,
    secret_key: str,
    mode: str,
    *,
    key_cache: SigningKeyCache | None = None,
    max_chunk: int = DEFAULT_MAX_CHUNK,
) -> AwsChunkedDecoder:
    """A decoder for the body of a request whose header signature ``sig`` was verified.

    ``mode`` must be the signed ``x-amz-content-sha256`` value (one of
    :data:`STREAMING_MODES`); ValueError otherwise.
    """
    if mode not in STREAMING_MODES or (sig.content_sha256 or "") != mode:
        raise ValueError(f"{mode!r} is not the streaming mode the request signed")
    key = signing_key(secret_key, sig.scope_date, sig.region or "", sig.service or "", key_cache)
    return AwsChunkedDecoder(
        mode=mode,
        signing_key=key,
        amz_date=sig.amz_date,
        scope=sig.scope,
        seed_signature=sig.signature,
        max_chunk=max_chunk,
    )
