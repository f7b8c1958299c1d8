"""Walrus under SIGKILL and dropped clients: nothing half-written ever becomes visible.

Every test ends with :func:`check_store`, the disk/database invariant: no temp file
is left, every file under ``bukkits/<bucket>/`` is named by exactly one database row
(an object version's ``blobs`` or a part's ``blob``), every named file exists with
the size its row gives, each bucket's ``size_bytes`` is the sum of its versions and
parts, and ListObjectsV2 answers exactly the keys whose latest version is an object.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from eucalyptus.common.db import make_engine
from eucalyptus.walrus.models import Bucket, ObjectVersion, Part, Upload
from tests.support import Cloud, Walrus, s3_client

pytestmark = pytest.mark.timeout(300)

MIB = 1024 * 1024


# --- helpers ---------------------------------------------------------------------------


def _client(cloud: Cloud, walrus: Walrus) -> Any:
    return s3_client(walrus.service_url, cloud.admin_key)


def _engine(walrus: Walrus) -> Engine:
    """Walrus's database: SQLite opened read-only, or its PostgreSQL database."""
    url = walrus.cloud.conf.get_str("WALRUS_DB_URL", "")
    if url:
        return make_engine(url)
    path = walrus.cloud.paths.db_dir / "walrus.db"
    return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", poolclass=NullPool)


def check_store(walrus: Walrus, s3: Any | None = None) -> dict[str, dict[str, int]]:
    """Assert the disk/database invariant; returns {bucket: {key: size}} of visible objects.

    Runs against the database directly (read-only for SQLite); with ``s3`` it also
    checks that ListObjectsV2 of every bucket matches the database.
    """
    engine = _engine(walrus)
    try:
        with Session(engine) as session:
            buckets = {b.name: b.size_bytes for b in session.scalars(select(Bucket))}
            versions = list(session.scalars(select(ObjectVersion)))
            parts = list(session.scalars(select(Part)))
            upload_ids = set(session.scalars(select(Upload.upload_id)))
    finally:
        engine.dispose()

    referenced: dict[tuple[str, str], int] = {}  # (bucket, file) -> size the row says
    accounted = dict.fromkeys(buckets, 0)
    visible: dict[str, dict[str, int]] = {name: {} for name in buckets}

    def reference(bucket: str, name: str, size: int, what: str) -> None:
        assert (bucket, name) not in referenced, f"{bucket}/{name} named twice ({what})"
        referenced[(bucket, name)] = size

    for row in versions:
        assert row.bucket in buckets, f"version of {row.key!r} in unknown bucket {row.bucket}"
        blobs = [(str(n), int(s)) for n, s in json.loads(row.blobs)]
        assert sum(size for _name, size in blobs) == row.size, f"{row.key!r}: blob sizes"
        for name, size in blobs:
            reference(row.bucket, name, size, f"version {row.key!r}")
        accounted[row.bucket] += row.size
        if row.is_latest and not row.delete_marker:
            assert row.key not in visible[row.bucket], f"{row.key!r}: two latest versions"
            visible[row.bucket][row.key] = row.size
    for part in parts:
        assert part.upload_id in upload_ids, f"part of unknown upload {part.upload_id}"
        reference(part.bucket, part.blob, part.size, f"part {part.part_number}")
        accounted[part.bucket] += part.size
    assert accounted == buckets, "bucket size_bytes differs from its versions and parts"

    root = walrus.bukkits
    on_disk: dict[tuple[str, str], int] = {}
    for directory in root.iterdir():
        assert directory.is_dir(), f"stray file {directory}"
        for entry in directory.iterdir():
            if entry.name == ".tmp":
                leftovers = list(entry.iterdir())
                assert not leftovers, f"temp files left: {leftovers}"
                continue
            assert entry.is_file(), f"stray directory {entry}"
            on_disk[(directory.name, entry.name)] = entry.stat().st_size
    unreferenced = sorted(set(on_disk) - set(referenced))
    missing = sorted(set(referenced) - set(on_disk))
    assert not unreferenced, f"files no row names: {unreferenced}"
    assert not missing, f"rows whose files are gone: {missing}"
    wrong = {name: (on_disk[name], size) for name, size in referenced.items()}
    wrong = {name: sizes for name, sizes in wrong.items() if sizes[0] != sizes[1]}
    assert not wrong, f"files of the wrong size (on disk, row): {wrong}"

    if s3 is not None:
        for bucket, keys in visible.items():
            listed: dict[str, int] = {}
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    listed[item["Key"]] = item["Size"]
            assert listed == keys, f"listing of {bucket} differs from the database"
    return visible


