"""The aws-chunked body decoder: AWS's published example, botocore's encoder, broken bodies."""

from __future__ import annotations

import hashlib
import hmac
import io
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum, Sha256Checksum

from eucalyptus.common.auth import (
    STREAMING_MODES,
    AwsChunkedDecoder,
    HttpRequestParts,
    MalformedChunk,
    SigV4Signature,
    chunked_decoder_for,
    identify,
    s3_schemes,
)
from eucalyptus.common.auth.canonical import EMPTY_SHA256, derive_signing_key
from eucalyptus.common.errors import IncompleteSignature, SignatureDoesNotMatch
from eucalyptus.walrus.checksums import Checksummer

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

# the worked example of the AWS S3 documentation ("sigv4-streaming")
AWS_AKID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_DATE = "20130524T000000Z"
AWS_SCOPE = "20130524/us-east-1/s3/aws4_request"
AWS_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
AWS_CHUNK_SIGNATURES = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
AWS_PAYLOAD = b"a" * 66560
AWS_KEY = derive_signing_key(AWS_SECRET, "20130524", "us-east-1", "s3")


# --- a signer for the test, written from the published description ------------------------


def _hmac_hex(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def encode_signed(
    payload: bytes,
    chunk_size: int,
    *,
    key: bytes = AWS_KEY,
    amz_date: str = AWS_DATE,
    scope: str = AWS_SCOPE,
    seed: str = AWS_SEED,
    trailers: Sequence[tuple[str, str]] | None = None,
) -> tuple[bytes, list[str]]:
    """The signed aws-chunked body of ``payload`` and its chunk signatures (last: trailer)."""
    pieces = [payload[i : i + chunk_size] for i in range(0, len(payload), chunk_size)]
    previous, signatures, wire = seed, [], bytearray()
    for piece in [*pieces, b""]:
        text = "\n".join(
            (
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(piece).hexdigest(),
            )
        )
        previous = _hmac_hex(key, text)
        signatures.append(previous)
        wire += f"{len(piece):x};chunk-signature={previous}\r\n".encode()
        if piece or trailers is None:
            wire += piece + b"\r\n"
    if trailers is not None:
        canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
        text = "\n".join(
            (
                "AWS4-HMAC-SHA256-TRAILER",
                amz_date,
                scope,
                previous,
                hashlib.sha256(canonical.encode()).hexdigest(),
            )
        )
        signatures.append(_hmac_hex(key, text))
        for name, value in trailers:
            wire += f"{name}:{value}\r\n".encode()
        wire += f"x-amz-trailer-signature:{signatures[-1]}\r\n\r\n".encode()
    return bytes(wire), signatures


def _decoder(mode: str = SIGNED, **kwargs: Any) -> AwsChunkedDecoder:
    return AwsChunkedDecoder(
        mode=mode,
        signing_key=None if mode == UNSIGNED_TRAILER else AWS_KEY,
        amz_date=AWS_DATE,
        scope=AWS_SCOPE,
        seed_signature=AWS_SEED,
        **kwargs,
    )


def _slices(data: bytes, sizes: Iterable[int]) -> Iterable[bytes]:
    pos = 0
    for size in sizes:
        if pos >= len(data):
            return
        yield data[pos : pos + size]
        pos += size
    if pos < len(data):
        yield data[pos:]


def _decode(
    decoder: AwsChunkedDecoder, wire: bytes, sizes: Iterable[int] = ()
) -> tuple[bytes, dict[str, str]]:
    out = bytearray()
    for piece in _slices(wire, sizes):
        for decoded in decoder.feed(piece):
            assert isinstance(decoded, bytes)
            out += decoded
    return bytes(out), decoder.finish()


# --- the published example -----------------------------------------------------------------


def _aws_example_request() -> HttpRequestParts:
    headers = {
        "Host": "s3.amazonaws.com",
        "x-amz-date": AWS_DATE,
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={AWS_AKID}/{AWS_SCOPE},SignedHeaders=content-encoding;"
            "content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
            f"x-amz-storage-class,Signature={AWS_SEED}"
        ),
        "x-amz-content-sha256": SIGNED,
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "Content-Length": "66824",
    }
    return HttpRequestParts("PUT", "/examplebucket/chunkObject.txt", "", headers, b"")


def _aws_example_signature() -> SigV4Signature:
    pending = identify(_aws_example_request(), s3_schemes())
    assert isinstance(pending, SigV4Signature)
    pending.verify(AWS_SECRET, now=datetime(2013, 5, 24, 0, 1, tzinfo=UTC))
    return pending


