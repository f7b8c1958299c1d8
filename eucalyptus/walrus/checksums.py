"""The ``x-amz-checksum-*`` object checksums: computing them and reading the request's claim.

A checksum value on the wire is the base64 of the big-endian digest (4 bytes for
the CRC32s, 8 for CRC64NVME, 20 for SHA1, 32 for SHA256). A request states one
checksum at most: as an ``x-amz-checksum-<algorithm>`` header, or named by
``x-amz-trailer`` when the value follows the aws-chunked body as a trailer, or
just as ``x-amz-sdk-checksum-algorithm`` (computed, nothing to compare).

CRC32 comes from :mod:`zlib`, CRC32C from the ``crc32c`` package when it is
installed (else the pure-Python :class:`TableCrc`, about 12 MB/s), CRC64NVME from
:class:`TableCrc` (same speed: fine for the occasional client that asks for it).
The caller compares with :meth:`Checksummer.verify` and answers ``BadDigest``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

from eucalyptus.walrus.errors import InvalidRequest

#: the ``crc32c`` package (C, hardware assisted) when installed
_crc32c: ModuleType | None
try:
    import crc32c

    _crc32c = crc32c
except ImportError:  # pragma: no cover - the package is a dependency
    _crc32c = None

ALGORITHMS = ("CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME")
#: digest size in bytes of each algorithm
DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "SHA1": 20, "SHA256": 32, "CRC64NVME": 8}
#: reflected polynomials of the CRCs computed by :class:`TableCrc`
CRC32C_POLY = 0x82F63B78
CRC64NVME_POLY = 0x9A6C9329AC4BC9B5

HEADER_PREFIX = "x-amz-checksum-"
#: ``x-amz-checksum-*`` headers that carry no checksum value
_NOT_VALUES = frozenset({"x-amz-checksum-algorithm", "x-amz-checksum-type", "x-amz-checksum-mode"})

Bytes = bytes | bytearray | memoryview


def header_name(algorithm: str) -> str:
    """``x-amz-checksum-<algorithm>`` in lower case."""
    return HEADER_PREFIX + algorithm.lower()


def normalize_algorithm(name: str) -> str:
    """The upper-case algorithm name; InvalidRequest if it is not one of :data:`ALGORITHMS`."""
    algorithm = name.strip().upper()
    if algorithm not in DIGEST_SIZES:
        raise InvalidRequest(
            "Checksum algorithm provided is unsupported. Please try again with any of the "
            f"valid types: [{', '.join(sorted(ALGORITHMS))}]"
        )
    return algorithm


# --- pure-Python CRC -------------------------------------------------------------------------


@functools.cache
def _tables(poly: int) -> tuple[tuple[int, ...], ...]:
    """Slicing-by-8 tables of a reflected CRC: table k is a byte followed by k zero bytes."""
    base = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        base.append(crc)
    tables = [tuple(base)]
    for _ in range(7):
        previous = tables[-1]
        tables.append(tuple((value >> 8) ^ base[value & 0xFF] for value in previous))
    return tuple(tables)


class TableCrc:
    """A reflected CRC (32 or 64 bits, init and final XOR all ones), table driven.

    Used for CRC64NVME and as the CRC32C fallback.
    """

    def __init__(self, width: int, poly: int) -> None:
        self.width = width
        self._mask = (1 << width) - 1
        self._tables = _tables(poly)
        self._crc = self._mask

    def update(self, data: Bytes) -> None:
        """Add ``data``: eight bytes per step, then the tail byte by byte."""
        view = memoryview(data).cast("B")
        whole = len(view) - len(view) % 8
        t0, t1, t2, t3, t4, t5, t6, t7 = self._tables
        crc = self._crc
        for (word,) in struct.iter_unpack("<Q", view[:whole]):
            x = crc ^ word
            crc = (
                t7[x & 0xFF]
                ^ t6[(x >> 8) & 0xFF]
                ^ t5[(x >> 16) & 0xFF]
                ^ t4[(x >> 24) & 0xFF]
                ^ t3[(x >> 32) & 0xFF]
                ^ t2[(x >> 40) & 0xFF]
                ^ t1[(x >> 48) & 0xFF]
                ^ t0[x >> 56]
            )
        for byte in view[whole:]:
            crc = t0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        self._crc = crc

    def value(self) -> int:
        """The CRC of everything added so far."""
        return self._crc ^ self._mask


# --- engines ---------------------------------------------------------------------------------


class _Engine(Protocol):
    def update(self, data: Bytes) -> None: ...

    def digest(self) -> bytes: ...


class _HashEngine:
    def __init__(self, name: str) -> None:
        self._hash = hashlib.new(name)

    def update(self, data: Bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()


class _Crc32Engine:
    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: Bytes) -> None:
        self._crc = zlib.crc32(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(4, "big")


class _Crc32cEngine:
    def __init__(self, module: ModuleType) -> None:
        self._module = module
        self._crc = 0

    def update(self, data: Bytes) -> None:
        self._crc = int(self._module.crc32c(data, self._crc))

    def digest(self) -> bytes:
        return self._crc.to_bytes(4, "big")


class _TableEngine:
    def __init__(self, width: int, poly: int) -> None:
        self._crc = TableCrc(width, poly)

    def update(self, data: Bytes) -> None:
        self._crc.update(data)

    def digest(self) -> bytes:
        return self._crc.value().to_bytes(self._crc.width // 8, "big")


def _engine(algorithm: str) -> _Engine:
    if algorithm == "CRC32":
        return _Crc32Engine()
    if algorithm == "CRC32C":
        return _Crc32cEngine(_crc32c) if _crc32c is not None else _TableEngine(32, CRC32C_POLY)
    if algorithm == "CRC64NVME":
        return _TableEngine(64, CRC64NVME_POLY)
    return _HashEngine(algorithm.lower())


class Checksummer:
    """One running checksum: ``update`` with the data, then ``b64digest`` or ``verify``.

    ``algorithm`` is any case of one of :data:`ALGORITHMS` (InvalidRequest otherwise).
    """

    def __init__(self, algorithm: str) -> None:
        self.algorithm = normalize_algorithm(algorithm)
        self._engine = _engine(self.algorithm)

    def __repr__(self) -> str:
        return f"<Checksummer {self.algorithm}>"

    @property
    def header_name(self) -> str:
        """``x-amz-checksum-<algorithm>``, the header (or trailer) of this checksum."""
        return header_name(self.algorithm)

    def update(self, data: Bytes) -> None:
        """Add the next piece of the data."""
        self._engine.update(data)

    def digest(self) -> bytes:
        """The big-endian digest of the data so far."""
        return self._engine.digest()

    def b64digest(self) -> str:
        """The digest as S3 shows it: base64 of the big-endian bytes."""
        return base64.b64encode(self.digest()).decode("ascii")

    def verify(self, expected_b64: str) -> bool:
        """Whether the data so far has the checksum ``expected_b64`` (base64)."""
        return hmac.compare_digest(
            self.b64digest().encode("ascii"), expected_b64.strip().encode("ascii", "replace")
        )


# --- what the request claims -----------------------------------------------------------------


@dataclass(frozen=True)
class RequestChecksum:
    """The checksum a request states.

    ``algorithm`` is upper case; ``value`` the base64 value from its header, None
    when it comes in the trailer ``trailer`` (lower-case name) or not at all
    (only ``x-amz-sdk-checksum-algorithm``: compute, nothing to compare).
    """

    algorithm: str
    value: str | None = None
    trailer: str | None = None

    @property
    def header_name(self) -> str:
        """``x-amz-checksum-<algorithm>``."""
        return header_name(self.algorithm)

    def expected(self, trailers: Mapping[str, str]) -> str | None:
        """The value to compare: from the header, or from the decoded ``trailers``.

        Raises InvalidRequest when the announced trailer is missing or malformed.
        """
        if self.trailer is None:
            return self.value
        value = trailers.get(self.trailer)
        if value is None:
            raise InvalidRequest(
                f"The {self.trailer} trailer announced by x-amz-trailer is missing"
            )
        check_value(self.algorithm, value, self.trailer)
        return value.strip()


def check_value(algorithm: str, value: str, where: str) -> None:
    """InvalidRequest unless ``value`` is the base64 of a digest of ``algorithm``'s size."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != DIGEST_SIZES[algorithm]:
        raise InvalidRequest(f"Value for {where} header is invalid.")


