"""x-amz-checksum-* computation (against botocore and check values) and header parsing."""

from __future__ import annotations

import base64
import hashlib
import random
import zlib

import pytest
from botocore.httpchecksum import Crc32Checksum, Sha1Checksum, Sha256Checksum

from eucalyptus.walrus import checksums
from eucalyptus.walrus.checksums import (
    ALGORITHMS,
    CRC32C_POLY,
    CRC64NVME_POLY,
    Checksummer,
    RequestChecksum,
    TableCrc,
    checksum_from_headers,
)
from eucalyptus.walrus.errors import InvalidRequest

CHECK = b"123456789"
#: the catalogued CRC check values (CRC of "123456789")
CHECK_VALUES = {"CRC32": 0xCBF43926, "CRC32C": 0xE3069283, "CRC64NVME": 0xAE8B14860A799888}
DATA = random.Random(11).randbytes(100_003)


def _b64(value: int, size: int) -> str:
    return base64.b64encode(value.to_bytes(size, "big")).decode()


def _sum(algorithm: str, *pieces: bytes | memoryview) -> Checksummer:
    checksum = Checksummer(algorithm)
    for piece in pieces:
        checksum.update(piece)
    return checksum


def _bitwise_crc(data: bytes, width: int, poly: int) -> int:
    """A reference reflected CRC, one bit at a time (no tables)."""
    mask = (1 << width) - 1
    crc = mask
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc ^ mask


@pytest.mark.parametrize("algorithm", sorted(CHECK_VALUES))
def test_crc_check_values(algorithm: str) -> None:
    size = 8 if algorithm == "CRC64NVME" else 4
    checksum = _sum(algorithm, CHECK)
    assert checksum.digest() == CHECK_VALUES[algorithm].to_bytes(size, "big")
    assert checksum.b64digest() == _b64(CHECK_VALUES[algorithm], size)
    assert checksum.verify(_b64(CHECK_VALUES[algorithm], size))
    assert not checksum.verify(_b64(0, size))


def test_crc64nvme_known_values() -> None:
    assert _sum("CRC64NVME").digest() == bytes(8)  # empty input
    assert _sum("CRC64NVME", CHECK).b64digest() == "rosUhgp5mIg="


@pytest.mark.parametrize(
    ("algorithm", "botocore_cls"),
    [("CRC32", Crc32Checksum), ("SHA1", Sha1Checksum), ("SHA256", Sha256Checksum)],
)
def test_same_as_botocore(algorithm: str, botocore_cls: type) -> None:
    theirs = botocore_cls()
    theirs.update(DATA)
    assert _sum(algorithm, DATA[:5], DATA[5:70_000], DATA[70_000:]).b64digest() == (
        theirs.b64digest()
    )


def test_hashes_match_hashlib() -> None:
    assert _sum("SHA1", DATA).digest() == hashlib.sha1(DATA).digest()
    assert _sum("sha256", DATA).digest() == hashlib.sha256(DATA).digest()
    assert _sum("CRC32", DATA).digest() == zlib.crc32(DATA).to_bytes(4, "big")


@pytest.mark.parametrize(("width", "poly"), [(32, CRC32C_POLY), (64, CRC64NVME_POLY)])
def test_table_crc_against_bitwise_reference(width: int, poly: int) -> None:
    for length in (0, 1, 7, 8, 9, 15, 16, 17, 1000):
        data = DATA[:length]
        crc = TableCrc(width, poly)
        crc.update(data)
        assert crc.value() == _bitwise_crc(data, width, poly), length


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_incremental_equals_one_shot(algorithm: str) -> None:
    rng = random.Random(algorithm)
    cuts = sorted(rng.sample(range(1, len(DATA)), 20))
    pieces = [DATA[a:b] for a, b in zip([0, *cuts], [*cuts, len(DATA)], strict=True)]
    assert _sum(algorithm, *pieces).digest() == _sum(algorithm, DATA).digest()
    views = [memoryview(piece) for piece in pieces]
    assert _sum(algorithm, *views).digest() == _sum(algorithm, DATA).digest()