def test_published_example_signer_matches() -> None:
    wire, signatures = encode_signed(AWS_PAYLOAD, 65536)
    assert signatures == AWS_CHUNK_SIGNATURES
    assert len(wire) == 66824
    assert wire.startswith(b"10000;chunk-signature=" + AWS_CHUNK_SIGNATURES[0].encode() + b"\r\n")


@pytest.mark.parametrize(
    "sizes",
    [
        (),  # all at once
        [1] * 300,  # a byte at a time through the first chunk header and beyond
        [65536 + 88, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        [7, 91, 65530, 2, 3, 1111],
    ],
)
def test_published_example_decodes(sizes: Sequence[int]) -> None:
    sig = _aws_example_signature()
    decoder = chunked_decoder_for(sig, AWS_SECRET, SIGNED)
    wire, _ = encode_signed(AWS_PAYLOAD, 65536)
    payload, trailers = _decode(decoder, wire, sizes)
    assert payload == AWS_PAYLOAD
    assert trailers == {}
    assert decoder.decoded_length == 66560


def test_every_byte_at_a_time() -> None:
    wire, _ = encode_signed(AWS_PAYLOAD[:3000], 1000)
    payload, _ = _decode(_decoder(), wire, [1] * len(wire))
    assert payload == AWS_PAYLOAD[:3000]


def test_random_slices() -> None:
    rng = random.Random(7)
    data = rng.randbytes(300_000)
    wire, _ = encode_signed(data, 8192)
    for _ in range(5):
        sizes = [rng.randint(1, 70_000) for _ in range(100)]
        assert _decode(_decoder(), wire, sizes)[0] == data


def test_large_slices_are_passed_through() -> None:
    data = random.Random(3).randbytes(4 * 1024 * 1024)
    wire, _ = encode_signed(data, 1024 * 1024)
    decoder = _decoder()
    out = []
    for piece in _slices(wire, [256 * 1024] * 100):
        out += decoder.feed(piece)
    decoder.finish()
    assert b"".join(out) == data
    assert all(len(p) <= 256 * 1024 for p in out)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_tampered_chunk_signature(index: int) -> None:
    wire, signatures = encode_signed(AWS_PAYLOAD, 65536)
    bad = signatures[index][:-1] + ("0" if signatures[index][-1] != "0" else "1")
    decoder = _decoder()
    with pytest.raises(SignatureDoesNotMatch) as raised:
        _decode(decoder, wire.replace(signatures[index].encode(), bad.encode()))
    assert raised.value.extra["SignatureProvided"] == bad
    assert raised.value.extra["StringToSign"].startswith("AWS4-HMAC-SHA256-PAYLOAD\n")


def test_tampered_data() -> None:
    wire, _ = encode_signed(AWS_PAYLOAD, 65536)
    position = 66000  # inside the second chunk's data
    assert wire[position : position + 1] == b"a"
    bad = wire[:position] + b"b" + wire[position + 1 :]
    with pytest.raises(SignatureDoesNotMatch):
        _decode(_decoder(), bad)


def test_wrong_secret() -> None:
    sig = _aws_example_signature()
    wire, _ = encode_signed(AWS_PAYLOAD, 65536)
    with pytest.raises(SignatureDoesNotMatch):
        _decode(chunked_decoder_for(sig, "another secret", SIGNED), wire)


def test_chunks_cannot_be_reordered_or_dropped() -> None:
    data = b"x" * 3000
    wire, _ = encode_signed(data, 1000)
    chunk = 1000 + len(f"{1000:x};chunk-signature=") + 64 + 4
    dropped = wire[:chunk] + wire[2 * chunk :]
    with pytest.raises(SignatureDoesNotMatch):
        _decode(_decoder(), dropped)


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"zz;chunk-signature=" + b"0" * 64 + b"\r\n", "chunk size"),
        (b"5\r\nhello\r\n", "chunk-signature"),
        (b"5;chunk-signature=abc\r\nhello\r\n", "chunk-signature"),
        (b"1" * 5000, "longer than"),
        (b"5;chunk-signature=" + b"0" * 64 + b"\r\n\xff\xfe\xfd\xfc\xfbXX", None),
    ],
)
def test_malformed_framing(wire: bytes, message: str | None) -> None:
    with pytest.raises((MalformedChunk, SignatureDoesNotMatch), match=message):
        _decode(_decoder(), wire)