def _tmp_bytes(walrus: Walrus, bucket: str) -> int:
    total = 0
    for entry in (walrus.bukkits / bucket / ".tmp").iterdir():
        with contextlib.suppress(FileNotFoundError):
            total += entry.stat().st_size
    return total


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _restart(walrus: Walrus) -> None:
    if walrus.proc is not None:
        walrus.stop(kill=True)
    walrus.start()


@pytest.fixture
def restarted(walrus: Walrus) -> Iterator[Walrus]:
    """The module's Walrus; whatever a test did to it, it runs again afterwards."""
    try:
        yield walrus
    finally:
        if walrus.proc is None:
            walrus.start()


class _HeldBody:
    """A ``Content-Length`` body of ``total`` bytes that stops after ``hold`` bytes.

    requests sends it as an iterable of known length. The sender blocks once ``hold``
    bytes are out until :attr:`release` is set (then it sends the rest, into whatever
    is left of the connection): the daemon is killed while the upload is certainly
    in progress, however fast the machine.
    """

    def __init__(self, total: int, hold: int, block: bytes) -> None:
        self.total = total
        self.hold = hold
        self.block = block
        self.release = threading.Event()
        self.sent = 0

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.total:
            if self.sent >= self.hold:
                self.release.wait(60)
            piece = self.block[: self.total - self.sent]
            self.sent += len(piece)
            yield piece


def _stream_put(url: str, body: _HeldBody, outcome: list[object]) -> threading.Thread:
    def run() -> None:
        try:
            outcome.append(requests.put(url, data=body, timeout=120).status_code)
        except requests.RequestException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _absent(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        return True
    return False


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- tests -----------------------------------------------------------------------------


def test_kill_during_large_uploads(cloud: Cloud, restarted: Walrus, admin_s3: Any) -> None:
    """Two 200 MiB PUTs (a new key, a replacement) cut by SIGKILL: old content only."""
    walrus = restarted
    bucket = "crash-put"
    admin_s3.create_bucket(Bucket=bucket)
    old = os.urandom(3 * MIB + 17)
    admin_s3.put_object(Bucket=bucket, Key="existing", Body=old)
    admin_s3.put_object(Bucket=bucket, Key="bystander", Body=b"small and done")
    check_store(walrus, admin_s3)

    block = os.urandom(MIB)
    bodies, threads, outcomes = [], [], []
    for key in ("fresh", "existing"):
        url = admin_s3.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600
        )
        body = _HeldBody(200 * MIB, 40 * MIB, block)
        outcome: list[object] = []
        bodies.append(body)
        outcomes.append(outcome)
        threads.append(_stream_put(url, body, outcome))
    # both temp files well past a few MB: the daemon is mid-write on both
    _wait_for(lambda: len(list((walrus.bukkits / bucket / ".tmp").iterdir())) == 2, 30, "temps")
    _wait_for(lambda: _tmp_bytes(walrus, bucket) > 64 * MIB, 60, "temp files to grow")
    walrus.stop(kill=True)
    assert len(list((walrus.bukkits / bucket / ".tmp").iterdir())) == 2  # the crash left them
    for body in bodies:
        body.release.set()
    for thread in threads:
        thread.join(60)
    for outcome in outcomes:
        assert outcome and isinstance(outcome[0], requests.RequestException), outcome

    walrus.start()
    visible = check_store(walrus, admin_s3)
    assert visible[bucket] == {"existing": len(old), "bystander": 14}
    assert _absent(admin_s3, bucket, "fresh")
    got = admin_s3.get_object(Bucket=bucket, Key="existing")
    assert _md5(got["Body"].read()) == _md5(old)
    assert got["ETag"] == f'"{_md5(old)}"'
    # and the store works normally afterwards
    admin_s3.put_object(Bucket=bucket, Key="fresh", Body=b"after the crash")
    assert admin_s3.get_object(Bucket=bucket, Key="fresh")["Body"].read() == b"after the crash"
    check_store(walrus, admin_s3)


