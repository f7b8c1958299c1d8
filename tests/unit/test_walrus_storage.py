"""BlobStore.write: the pipelined MD5 + write, and that a failed write leaves nothing."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eucalyptus.walrus import storage
from eucalyptus.walrus.storage import BlobStore, WrittenBlob

MIB = 1024 * 1024


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _chunks(data: bytes, size: int, fail_at: int | None = None) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        if fail_at is not None and offset >= fail_at:
            raise ConnectionError("client went away")
        await asyncio.sleep(0)
        yield data[offset : offset + size]


def _left(root: Path) -> list[str]:
    return sorted(
        str(path.relative_to(root)) for path in (root / "b1").rglob("*") if path.is_file()
    )


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BlobStore:
    monkeypatch.setattr(storage, "FLUSH_EVERY", 2 * MIB)  # background flushes happen
    blobs = BlobStore(tmp_path)
    asyncio.run(blobs.create_bucket("b1"))
    return blobs


@pytest.mark.parametrize("piece", [1, 4096, 300_000, 3 * MIB])
def test_write_is_whole_and_durable(store: BlobStore, tmp_path: Path, piece: int) -> None:
    data = os.urandom(7 * MIB + 123) if piece > 1 else b"x"
    fds = _open_fds()
    written = asyncio.run(store.write("b1", _chunks(data, piece)))
    assert written.size == len(data)
    assert written.md5_hex == hashlib.md5(data).hexdigest()
    assert (tmp_path / "b1" / written.name).read_bytes() == data
    assert _left(tmp_path) == [f"b1/{written.name}"]
    assert _open_fds() == fds


def test_failed_writes_leave_nothing(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(9 * MIB)
    fds = _open_fds()

    def refuse(_written: WrittenBlob) -> None:
        raise ValueError("bad digest")

    with pytest.raises(ConnectionError):
        asyncio.run(store.write("b1", _chunks(data, 256 * 1024, fail_at=5 * MIB)))
    with pytest.raises(ValueError):
        asyncio.run(store.write("b1", _chunks(data, MIB), before_commit=refuse))
    with pytest.raises(OSError):  # too large
        asyncio.run(
            store.write(
                "b1", _chunks(data, MIB), max_size=4 * MIB, too_large=lambda: OSError("big")
            )
        )

    async def cancelled() -> None:
        halfway = asyncio.Event()

        async def body() -> AsyncIterator[bytes]:
            async for chunk in _chunks(data * 4, 64 * 1024):
                yield chunk
                if not halfway.is_set() and any((tmp_path / "b1" / ".tmp").iterdir()):
                    halfway.set()

        task = asyncio.create_task(store.write("b1", body()))
        await halfway.wait()
        for _ in range(200):  # somewhere in the middle, a step or a flush in flight
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled())
    assert _left(tmp_path) == []
    assert _open_fds() == fds