def test_crc32c_fallback_matches_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _sum("CRC32C", DATA[:777], DATA[777:])
    monkeypatch.setattr(checksums, "_crc32c", None)
    slow = _sum("CRC32C", DATA[:1000], DATA[1000:])
    assert slow.b64digest() == fast.b64digest()
    assert _sum("CRC32C", CHECK).digest() == CHECK_VALUES["CRC32C"].to_bytes(4, "big")


def test_digest_sizes_and_names() -> None:
    for algorithm in ALGORITHMS:
        checksum = Checksummer(algorithm.lower())
        assert checksum.algorithm == algorithm
        assert len(checksum.digest()) == checksums.DIGEST_SIZES[algorithm]
        assert checksum.header_name == f"x-amz-checksum-{algorithm.lower()}"
    assert _sum("CRC32").b64digest() == "AAAAAA=="


def test_unknown_algorithm() -> None:
    with pytest.raises(InvalidRequest, match="unsupported"):
        Checksummer("MD5")


# --- request headers -----------------------------------------------------------------------

CRC32_ABC = _sum("CRC32", b"abc").b64digest()


def test_no_checksum() -> None:
    assert checksum_from_headers({}) is None
    assert checksum_from_headers({"x-amz-checksum-mode": "ENABLED"}) is None
    assert checksum_from_headers({"x-amz-checksum-algorithm": "CRC32"}) is None
    assert checksum_from_headers({"x-amz-checksum-type": "FULL_OBJECT"}) is None


def test_header_value() -> None:
    found = checksum_from_headers({"x-amz-checksum-crc32": CRC32_ABC})
    assert found == RequestChecksum("CRC32", value=CRC32_ABC)
    assert found.expected({}) == CRC32_ABC
    with_sdk = checksum_from_headers(
        {"x-amz-checksum-crc32": CRC32_ABC, "x-amz-sdk-checksum-algorithm": "crc32"}
    )
    assert with_sdk == found


def test_trailer() -> None:
    headers = {
        "x-amz-trailer": "x-amz-checksum-crc64nvme",
        "x-amz-sdk-checksum-algorithm": "CRC64NVME",
    }
    found = checksum_from_headers(headers)
    assert found == RequestChecksum("CRC64NVME", trailer="x-amz-checksum-crc64nvme")
    value = _sum("CRC64NVME", b"abc").b64digest()
    assert found.expected({"x-amz-checksum-crc64nvme": value}) == value
    with pytest.raises(InvalidRequest, match="missing"):
        found.expected({})
    with pytest.raises(InvalidRequest, match="invalid"):
        found.expected({"x-amz-checksum-crc64nvme": CRC32_ABC})  # 4 bytes, not 8


def test_sdk_algorithm_only() -> None:
    found = checksum_from_headers({"x-amz-sdk-checksum-algorithm": "SHA256"})
    assert found == RequestChecksum("SHA256")
    assert found.value is None and found.trailer is None and found.expected({}) is None


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"x-amz-checksum-md5": "AAAAAA=="}, "unsupported"),
        ({"x-amz-sdk-checksum-algorithm": "xxhash"}, "unsupported"),
        ({"x-amz-trailer": "x-amz-checksum-md5"}, "unsupported"),
        ({"x-amz-trailer": "x-amz-meta-foo"}, "x-amz-trailer"),
        ({"x-amz-checksum-crc32": "not base64!"}, "invalid"),
        ({"x-amz-checksum-sha1": CRC32_ABC}, "invalid"),
        ({"x-amz-checksum-crc32": CRC32_ABC, "x-amz-checksum-crc32c": CRC32_ABC}, "single"),
        (
            {"x-amz-checksum-crc32": CRC32_ABC, "x-amz-trailer": "x-amz-checksum-crc32"},
            "single",
        ),
        ({"x-amz-trailer": "x-amz-checksum-crc32, x-amz-checksum-sha1"}, "single"),
        (
            {"x-amz-checksum-crc32": CRC32_ABC, "x-amz-sdk-checksum-algorithm": "SHA1"},
            "does not match",
        ),
    ],
)
def test_invalid_headers(headers: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message) as raised:
        checksum_from_headers(headers)
    assert raised.value.code == "InvalidRequest" and raised.value.status == 400