def test_kill_during_deletes(cloud: Cloud, restarted: Walrus, admin_s3: Any) -> None:
    """300 objects deleted by 8 clients (single and batch deletes), SIGKILL mid-way.

    Afterwards every key is whole (same MD5) or gone; every delete the daemon had
    acknowledged stays done; a DeleteObjects batch is all or nothing.
    """
    walrus = restarted
    bucket = "crash-delete"
    admin_s3.create_bucket(Bucket=bucket)
    contents = {f"obj/{i:04d}": os.urandom(1024 + 37 * i) for i in range(300)}
    clients = [_client(cloud, walrus) for _ in range(8)]  # boto3 clients are thread-safe
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda item: clients[item[0] % 8].put_object(
                    Bucket=bucket, Key=item[1][0], Body=item[1][1]
                ),
                enumerate(contents.items()),
            )
        )
    assert len(check_store(walrus, admin_s3)[bucket]) == 300

    keys = sorted(contents)
    singles = [[key] for key in keys[:150]]
    batches = [keys[i : i + 25] for i in range(150, 300, 25)]
    jobs: list[list[str]] = []
    for index, single in enumerate(singles):  # spread the batches among the singles
        jobs.append(single)
        if index % 25 == 10 and batches:
            jobs.append(batches.pop(0))
    jobs += batches
    acknowledged: list[str] = []
    batch_jobs = [job for job in jobs if len(job) > 1]
    lock = threading.Lock()
    killed = threading.Event()

    def delete(index: int, job: list[str]) -> None:
        if killed.is_set():
            return
        s3 = clients[index % len(clients)]
        try:
            if len(job) == 1:
                s3.delete_object(Bucket=bucket, Key=job[0])
            else:
                answer = s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": [{"Key": key} for key in job]}
                )
                assert not answer.get("Errors")
        except Exception:
            return  # the daemon went away mid-request
        with lock:
            acknowledged.extend(job)

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(delete, index, job) for index, job in enumerate(jobs)]
        _wait_for(lambda: len(acknowledged) >= 100, 120, "a hundred deletes")
        walrus.stop(kill=True)
        killed.set()
        for future in futures:
            future.result()
    at_kill = len(acknowledged)

    walrus.start()
    visible = check_store(walrus, admin_s3)[bucket]
    for key, data in contents.items():
        if key in visible:
            got = admin_s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert _md5(got) == _md5(data), key
        else:
            assert _absent(admin_s3, bucket, key)
    assert not set(acknowledged) & set(visible), "an acknowledged delete was undone"
    for batch in batch_jobs:
        present = [key in visible for key in batch]
        assert all(present) or not any(present), f"batch half deleted: {batch}"
    assert 0 < len(visible) < 300 - 99, (at_kill, len(visible))