def test_missing_crlf_after_data() -> None:
    wire, _ = encode_signed(b"hello", 5)
    bad = wire.replace(b"hello\r\n", b"helloXY")
    with pytest.raises(MalformedChunk, match="CRLF"):
        _decode(_decoder(), bad)


def test_chunk_too_large() -> None:
    wire, _ = encode_signed(b"x" * 2048, 2048)
    with pytest.raises(MalformedChunk, match="exceeds"):
        _decode(_decoder(max_chunk=1024), wire)


@pytest.mark.parametrize("cut", [1, 2, 10, 86, 1200])
def test_truncated_body(cut: int) -> None:
    wire, _ = encode_signed(b"y" * 2000, 1000)
    decoder = _decoder()
    for _ in decoder.feed(wire[:-cut]):
        pass
    with pytest.raises(MalformedChunk) as raised:
        decoder.finish()
    assert raised.value.code == "IncompleteBody" and raised.value.status == 400


def test_data_after_the_end() -> None:
    wire, _ = encode_signed(b"z" * 10, 10)
    with pytest.raises(MalformedChunk, match="after the end"):
        _decode(_decoder(), wire + b"0\r\n")


def test_no_trailer_in_plain_signed_mode() -> None:
    wire, _ = encode_signed(b"z" * 10, 10, trailers=[("x-amz-checksum-crc32", "AAAAAA==")])
    with pytest.raises(MalformedChunk, match="allows no trailer"):
        _decode(_decoder(SIGNED), wire)


def test_empty_payload() -> None:
    wire, _ = encode_signed(b"", 1000)
    assert wire.startswith(b"0;chunk-signature=")
    decoder = _decoder()
    assert _decode(decoder, wire) == (b"", {})
    assert decoder.decoded_length == 0


# --- signed trailer ------------------------------------------------------------------------


def _crc32(data: bytes) -> str:
    checksum = Checksummer("CRC32")
    checksum.update(data)
    return checksum.b64digest()


def test_signed_trailer() -> None:
    data = random.Random(5).randbytes(100_000)
    trailer = [("x-amz-checksum-crc32", _crc32(data))]
    wire, _ = encode_signed(data, 65536, trailers=trailer)
    for sizes in ((), [1] * 200 + [99_000, 1, 1, 1]):
        decoder = _decoder(SIGNED_TRAILER)
        payload, trailers = _decode(decoder, wire, sizes)
        assert payload == data
        assert trailers == {"x-amz-checksum-crc32": trailer[0][1]}


def test_signed_trailer_tampered() -> None:
    data = b"trailer data"
    wire, _ = encode_signed(data, 64, trailers=[("x-amz-checksum-crc32", _crc32(data))])
    bad = wire.replace(_crc32(data).encode(), _crc32(b"other").encode())
    with pytest.raises(SignatureDoesNotMatch) as raised:
        _decode(_decoder(SIGNED_TRAILER), bad)
    assert raised.value.extra["StringToSign"].startswith("AWS4-HMAC-SHA256-TRAILER\n")


def test_signed_trailer_without_signature() -> None:
    data = b"trailer data"
    wire, _ = encode_signed(data, 64, trailers=[("x-amz-checksum-crc32", _crc32(data))])
    start = wire.index(b"x-amz-trailer-signature:")
    stripped = wire[:start] + b"\r\n"
    with pytest.raises(IncompleteSignature):
        _decode(_decoder(SIGNED_TRAILER), stripped)


def test_signed_trailer_mode_without_trailer() -> None:
    wire, _ = encode_signed(b"abc", 64)  # ends "0;chunk-signature=...\r\n\r\n"
    assert _decode(_decoder(SIGNED_TRAILER), wire) == (b"abc", {})


def test_signed_trailer_after_a_blank_line() -> None:
    """Tolerated: the final chunk closed by CRLF as if it had data, then the trailer."""
    data = b"abc"
    wire, _ = encode_signed(data, 64, trailers=[("x-amz-checksum-crc32", _crc32(data))])
    final = wire.index(b"0;chunk-signature=")
    end_of_final = wire.index(b"\r\n", final) + 2
    lenient = wire[:end_of_final] + b"\r\n" + wire[end_of_final:]
    assert _decode(_decoder(SIGNED_TRAILER), lenient) == (
        data,
        {"x-amz-checksum-crc32": _crc32(data)},
    )


# --- unsigned trailer: botocore's own encoder ----------------------------------------------