def _trailer_checksums(lower_headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """(algorithm, trailer name) for each checksum named by ``x-amz-trailer``."""
    found = []
    for name in (lower_headers.get("x-amz-trailer") or "").split(","):
        trailer = name.strip().lower()
        if not trailer:
            continue
        if not trailer.startswith(HEADER_PREFIX) or trailer in _NOT_VALUES:
            raise InvalidRequest(
                f"The value specified in the x-amz-trailer header is not supported: {trailer}"
            )
        found.append((normalize_algorithm(trailer[len(HEADER_PREFIX) :]), trailer))
    return found


def checksum_from_headers(lower_headers: Mapping[str, str]) -> RequestChecksum | None:
    """The checksum stated by a request's headers (keyed lower-case), or None.

    Raises InvalidRequest for an unknown algorithm, a malformed value, more than
    one checksum, or an ``x-amz-sdk-checksum-algorithm`` that names another
    algorithm than the checksum sent.
    """
    stated: list[RequestChecksum] = []
    for name, value in lower_headers.items():
        if name.startswith(HEADER_PREFIX) and name not in _NOT_VALUES:
            algorithm = normalize_algorithm(name[len(HEADER_PREFIX) :])
            check_value(algorithm, value, name)
            stated.append(RequestChecksum(algorithm, value=value.strip()))
    stated += [
        RequestChecksum(alg, trailer=name) for alg, name in _trailer_checksums(lower_headers)
    ]
    if len(stated) > 1:
        raise InvalidRequest(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    sdk = lower_headers.get("x-amz-sdk-checksum-algorithm")
    if sdk is not None:
        algorithm = normalize_algorithm(sdk)
        if stated and stated[0].algorithm != algorithm:
            raise InvalidRequest(
                f"Value for x-amz-sdk-checksum-algorithm header is invalid: {sdk} does not "
                f"match {stated[0].header_name}"
            )
        if not stated:
            stated.append(RequestChecksum(algorithm))
    return stated[0] if stated else None