def test_client_disconnects_mid_upload(cloud: Cloud, restarted: Walrus, admin_s3: Any) -> None:
    """A client gone after half its Content-Length body: nothing visible, no temp file."""
    walrus = restarted
    bucket = "crash-drop"
    admin_s3.create_bucket(Bucket=bucket)
    admin_s3.put_object(Bucket=bucket, Key="kept", Body=b"v1")
    pid = walrus.proc.pid if walrus.proc is not None else 0
    for key, reset in (("half", False), ("kept", False), ("reset", True)):
        url = admin_s3.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600
        )
        target = url.split(str(walrus.port), 1)[1]
        declared = 8 * MIB
        head = (
            f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1:{walrus.port}\r\n"
            f"Content-Length: {declared}\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode()
        sock = socket.create_connection(("127.0.0.1", walrus.port), timeout=30)
        try:
            sock.sendall(head)
            sock.sendall(os.urandom(declared // 2))
            _wait_for(lambda: _tmp_bytes(walrus, bucket) >= 2 * MIB, 30, "the temp file")
            if reset:  # an abortive close (RST) as well as an orderly one (FIN)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        finally:
            sock.close()
        _wait_for(lambda: not any((walrus.bukkits / bucket / ".tmp").iterdir()), 10, "cleanup")
    assert walrus.proc is not None and walrus.proc.poll() is None
    assert walrus.proc.pid == pid
    assert _absent(admin_s3, bucket, "half")
    assert _absent(admin_s3, bucket, "reset")
    assert admin_s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"v1"
    check_store(walrus, admin_s3)
    admin_s3.put_object(Bucket=bucket, Key="half", Body=b"whole")
    assert admin_s3.get_object(Bucket=bucket, Key="half")["Body"].read() == b"whole"
    log = walrus.log_text()
    assert "Traceback" not in log.split("crash-drop", 1)[-1]


def test_kill_between_multipart_parts(cloud: Cloud, restarted: Walrus, admin_s3: Any) -> None:
    """Two uploads with two parts each, SIGKILL while a third part streams.

    After the restart both uploads are listed with their two parts; one completes
    (with a new third part) into the right bytes, the other aborts and leaves no file.
    """
    walrus = restarted
    bucket = "crash-mpu"
    admin_s3.create_bucket(Bucket=bucket)
    part_data = {n: os.urandom(5 * MIB + n) for n in (1, 2, 3)}
    uploads: dict[str, str] = {}
    for key in ("finish-me", "abort-me"):
        upload_id = admin_s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        uploads[key] = upload_id
        for number in (1, 2):
            admin_s3.upload_part(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=part_data[number],
            )
    url = admin_s3.generate_presigned_url(
        "upload_part",
        Params={
            "Bucket": bucket,
            "Key": "finish-me",
            "UploadId": uploads["finish-me"],
            "PartNumber": 3,
        },
        ExpiresIn=600,
    )
    body = _HeldBody(64 * MIB, 16 * MIB, os.urandom(MIB))
    outcome: list[object] = []
    thread = _stream_put(url, body, outcome)
    _wait_for(lambda: _tmp_bytes(walrus, bucket) > 8 * MIB, 60, "the part's temp file")
    walrus.stop(kill=True)
    body.release.set()
    thread.join(60)
    assert outcome and isinstance(outcome[0], requests.RequestException), outcome

    walrus.start()
    check_store(walrus, admin_s3)
    listed = admin_s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert sorted((u["Key"], u["UploadId"]) for u in listed) == sorted(
        (key, upload_id) for key, upload_id in uploads.items()
    )
    for key, upload_id in uploads.items():
        parts = admin_s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)["Parts"]
        assert [(p["PartNumber"], p["ETag"]) for p in parts] == [
            (n, f'"{_md5(part_data[n])}"') for n in (1, 2)
        ]

    key, upload_id = "finish-me", uploads["finish-me"]
    third = admin_s3.upload_part(
        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=3, Body=part_data[3]
    )
    etags = [f'"{_md5(part_data[n])}"' for n in (1, 2)] + [third["ETag"]]
    admin_s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]},
    )
    whole = part_data[1] + part_data[2] + part_data[3]
    assert _md5(admin_s3.get_object(Bucket=bucket, Key=key)["Body"].read()) == _md5(whole)

    before = {p.name for p in (walrus.bukkits / bucket).iterdir()}
    admin_s3.abort_multipart_upload(Bucket=bucket, Key="abort-me", UploadId=uploads["abort-me"])
    after = {p.name for p in (walrus.bukkits / bucket).iterdir()}
    assert len(before - after) == 2  # the aborted upload's two part files
    assert admin_s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    visible = check_store(walrus, admin_s3)
    assert visible[bucket] == {"finish-me": len(whole)}
    assert sorted(p.name for p in (walrus.bukkits / bucket).iterdir()) == sorted(
        [".tmp", *(name for name, _size in _version_blobs(walrus, bucket, "finish-me"))]
    )


def _version_blobs(walrus: Walrus, bucket: str, key: str) -> list[tuple[str, int]]:
    engine = _engine(walrus)
    try:
        with Session(engine) as session:
            row = session.scalars(
                select(ObjectVersion).where(
                    ObjectVersion.bucket == bucket, ObjectVersion.key == key
                )
            ).one()
            return row.blob_list()
    finally:
        engine.dispose()


def test_checker_sees_damage(cloud: Cloud, restarted: Walrus, admin_s3: Any) -> None:
    """The invariant checker itself: a stray file, a temp file, a missing file fail it."""
    walrus = restarted
    bucket = "crash-checker"
    admin_s3.create_bucket(Bucket=bucket)
    admin_s3.put_object(Bucket=bucket, Key="k", Body=b"content")
    check_store(walrus, admin_s3)
    directory = walrus.bukkits / bucket
    for damage in ("stray", "temp", "missing"):
        [blob] = [p for p in directory.iterdir() if p.name != ".tmp"]
        saved = blob.read_bytes()
        victim: Path
        if damage == "stray":
            victim = directory / ("0" * 32)
            victim.write_bytes(b"x")
        elif damage == "temp":
            victim = directory / ".tmp" / ("1" * 32)
            victim.write_bytes(b"x")
        else:
            victim = blob
            blob.unlink()
        with pytest.raises(AssertionError):
            check_store(walrus)
        if damage == "missing":
            blob.write_bytes(saved)
        else:
            victim.unlink()
        check_store(walrus)