@pytest.mark.parametrize("chunk_size", [7, 1000, 65536, 1024 * 1024])
def test_botocore_unsigned_trailer(chunk_size: int) -> None:
    data = random.Random(chunk_size).randbytes(150_001)
    wire = AwsChunkedWrapper(
        io.BytesIO(data),
        checksum_cls=Crc32Checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=chunk_size,
    ).read()
    decoder = _decoder(UNSIGNED_TRAILER)
    payload, trailers = _decode(decoder, wire, [4096] * 1000)
    assert payload == data
    expected = Crc32Checksum()
    expected.update(data)
    assert trailers == {"x-amz-checksum-crc32": expected.b64digest()}
    checksum = Checksummer("CRC32")
    checksum.update(payload)
    assert checksum.verify(trailers["x-amz-checksum-crc32"])


def test_botocore_unsigned_without_checksum() -> None:
    wire = AwsChunkedWrapper(io.BytesIO(b"hello"), chunk_size=2).read()
    assert wire.endswith(b"0\r\n\r\n")
    assert _decode(_decoder(UNSIGNED_TRAILER), wire) == (b"hello", {})


def test_botocore_sha256_trailer_split_everywhere() -> None:
    data = b"0123456789" * 50
    wire = AwsChunkedWrapper(
        io.BytesIO(data),
        checksum_cls=Sha256Checksum,
        checksum_name="x-amz-checksum-sha256",
        chunk_size=64,
    ).read()
    payload, trailers = _decode(_decoder(UNSIGNED_TRAILER), wire, [1] * len(wire))
    assert payload == data
    assert trailers["x-amz-checksum-sha256"] == Sha256Checksum().handle(data)


def test_unsigned_trailer_missing_final_line_is_accepted() -> None:
    wire = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:" + _crc32(b"abc").encode() + b"\r\n"
    assert _decode(_decoder(UNSIGNED_TRAILER), wire)[1] == {"x-amz-checksum-crc32": _crc32(b"abc")}


def test_unsigned_trailer_cut_inside_trailer() -> None:
    decoder = _decoder(UNSIGNED_TRAILER)
    decoder.feed(b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAA")
    with pytest.raises(MalformedChunk, match="inside its trailer"):
        decoder.finish()


def test_boto3_https_put_is_aws_chunked() -> None:
    """A real boto3 PutObject over https: SigV4 header + STREAMING-UNSIGNED-PAYLOAD-TRAILER."""

    class Captured(Exception):
        pass

    def stop(request: Any, **_: Any) -> None:
        raise Captured(request)

    secret = "boto3/secret+key"
    client = boto3.client(
        "s3",
        endpoint_url="https://walrus.example.com:8773/services/Walrus",
        aws_access_key_id="AKIDBOTO3",
        aws_secret_access_key=secret,
        region_name="eucalyptus",
        config=Config(signature_version="s3v4"),
    )
    client.meta.events.register("before-send.s3", stop)
    data = random.Random(9).randbytes(200_000)
    with pytest.raises(Captured) as captured:
        client.put_object(Bucket="bucket", Key="ü k", Body=io.BytesIO(data))
    request = captured.value.args[0]
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    split = urlsplit(request.url)
    headers["Host"] = split.netloc
    parts = HttpRequestParts("PUT", split.path, split.query, headers, b"")
    sig = identify(parts, s3_schemes())
    assert isinstance(sig, SigV4Signature)
    sig.verify(secret, now=datetime.now(UTC))
    mode = parts.header("x-amz-content-sha256") or ""
    assert mode == UNSIGNED_TRAILER and mode in STREAMING_MODES
    decoder = chunked_decoder_for(sig, secret, mode)
    body = request.body.read()
    payload, trailers = _decode(decoder, body, [65536] * 100)
    assert payload == data
    assert str(decoder.decoded_length) == parts.header("x-amz-decoded-content-length")
    trailer_name = parts.header("x-amz-trailer") or ""
    checksum = Checksummer(trailer_name.removeprefix("x-amz-checksum-"))
    checksum.update(payload)
    assert checksum.verify(trailers[trailer_name])


# --- construction --------------------------------------------------------------------------


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match="not an aws-chunked mode"):
        _decoder("UNSIGNED-PAYLOAD")
    with pytest.raises(ValueError, match="signing key"):
        AwsChunkedDecoder(
            mode=SIGNED, signing_key=None, amz_date=AWS_DATE, scope=AWS_SCOPE, seed_signature=""
        )
    sig = _aws_example_signature()
    with pytest.raises(ValueError, match="not the streaming mode"):
        chunked_decoder_for(sig, AWS_SECRET, UNSIGNED_TRAILER)
