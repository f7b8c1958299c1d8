"""Walrus data-path throughput against the disk's own copy rate, in one run on one disk.

Starts a real CLC and ``eucalyptus-walrus`` on a fresh temporary root (``--dir``
chooses the parent directory, so the file system under test), then measures:

* the copy rate of the file system: a ``--size-mb`` file (written from random
  blocks generated up front; not timed) copied to another file of the same file
  system with :func:`shutil.copyfile` followed by ``fsync`` - the limit a store that
  writes every byte once and syncs it can reach;
* one PUT of that file as one object and one GET of it, each on one connection. The
  client is a minimal HTTP/1.1 client on a raw socket: the URL is presigned (SigV4
  query authentication, so the payload is ``UNSIGNED-PAYLOAD`` and the client hashes
  nothing), the PUT body goes out with ``socket.sendfile`` and the GET body is read
  into one reused buffer and dropped (as ``> /dev/null``), so nearly all the CPU
  the two cores give is the daemon's. Walrus still computes the MD5 (the ETag),
  writes a temp file, fsyncs it and renames it;
* the daemon's peak RSS during the PUT and during the GET (``VmHWM``, reset through
  ``/proc/<pid>/clear_refs`` before each) and its CPU seconds;
* ``--small-count`` PUTs of 4 KiB from ``--concurrency`` concurrent aiohttp clients
  (presigned URLs made beforehand): objects/s and p50 / p99 latency;
* ListObjectsV2 of ``--list-keys`` keys, page by page (max-keys 1000), and the same
  bucket listed with delimiter ``/`` (the keys are ``dNNN/kNNNNNNN``: 1000 keys per
  common prefix) and inside one prefix. The keys are inserted straight into
  Walrus's database as empty objects while the daemon is stopped (PUTting them
  would take minutes); the listing requests are presigned and parsed with lxml.

Each timed step starts after ``sync`` and a second's pause, and every run removes its
copy and its object before the next (later runs write into page cache and disk
space the earlier ones freed: on the development VM, memory never touched before
made writes much slower). ``--repeat`` runs; best and median are printed.

``--quick`` is a smoke run (64 MiB, 500 small PUTs, 5,000 keys). Only loopback is
addressed; the temporary root is removed at the end.

    .venv/bin/python -m bench.walrus_throughput [--size-mb 1024] [--small-count 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from lxml import etree

from tests.support import Cloud, Walrus, s3_client

MIB = 1024 * 1024
BLOCK = 64 * MIB
S3NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


# --- the daemon's process -----------------------------------------------------------------


def proc_status(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def watch(pid: int, figures: dict[str, float]) -> Iterator[None]:
    """Peak RSS (VmHWM after a reset, and sampled VmRSS) and CPU time of ``pid``."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak RSS
        reset = True
    except OSError:
        reset = False
    peak = proc_status(pid, "VmRSS")
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.02):
            peak = max(peak, proc_status(pid, "VmRSS"))

    sampler = threading.Thread(target=sample, daemon=True)
    figures["rss_before"] = proc_status(pid, "VmRSS")
    cpu = cpu_seconds(pid)
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join()
        figures["cpu"] = cpu_seconds(pid) - cpu
        figures["rss_peak"] = max(peak, proc_status(pid, "VmHWM") if reset else 0)


# --- the file system's copy rate ----------------------------------------------------------


