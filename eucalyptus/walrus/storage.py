"""Object data on disk: ``bukkits/<bucket>/<random id>`` files, written crash-safely.

A write streams into ``bukkits/<bucket>/.tmp/<id>``, is checked (digests, size),
fsynced, and renamed to ``bukkits/<bucket>/<id>``; only then does the caller commit
the metadata row that names the file. A crash before the commit leaves a file no row
names: :meth:`BlobStore.remove_orphans` deletes those (and every temp file) at start-up.
A replaced or deleted object's file is removed after its row is gone, so a crash in
between leaves an orphan, never a row without its file.

File names are random hex ids and bucket names are validated before they get here,
so nothing a user chooses becomes a path component other than the bucket directory
itself (checked again by :meth:`BlobStore.bucket_dir`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import logging
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

log = logging.getLogger("walrus")
T = TypeVar("T")

TMP_DIR = ".tmp"
READ_CHUNK = 1024 * 1024
#: bytes handed to the I/O thread at a time while writing
WRITE_CHUNK = 1024 * 1024
#: dirty bytes after which a write starts their write-back (fdatasync in the background)
FLUSH_EVERY = 64 * 1024 * 1024
_BLOB_NAME = re.compile(r"[0-9a-f]{32}")
_BUCKET_DIR = re.compile(r"[A-Za-z0-9._-]{1,255}")


@dataclass(frozen=True)
class WrittenBlob:
    """A file now in place under its bucket: its name, size and MD5."""

    name: str
    size: int
    md5_hex: str


class BlobStore:
    """The ``bukkits`` directory. File I/O runs on a small thread pool."""

    def __init__(self, root: Path, *, workers: int = 8) -> None:
        self.root = root
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="walrus-io")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    async def _io(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    # --- directories ---------------------------------------------------------------------

    def bucket_dir(self, bucket: str) -> Path:
        """The bucket's directory; ValueError for a name that could leave ``root``."""
        if not _BUCKET_DIR.fullmatch(bucket) or bucket in (".", "..") or bucket == TMP_DIR:
            raise ValueError(f"unsafe bucket directory name {bucket!r}")
        path = self.root / bucket
        if path.parent != self.root:
            raise ValueError(f"unsafe bucket directory name {bucket!r}")
        return path

    def blob_path(self, bucket: str, name: str) -> Path:
        if not _BLOB_NAME.fullmatch(name):
            raise ValueError(f"bad blob name {name!r}")
        return self.bucket_dir(bucket) / name

    async def create_bucket(self, bucket: str) -> None:
        path = self.bucket_dir(bucket)

        def make() -> None:
            (path / TMP_DIR).mkdir(parents=True, exist_ok=True)
            _fsync_dir(self.root)

        await self._io(make)

    async def remove_bucket(self, bucket: str) -> None:
        """Remove the directory of a bucket that has no objects left (stray files too)."""
        path = self.bucket_dir(bucket)
        await self._io(lambda: shutil.rmtree(path, ignore_errors=True))

    # --- writing -------------------------------------------------------------------------

    async def write(
        self,
        bucket: str,
        chunks: AsyncIterable[bytes],
        *,
        max_size: int | None = None,
        too_large: Callable[[], Exception] | None = None,
        before_commit: Callable[[WrittenBlob], None] | None = None,
    ) -> WrittenBlob:
        """Stream ``chunks`` into a new file of ``bucket``; return it once durable.

        ``before_commit`` runs after the last byte and before fsync + rename: it checks
        the digests and raises to discard the file. Past ``max_size`` bytes,
        ``too_large()`` is raised. On any error (a client that went away included) the
        temp file is removed and nothing becomes visible.
        """
        name = secrets.token_hex(16)
        tmp = self.bucket_dir(bucket) / TMP_DIR / name
        final = self.bucket_dir(bucket) / name
        writer = _Writer(self._pool, await self._io(lambda: _create(tmp)))
        size = 0
        try:
            pending: list[bytes] = []
            pending_size = 0
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise (too_large or _default_too_large)()
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= WRITE_CHUNK:
                    data = b"".join(pending)
                    pending, pending_size = [], 0
                    await writer.submit(data)
            if pending:
                await writer.submit(b"".join(pending))
            await writer.drain()
            written = WrittenBlob(name=name, size=size, md5_hex=writer.md5.hexdigest())
            if before_commit is not None:
                before_commit(written)
            await writer.close_durably()
            await self._io(lambda: _rename_durably(tmp, final))
            return written
        except BaseException:
            writer.abandon()
            tmp.unlink(missing_ok=True)
            raise

    async def concatenate(self, bucket: str, sources: Sequence[tuple[str, str]]) -> WrittenBlob:
        """A new file of ``bucket`` holding the listed (bucket, name) files one after another."""

        async def stream() -> AsyncIterator[bytes]:
            for source_bucket, source_name in sources:
                async for chunk in self.read(source_bucket, [(source_name, -1)], 0, None):
                    yield chunk

        return await self.write(bucket, stream())

    # --- reading -------------------------------------------------------------------------

    async def read(
        self,
        bucket: str,
        blobs: Sequence[tuple[str, int]],
        start: int,
        end: int | None,
    ) -> AsyncIterator[bytes]:
        """Bytes ``start``..``end`` (inclusive; None: to the end) of the concatenated blobs.

        A size of -1 means "the whole file, size unknown" (only for whole reads).
        """
        offset = 0
        for name, size in blobs:
            path = self.blob_path(bucket, name)
            if size >= 0 and start >= offset + size:
                offset += size
                continue
            local_start = max(0, start - offset)
            local_end = (
                None if end is None else (end - offset if size < 0 else min(size - 1, end - offset))
            )
            if local_end is not None and local_end < local_start:
                break
            fd = await self._io(functools.partial(os.open, path, os.O_RDONLY))
            try:
                position = local_start
                while local_end is None or position <= local_end:
                    want = READ_CHUNK
                    if local_end is not None:
                        want = min(READ_CHUNK, local_end - position + 1)
                    data = await self._io(functools.partial(os.pread, fd, want, position))
                    if not data:
                        break
                    position += len(data)
                    yield data
            finally:
                os.close(fd)
            if size < 0:
                continue
            offset += size
            if end is not None and offset > end:
                break

    # --- removal -------------------------------------------------------------------------

    async def delete(self, bucket: str, names: Sequence[str]) -> None:
        """Remove files whose rows are gone (missing files are fine)."""
        paths = [self.blob_path(bucket, name) for name in names]

        def remove() -> None:
            for path in paths:
                path.unlink(missing_ok=True)

        if paths:
            await self._io(remove)

    def remove_orphans(self, bucket: str, referenced: set[str]) -> int:
        """Delete temp files and files no row names; returns how many were removed."""
        path = self.bucket_dir(bucket)
        removed = 0
        if not path.is_dir():
            return 0
        tmp = path / TMP_DIR
        if tmp.is_dir():
            for entry in tmp.iterdir():
                entry.unlink(missing_ok=True)
                removed += 1
        for entry in path.iterdir():
            if entry.name == TMP_DIR:
                continue
            if entry.name not in referenced:
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed += 1
        return removed

    def bucket_dirs(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(entry.name for entry in self.root.iterdir() if entry.is_dir())

    def disk_usage(self) -> tuple[int, int]:
        """(total, free) bytes of the file system holding ``root``."""
        usage = shutil.disk_usage(self.root)
        return usage.total, usage.free


class _Writer:
    """The temp file of one write: MD5 and writes on the I/O pool, one chunk behind.

    The event loop receives the next chunk while one pool thread hashes the previous
    one and another writes it (MD5 is most of a large PUT's CPU time; hashlib and
    os.write release the GIL). One chunk at most is in flight, so the MD5 and the
    file see the chunks in order and memory stays bounded. Every :data:`FLUSH_EVERY`
    bytes an ``fdatasync`` starts in the background so that the final ``fsync`` finds
    little left to write.
    Nothing touches the file descriptor once :meth:`close_durably` or
    :meth:`abandon` has returned.
    """

    def __init__(self, pool: ThreadPoolExecutor, fd: int) -> None:
        self.pool = pool
        self.fd = fd
        self.md5 = hashlib.md5()  # noqa: S324 - S3's ETag, not a security measure
        self.steps: list[concurrent.futures.Future[None]] = []
        self.step_size = 0
        self.flush: concurrent.futures.Future[None] | None = None
        self.written = 0
        self.flushed = 0
        self.closing: concurrent.futures.Future[None] | None = None

    async def submit(self, data: bytes) -> None:
        """Wait for the chunk in flight (raising its error), then start on ``data``."""
        await self.drain()
        self.steps = [
            self.pool.submit(self.md5.update, data),
            self.pool.submit(_write_all, self.fd, data),
        ]
        self.step_size = len(data)

    async def drain(self) -> None:
        """Wait for the chunk in flight; start a background flush when one is due."""
        if not self.steps:
            return
        for step in self.steps:
            await asyncio.wrap_future(step)
        self.steps = []
        self.written += self.step_size
        if self.written - self.flushed < FLUSH_EVERY:
            return
        if self.flush is not None:
            if not self.flush.done():
                return
            self.flush.result()
        self.flushed = self.written
        self.flush = self.pool.submit(os.fdatasync, self.fd)

    async def close_durably(self) -> None:
        """Wait for the background flush, fsync, close (on the pool)."""
        self.closing = self.pool.submit(self._sync_and_close)
        await asyncio.wrap_future(self.closing)

    def _sync_and_close(self) -> None:
        try:
            self._settle()
            os.fsync(self.fd)
        finally:
            os.close(self.fd)

    def abandon(self) -> None:
        """After an error or cancellation: let pool work on the file end; close it.

        Blocks the loop for at most one chunk's hashing and writing, or a flush.
        """
        if self.closing is not None and not self.closing.cancel():
            # started (or done): _sync_and_close closes the file, whatever happens
            with contextlib.suppress(BaseException):
                self.closing.result()
            return
        with contextlib.suppress(BaseException):
            self._settle()
        os.close(self.fd)

    def _settle(self) -> None:
        """Wait for every step and flush to end; then raise the first error, if any."""
        futures = [*self.steps, *([] if self.flush is None else [self.flush])]
        self.steps, self.flush = [], None
        concurrent.futures.wait(futures)
        for future in futures:
            if not future.cancelled():
                future.result()


def _create(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _default_too_large() -> Exception:
    from eucalyptus.walrus.errors import EntityTooLarge

    return EntityTooLarge()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rename_durably(source: Path, target: Path) -> None:
    os.rename(source, target)
    _fsync_dir(target.parent)