def write_source(path: Path, size: int) -> None:
    """``size`` random bytes (blocks made before writing), fsynced; not timed."""
    blocks = [os.urandom(min(BLOCK, size)) for _ in range(max(1, min(4, size // BLOCK)))]
    with path.open("wb") as out:
        written, index = 0, 0
        while written < size:
            block = blocks[index % len(blocks)][: size - written]
            out.write(block)
            written += len(block)
            index += 1
        out.flush()
        os.fsync(out.fileno())


def settle() -> None:
    """Let earlier writes reach the disk before the next timed step."""
    os.sync()
    time.sleep(1)


def copy_rate(source: Path, target: Path) -> float:
    """Seconds to copy ``source`` to ``target`` (same file system) including fsync."""
    started = time.perf_counter()
    shutil.copyfile(source, target)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - started


# --- a minimal HTTP/1.1 client for the large transfers ------------------------------------


def _connect(url: str) -> tuple[socket.socket, str, str]:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * MIB)
    target = parts.path + ("?" + parts.query if parts.query else "")
    return sock, target, parts.netloc


def _read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            raise ConnectionError("connection closed before the response head")
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


def raw_put(url: str, path: Path) -> tuple[float, str]:
    """PUT the file at ``path`` to a presigned URL; (seconds, ETag)."""
    size = path.stat().st_size
    sock, target, host = _connect(url)
    with sock, path.open("rb") as body:
        started = time.perf_counter()
        sock.sendall(
            f"PUT {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {size}\r\n"
            "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n".encode()
        )
        sock.sendfile(body)
        status, headers, _rest = _read_head(sock)
        elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"PUT answered {status}")
    return elapsed, headers.get("etag", "").strip('"')


def raw_get(url: str) -> tuple[float, int]:
    """GET a presigned URL, reading the body into one reused buffer; (seconds, bytes)."""
    sock, target, host = _connect(url)
    buffer = bytearray(4 * MIB)
    view = memoryview(buffer)
    with sock:
        started = time.perf_counter()
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        status, headers, rest = _read_head(sock)
        if status != 200:
            raise RuntimeError(f"GET answered {status}")
        remaining = int(headers["content-length"]) - len(rest)
        received = len(rest)
        while remaining > 0:
            count = sock.recv_into(view, min(len(buffer), remaining))
            if not count:
                raise ConnectionError(f"connection closed with {remaining} bytes to come")
            remaining -= count
            received += count
        elapsed = time.perf_counter() - started
    return elapsed, received


# --- many small PUTs ----------------------------------------------------------------------


async def small_puts(urls: list[str], concurrency: int, size: int) -> tuple[list[float], float]:
    body = os.urandom(size)
    latencies: list[float] = []
    pending = iter(urls)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for url in pending:
                started = time.perf_counter()
                async with session.put(url, data=body) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"PUT answered {response.status}")
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return latencies, elapsed


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- listing ------------------------------------------------------------------------------


def insert_keys(walrus: Walrus, bucket: str, count: int) -> None:
    """``count`` empty objects ``dNNN/kNNNNNNN`` in ``bucket``, straight into the database.

    The daemon must be stopped; owner and ACL are copied from an object PUT before.
    """
    from sqlalchemy import insert, select

    from eucalyptus.common.db import Database, sqlite_url, utcnow
    from eucalyptus.walrus.models import ObjectVersion

    paths = walrus.cloud.paths
    url = walrus.cloud.conf.get_str("WALRUS_DB_URL", "") or sqlite_url(paths.db_dir, "walrus")
    db = Database(url, "walrus")
    empty_md5 = hashlib.md5(b"").hexdigest()  # noqa: S324 - the ETag of an empty object

    def work(session: Any) -> None:
        model = session.scalars(
            select(ObjectVersion).where(ObjectVersion.bucket == bucket).limit(1)
        ).one()
        now = utcnow()
        common = {
            "bucket": bucket,
            "version_id": "null",
            "is_latest": True,
            "delete_marker": False,
            "blobs": "[]",
            "size": 0,
            "etag": empty_md5,
            "last_modified": now,
            "owner_account": model.owner_account,
            "owner_canonical_id": model.owner_canonical_id,
            "owner_display_name": model.owner_display_name,
            "headers": json.dumps({"Content-Type": "binary/octet-stream"}),
            "metadata_json": "{}",
            "acl": model.acl,
            "storage_class": "STANDARD",
        }
        rows = [{**common, "key": f"d{i // 1000:03d}/k{i:07d}"} for i in range(count)]
        for start in range(0, len(rows), 10000):
            session.execute(insert(ObjectVersion), rows[start : start + 10000])

    try:
        db.run_sync(work)
    finally:
        db.close()
        db.engine.dispose()


def list_all(
    presign: Callable[[dict[str, Any]], str], params: dict[str, Any]
) -> tuple[float, int, int, int]:
    """Every page of a ListObjectsV2; (seconds, keys, common prefixes, pages)."""
    import requests

    keys = prefixes = pages = 0
    token: str | None = None
    with requests.Session() as http:
        started = time.perf_counter()
        while True:
            query = dict(params, MaxKeys=1000)
            if token is not None:
                query["ContinuationToken"] = token
            response = http.get(presign(query), timeout=60)
            if response.status_code != 200:
                raise RuntimeError(f"ListObjectsV2 answered {response.status_code}")
            root = etree.fromstring(response.content)
            keys += len(root.findall(f"{S3NS}Contents"))
            prefixes += len(root.findall(f"{S3NS}CommonPrefixes"))
            pages += 1
            if root.findtext(f"{S3NS}IsTruncated") != "true":
                break
            token = root.findtext(f"{S3NS}NextContinuationToken")
        elapsed = time.perf_counter() - started
    return elapsed, keys, prefixes, pages


# --- the run ------------------------------------------------------------------------------


def boto3_transfer(s3: Any, source: Path, size: int) -> tuple[float, float]:
    """Seconds of one boto3 put_object and one get_object of ``source`` (reference only)."""
    settle()
    with source.open("rb") as body:
        started = time.perf_counter()
        s3.put_object(Bucket="bench", Key="boto3", Body=body)
        put_seconds = time.perf_counter() - started
    started = time.perf_counter()
    stream = s3.get_object(Bucket="bench", Key="boto3")["Body"]
    received = 0
    while piece := stream.read(MIB):
        received += len(piece)
    get_seconds = time.perf_counter() - started
    if received != size:
        raise RuntimeError(f"boto3 GET gave {received} bytes of {size}")
    s3.delete_object(Bucket="bench", Key="boto3")
    return put_seconds, get_seconds


def mbps(size: int, seconds: float) -> float:
    return size / MIB / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="large object (MiB)")
    parser.add_argument("--small-count", type=int, default=10000, help="4 KiB PUTs")
    parser.add_argument("--concurrency", type=int, default=16, help="clients for small PUTs")
    parser.add_argument("--list-keys", type=int, default=100000, help="keys to list")
    parser.add_argument("--repeat", type=int, default=2, help="runs of copy, PUT and GET")
    parser.add_argument("--dir", default=None, help="parent of the temporary root")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument(
        "--boto3", action="store_true", help="also PUT and GET the large object with boto3"
    )
    args = parser.parse_args()
    if args.quick:
        args.size_mb, args.small_count, args.list_keys = 64, 500, 5000
    size = args.size_mb * MIB

    with tempfile.TemporaryDirectory(prefix="euca-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        cloud = Cloud(root / "cloud", log_level="INFO")
        cloud.initialize()
        cloud.start()
        walrus = Walrus(cloud, extra_conf={"WALRUS_STORAGEMAXBUCKETSIZEINMB": "10000000"})
        try:
            walrus.start()
            run(args, size, root, cloud, walrus)
        finally:
            walrus.close()
            cloud.close()


def run(args: argparse.Namespace, size: int, root: Path, cloud: Cloud, walrus: Walrus) -> None:
    s3 = s3_client(walrus.service_url, cloud.admin_key)
    device = os.stat(root).st_dev
    usage = shutil.disk_usage(root)
    print(
        f"bench: walrus throughput, root {root} (device {device:#x}, {usage.free // MIB} MiB free)"
    )
    print(f"       one walrus process, database {'PostgreSQL' if cloud.pg_name else 'SQLite'}")

    source = root / "source.bin"
    write_source(source, size)
    s3.create_bucket(Bucket="bench")
    pid = walrus.proc.pid if walrus.proc is not None else 0
    copies: list[float] = []
    timings: dict[str, list[float]] = {"PUT": [], "GET": []}
    figures: dict[str, list[dict[str, float]]] = {"PUT": [], "GET": []}
    etags: list[str] = []
    for run_number in range(args.repeat):
        settle()
        copies.append(copy_rate(source, root / "copy.bin"))
        (root / "copy.bin").unlink()
        key = f"large-{run_number}"
        put_url, get_url = (
            s3.generate_presigned_url(
                method, Params={"Bucket": "bench", "Key": key}, ExpiresIn=3600
            )
            for method in ("put_object", "get_object")
        )
        settle()
        watched: dict[str, float] = {}
        with watch(pid, watched):
            seconds, etag = raw_put(put_url, source)
        timings["PUT"].append(seconds)
        figures["PUT"].append(watched)
        etags.append(etag)
        watched = {}
        with watch(pid, watched):
            seconds, received = raw_get(get_url)
        timings["GET"].append(seconds)
        figures["GET"].append(watched)
        if received != size:
            raise RuntimeError(f"GET gave {received} bytes of {size}")
        s3.delete_object(Bucket="bench", Key=key)
    expected = hashlib.md5()  # noqa: S324 - comparing with the ETag
    with source.open("rb") as handle:
        while block := handle.read(BLOCK):
            expected.update(block)
    if set(etags) != {expected.hexdigest()}:
        raise RuntimeError("a stored object's ETag is not the source's MD5")
    boto3_figures = boto3_transfer(s3, source, size) if args.boto3 else None
    source.unlink()

    copy_best, copy_median = mbps(size, min(copies)), mbps(size, statistics.median(copies))
    print(f"object       {args.size_mb} MiB, {args.repeat} runs each: best / median")
    runs = ", ".join(f"{mbps(size, s):.0f}" for s in copies)
    print(f"copy+fsync   {copy_best:5.0f} / {copy_median:5.0f} MiB/s   (the limit; runs {runs})")
    for name in ("PUT", "GET"):
        best = mbps(size, min(timings[name]))
        median = mbps(size, statistics.median(timings[name]))
        runs = ", ".join(f"{mbps(size, s):.0f}" for s in timings[name])
        peak = max(f["rss_peak"] for f in figures[name]) / MIB
        before = min(f["rss_before"] for f in figures[name]) / MIB
        cpu = statistics.median(f["cpu"] for f in figures[name])
        print(
            f"{name:<12} {best:5.0f} / {median:5.0f} MiB/s = {best / copy_best:.0%} / "
            f"{median / copy_median:.0%} of copy (runs {runs}); walrus RSS {before:.0f} -> "
            f"peak {peak:.0f} MiB, CPU {cpu:.2f} s per run"
        )
    if boto3_figures is not None:
        put_seconds, get_seconds = boto3_figures
        put_rate, get_rate = mbps(size, put_seconds), mbps(size, get_seconds)
        print(
            f"boto3        PUT {put_rate:.0f} MiB/s, GET {get_rate:.0f} MiB/s (put_object of the"
            " file, get_object read in 1 MiB pieces, default client configuration)"
        )

    if args.small_count:
        urls = [
            s3.generate_presigned_url(
                "put_object", Params={"Bucket": "small", "Key": f"s/{i:07d}"}, ExpiresIn=3600
            )
            for i in range(args.small_count)
        ]
        s3.create_bucket(Bucket="small")
        latencies, elapsed = asyncio.run(small_puts(urls, args.concurrency, 4096))
        ordered = sorted(latencies)
        print(
            f"small PUTs   {len(latencies)} x 4 KiB, {args.concurrency} clients: "
            f"{len(latencies) / elapsed:.0f} objects/s, p50 {percentile(ordered, 0.5) * 1000:.1f}"
            f" ms, p99 {percentile(ordered, 0.99) * 1000:.1f} ms, "
            f"mean {statistics.fmean(ordered) * 1000:.1f} ms"
        )

    if args.list_keys:
        s3.create_bucket(Bucket="listing")
        s3.put_object(Bucket="listing", Key="~owner", Body=b"")
        walrus.stop()
        started = time.perf_counter()
        insert_keys(walrus, "listing", args.list_keys)
        inserted = time.perf_counter() - started
        walrus.start()
        s3.delete_object(Bucket="listing", Key="~owner")

        def presign(params: dict[str, Any]) -> str:
            return str(
                s3.generate_presigned_url(
                    "list_objects_v2", Params={"Bucket": "listing", **params}, ExpiresIn=3600
                )
            )

        print(
            f"listing      {args.list_keys} keys (inserted into the database in {inserted:.1f} s)"
        )
        for label, params in (
            ("full", {}),
            ("delimiter /", {"Delimiter": "/"}),
            ("prefix d001/", {"Prefix": "d001/", "Delimiter": "/"}),
        ):
            seconds, keys, prefixes, pages = list_all(presign, params)
            print(
                f"  {label:<12} {keys} keys, {prefixes} prefixes, {pages} pages in "
                f"{seconds:.2f} s: {(keys + prefixes) / seconds:.0f} entries/s, "
                f"{seconds / pages * 1000:.1f} ms/page"
            )


if __name__ == "__main__":
    main()
