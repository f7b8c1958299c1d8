"""Multipart uploads and DeleteObjects, in-process: a real database and bukkits directory,
the S3 pipeline (every Walrus handler) on a local port, and boto3 signing the requests."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import threading
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from botocore.exceptions import ClientError

from eucalyptus.clc.identity.principal import Principal
from eucalyptus.common.config import EucaConf
from eucalyptus.common.db import Database, sqlite_url
from eucalyptus.common.errors import InvalidClientTokenId
from eucalyptus.common.paths import EucaPaths
from eucalyptus.common.policy import parse_policy
from eucalyptus.walrus import multipart
from eucalyptus.walrus.app import handler_table, remove_orphans
from eucalyptus.walrus.context import WalrusContext, WalrusLimits
from eucalyptus.walrus.errors import NoSuchUpload
from eucalyptus.walrus.migrations import MIGRATIONS
from eucalyptus.walrus.models import Bucket, Part, Upload
from eucalyptus.walrus.pipeline import S3Pipeline
from eucalyptus.walrus.storage import BlobStore
from tests.support import s3_client

MIN_PART = 1024
OWNER_NUMBER = "111111111111"
ADMIN_KEY, ADMIN_SECRET = "AKIAALICEADMIN000001", "alice-admin-secret"
LIMITED_KEY, LIMITED_SECRET = "AKIAALICELIMITED0001", "alice-limited-secret"


def _principal(user: str, key: str, policies: tuple[Any, ...] = ()) -> Principal:
    return Principal(
        account_id=int(OWNER_NUMBER),
        account_number=OWNER_NUMBER,
        account_name="alice",
        user_id=1 if user == "admin" else 2,
        user_name=user,
        user_path="/",
        user_unique_id="AIDA" + user.upper().ljust(17, "X"),
        access_key_id=key,
        policies=policies,
    )


#: an IAM user of the owner's account that may delete only keys under "allowed/"
LIMITED_POLICY = parse_policy(
    json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:DeleteObject",
                    "Resource": "arn:aws:s3:::*/allowed/*",
                },
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
            ],
        }
    )
)


class FakeIdentity:
    """Two users of one account; no e-mail grantees."""

    def __init__(self) -> None:
        self.users = {
            ADMIN_KEY: (ADMIN_SECRET, _principal("admin", ADMIN_KEY)),
            LIMITED_KEY: (LIMITED_SECRET, _principal("limited", LIMITED_KEY, (LIMITED_POLICY,))),
        }

    async def resolve(self, access_key_id: str) -> tuple[str, Principal]:
        if access_key_id not in self.users:
            raise InvalidClientTokenId("unknown key")
        return self.users[access_key_id]

    async def account(self, **_kwargs: str) -> None:
        return None


@dataclass
class Server:
    ctx: WalrusContext
    url: str
    bukkits: Path
    loop: asyncio.AbstractEventLoop

    def client(self, key: str = ADMIN_KEY, secret: str = ADMIN_SECRET) -> Any:
        return s3_client(self.url, (key, secret))

    def files(self, bucket: str) -> set[str]:
        """The data files of ``bucket`` (temp files excluded)."""
        return {p.name for p in (self.bukkits / bucket).iterdir() if p.is_file()}

    def bucket_row(self, name: str) -> Bucket:
        row = self.ctx.db.run_sync(lambda session: session.get(Bucket, name))
        assert row is not None
        return row

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("walrus")
    db = Database(sqlite_url(root / "db", "walrus"), "walrus")
    db.migrate(MIGRATIONS)
    store = BlobStore(root / "bukkits")
    store.root.mkdir()
    ctx = WalrusContext(
        paths=EucaPaths(root),
        conf=EucaConf({}),
        db=db,
        store=store,
        identity=FakeIdentity(),  # type: ignore[arg-type]
        limits=WalrusLimits(min_part_bytes=MIN_PART),
    )
    pipeline = S3Pipeline(ctx, handler_table())  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def no_continue(_request: web.Request) -> None:
        return None

    async def start() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", pipeline.handle, expect_handler=no_continue)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["runner"] = runner
        holder["port"] = runner.addresses[0][1]

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    running = Server(ctx, f"http://127.0.0.1:{holder['port']}", store.root, loop)
    try:
        yield running
    finally:
        running.run(holder["runner"].cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        store.close()
        db.close()


@pytest.fixture
def s3(server: Server) -> Any:
    return server.client()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"mp-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def upload_parts(s3: Any, bucket: str, key: str, upload_id: str, parts: list[bytes]) -> list[dict]:
    listed = []
    for number, data in enumerate(parts, start=1):
        answer = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        listed.append({"PartNumber": number, "ETag": answer["ETag"]})
    return listed


def expected_etag(parts: list[bytes]) -> str:
    digests = b"".join(hashlib.md5(data).digest() for data in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


# --- the whole cycle -------------------------------------------------------------------


def test_full_upload_etag_bytes_and_ranges(server: Server, s3: Any, bucket: str) -> None:
    parts = [os.urandom(2000), os.urandom(3000), os.urandom(500)]
    created = s3.create_multipart_upload(
        Bucket=bucket, Key="big/file.bin", ContentType="text/plain", Metadata={"color": "blue"}
    )
    upload_id = created["UploadId"]
    assert created["Bucket"] == bucket and created["Key"] == "big/file.bin"
    assert all(c.isalnum() or c in "-_" for c in upload_id)
    listed = upload_parts(s3, bucket, "big/file.bin", upload_id, parts)
    assert [p["ETag"] for p in listed] == [f'"{hashlib.md5(d).hexdigest()}"' for d in parts]
    assert len(server.files(bucket)) == 3
    assert server.bucket_row(bucket).size_bytes == 5500

    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="big/file.bin",
        UploadId=upload_id,
        MultipartUpload={"Parts": listed},
    )
    assert done["ETag"] == expected_etag(parts)
    assert done["Key"] == "big/file.bin" and done["Bucket"] == bucket
    assert done["Location"].endswith(f"/{bucket}/big/file.bin")
    assert "VersionId" not in done
    # no data moved: the object is the three part files
    assert len(server.files(bucket)) == 3
    assert server.bucket_row(bucket).size_bytes == 5500
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    whole = b"".join(parts)
    got = s3.get_object(Bucket=bucket, Key="big/file.bin")
    assert got["Body"].read() == whole
    assert got["ETag"] == expected_etag(parts)
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"color": "blue"}
    for first, last in [(1990, 2010), (1999, 2000), (4990, 5100), (0, 5499), (2000, 4999)]:
        ranged = s3.get_object(Bucket=bucket, Key="big/file.bin", Range=f"bytes={first}-{last}")
        assert ranged["Body"].read() == whole[first : min(last, 5499) + 1]
    suffix = s3.get_object(Bucket=bucket, Key="big/file.bin", Range="bytes=-600")
    assert suffix["Body"].read() == whole[-600:]
    head = s3.head_object(Bucket=bucket, Key="big/file.bin")
    assert head["ContentLength"] == 5500

    s3.delete_object(Bucket=bucket, Key="big/file.bin")
    assert server.files(bucket) == set()
    assert server.bucket_row(bucket).size_bytes == 0


def test_single_empty_part(server: Server, s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="empty")["UploadId"]
    listed = upload_parts(s3, bucket, "empty", upload_id, [b""])
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="empty", UploadId=upload_id, MultipartUpload={"Parts": listed}
    )
    assert done["ETag"] == expected_etag([b""])
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""
    assert server.files(bucket) == set()


def test_complete_replaces_existing_object(server: Server, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 700)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    listed = upload_parts(s3, bucket, "k", upload_id, [b"a" * MIN_PART, b"b" * 10])
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": listed}
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"a" * MIN_PART + b"b" * 10
    assert len(server.files(bucket)) == 2
    assert server.bucket_row(bucket).size_bytes == MIN_PART + 10


def test_part_replaced_by_reupload(server: Server, s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    upload_parts(s3, bucket, "k", upload_id, [b"1" * 1500, b"2" * 1500])
    before = server.files(bucket)
    again = s3.upload_part(
        Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"3" * 1200
    )
    after = server.files(bucket)
    assert len(after) == 2 and len(before & after) == 1
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [
        (1, 1200, again["ETag"]),
        (2, 1500, f'"{hashlib.md5(b"2" * 1500).hexdigest()}"'),
    ]
    assert server.bucket_row(bucket).size_bytes == 2700
    listed = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": listed}
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"3" * 1200 + b"2" * 1500


def test_unlisted_parts_are_removed(server: Server, s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    listed = upload_parts(s3, bucket, "k", upload_id, [b"a" * 1100, b"b" * 1100, b"c" * 5])
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": [listed[0], listed[2]]},
    )
    assert len(server.files(bucket)) == 2
    assert server.bucket_row(bucket).size_bytes == 1105
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"a" * 1100 + b"c" * 5


# --- refusals --------------------------------------------------------------------------


def test_invalid_part_order(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    listed = upload_parts(s3, bucket, "k", upload_id, [b"a" * MIN_PART, b"b" * MIN_PART])
    for order in ([listed[1], listed[0]], [listed[0], listed[0]]):
        with pytest.raises(ClientError) as exc:
            s3.complete_multipart_upload(
                Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": order}
            )
        assert error_code(exc) == "InvalidPartOrder"


def test_invalid_part(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    listed = upload_parts(s3, bucket, "k", upload_id, [b"a" * MIN_PART, b"b" * 10])
    wrong_etag = [listed[0], {"PartNumber": 2, "ETag": '"' + "0" * 32 + '"'}]
    missing = [listed[0], {"PartNumber": 3, "ETag": listed[1]["ETag"]}]
    for parts in (wrong_etag, missing):
        with pytest.raises(ClientError) as exc:
            s3.complete_multipart_upload(
                Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        assert error_code(exc) == "InvalidPart"
    # ETags without quotes are fine, and the upload is still there after the refusals
    unquoted = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"].strip('"')} for p in listed]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": unquoted}
    )


def test_entity_too_small(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    listed = upload_parts(s3, bucket, "k", upload_id, [b"a" * (MIN_PART - 1), b"b" * MIN_PART])
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": listed}
        )
    assert error_code(exc) == "EntityTooSmall"
    # a lone small part is a whole object
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": listed[:1]}
    )


def test_malformed_complete_documents(server: Server, s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    upload_parts(s3, bucket, "k", upload_id, [b"a"])
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": []}
        )
    assert error_code(exc) == "MalformedXML"
    for document in (
        b"junk",
        b"<CompleteMultipartUpload/>",
        b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload>"
        + b"<Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>" * 10001
        + b"</CompleteMultipartUpload>",
    ):
        with pytest.raises(Exception) as caught:
            multipart.parse_complete(document, 10000)
        assert type(caught.value).__name__ == "MalformedXML"


def test_bad_part_numbers(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    for number in (0, 10001):
        with pytest.raises(ClientError) as exc:
            s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=number, Body=b"x")
        assert error_code(exc) == "InvalidArgument"


def test_bad_content_md5_leaves_nothing(server: Server, s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=1,
            Body=b"x" * 100,
            ContentMD5=wrong,
        )
    assert error_code(exc) == "BadDigest"
    assert server.files(bucket) == set()
    assert not any((server.bukkits / bucket / ".tmp").iterdir())
    assert server.bucket_row(bucket).size_bytes == 0


def test_no_such_upload(server: Server, s3: Any, bucket: str) -> None:
    aborted = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    upload_parts(s3, bucket, "k", aborted, [b"a"])
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=aborted)
    completed = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    listed = upload_parts(s3, bucket, "k", completed, [b"b"])
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=completed, MultipartUpload={"Parts": listed}
    )
    other_key = s3.create_multipart_upload(Bucket=bucket, Key="other")["UploadId"]
    for key, upload_id in [("k", aborted), ("k", completed), ("k", other_key), ("k", "nope")]:
        target = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
        calls: list[tuple[str, dict[str, Any]]] = [
            ("upload_part", {"PartNumber": 1, "Body": b"x"}),
            ("list_parts", {}),
            ("complete_multipart_upload", {"MultipartUpload": {"Parts": listed}}),
            ("abort_multipart_upload", {}),
        ]
        for method, extra in calls:
            with pytest.raises(ClientError) as exc:
                getattr(s3, method)(**target, **extra)
            assert error_code(exc) == "NoSuchUpload"
    # refused parts left no files: the completed object's file only
    assert len(server.files(bucket)) == 1


def test_part_finishing_after_abort_is_refused(server: Server, s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    store = server.ctx.store

    async def late_part() -> None:
        async def chunks() -> Any:
            yield b"late data"

        blob = await store.write(bucket, chunks())
        assert blob.name in server.files(bucket)
        new = multipart.NewPart(upload_id, bucket, "k", 1, blob, None)
        with pytest.raises(NoSuchUpload):
            await multipart.store_part(server.ctx, new)

    server.run(late_part())
    assert server.files(bucket) == set()
    assert server.bucket_row(bucket).size_bytes == 0


# --- listings ----------------------------------------------------------------------------


def test_list_parts_paging(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    upload_parts(s3, bucket, "k", upload_id, [bytes([n]) * (n + 1) for n in range(5)])
    seen: list[int] = []
    marker = 0
    pages = 0
    while True:
        page = s3.list_parts(
            Bucket=bucket, Key="k", UploadId=upload_id, MaxParts=2, PartNumberMarker=marker
        )
        pages += 1
        seen += [p["PartNumber"] for p in page.get("Parts", [])]
        assert page["UploadId"] == upload_id and page["Key"] == "k"
        if not page["IsTruncated"]:
            break
        marker = page["NextPartNumberMarker"]
    assert seen == [1, 2, 3, 4, 5] and pages == 3
    sizes = [p["Size"] for p in s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]]
    assert sizes == [1, 2, 3, 4, 5]


def test_list_multipart_uploads(s3: Any, bucket: str) -> None:
    ids = {}
    for key in ("a/1", "a/2", "b", "c"):
        ids[key] = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    second_b = s3.create_multipart_upload(Bucket=bucket, Key="b")["UploadId"]
    everything = s3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in everything["Uploads"]] == [
        ("a/1", ids["a/1"]),
        ("a/2", ids["a/2"]),
        ("b", ids["b"]),
        ("b", second_b),
        ("c", ids["c"]),
    ]
    folded = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in folded["CommonPrefixes"]] == ["a/"]
    assert [u["Key"] for u in folded["Uploads"]] == ["b", "b", "c"]
    prefixed = s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")
    assert [u["Key"] for u in prefixed["Uploads"]] == ["a/1", "a/2"]
    listed: list[str] = []
    kwargs: dict[str, str] = {}
    while True:
        page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2, **kwargs)
        listed += [u["UploadId"] for u in page.get("Uploads", [])]
        if not page["IsTruncated"]:
            break
        kwargs = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}
    assert listed == [ids["a/1"], ids["a/2"], ids["b"], second_b, ids["c"]]


# --- UploadPartCopy ------------------------------------------------------------------------


def test_upload_part_copy_with_range(server: Server, s3: Any, bucket: str) -> None:
    source = os.urandom(3000)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="copy")["UploadId"]
    first = s3.upload_part_copy(
        Bucket=bucket,
        Key="copy",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "source"},
        CopySourceRange="bytes=10-2009",
    )
    assert first["CopyPartResult"]["ETag"] == f'"{hashlib.md5(source[10:2010]).hexdigest()}"'
    second = s3.upload_part_copy(
        Bucket=bucket,
        Key="copy",
        UploadId=upload_id,
        PartNumber=2,
        CopySource={"Bucket": bucket, "Key": "source"},
    )
    for bad in ("bytes=0-3000", "bytes=5", "bytes=20-10", "items=0-1"):
        with pytest.raises(ClientError) as exc:
            s3.upload_part_copy(
                Bucket=bucket,
                Key="copy",
                UploadId=upload_id,
                PartNumber=3,
                CopySource={"Bucket": bucket, "Key": "source"},
                CopySourceRange=bad,
            )
        assert error_code(exc) == "InvalidArgument"
    with pytest.raises(ClientError) as exc:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="copy",
            UploadId=upload_id,
            PartNumber=3,
            CopySource={"Bucket": bucket, "Key": "missing"},
        )
    assert error_code(exc) == "NoSuchKey"
    listed = [
        {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]},
    ]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="copy", UploadId=upload_id, MultipartUpload={"Parts": listed}
    )
    got = s3.get_object(Bucket=bucket, Key="copy")["Body"].read()
    assert got == source[10:2010] + source
    assert server.bucket_row(bucket).size_bytes == 3000 + 2000 + 3000


# --- abort -------------------------------------------------------------------------------


def test_abort_removes_files(server: Server, s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    upload_parts(s3, bucket, "k", upload_id, [b"a" * 1500, b"b" * 1500, b"c"])
    assert len(server.files(bucket)) == 3
    assert server.bucket_row(bucket).size_bytes == 3001
    answer = s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert server.files(bucket) == set()
    assert server.bucket_row(bucket).size_bytes == 0

    def rows(session: Any) -> tuple[int, int]:
        uploads = session.query(Upload).filter(Upload.bucket == bucket).count()
        parts = session.query(Part).filter(Part.bucket == bucket).count()
        return uploads, parts

    assert server.ctx.db.run_sync(rows) == (0, 0)
    s3.delete_bucket(Bucket=bucket)


def test_bucket_with_upload_is_not_empty(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert error_code(exc) == "BucketNotEmpty"
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    s3.delete_bucket(Bucket=bucket)


def test_bucket_size_limit_counts_parts(server: Server, s3: Any, bucket: str) -> None:
    original = server.ctx.limits
    server.ctx.limits = replace(original, max_bucket_size_mb=1)
    try:
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
        upload_parts(s3, bucket, "k", upload_id, [b"a" * 600_000])
        with pytest.raises(ClientError) as exc:
            s3.upload_part(
                Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Body=b"b" * 600_000
            )
        assert error_code(exc) == "EntityTooLarge"
        assert len(server.files(bucket)) == 1
        # replacing a part frees its bytes first
        s3.upload_part(
            Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"c" * 900_000
        )
        assert server.bucket_row(bucket).size_bytes == 900_000
        parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": parts[0]["ETag"]}]},
        )
        assert server.bucket_row(bucket).size_bytes == 900_000
    finally:
        server.ctx.limits = original


# --- checksums ------------------------------------------------------------------------------


def test_composite_crc32_checksum(s3: Any, bucket: str) -> None:
    parts = [b"a" * MIN_PART, b"b" * MIN_PART, b"c" * 7]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32")[
        "UploadId"
    ]
    listed = []
    for number, data in enumerate(parts, start=1):
        answer = s3.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="CRC32",
        )
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        assert answer["ChecksumCRC32"] == crc
        listed.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC32": crc})
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": listed}
    )
    combined = b"".join(zlib.crc32(data).to_bytes(4, "big") for data in parts)
    expected = base64.b64encode(zlib.crc32(combined).to_bytes(4, "big")).decode()
    assert done["ChecksumCRC32"] == f"{expected}-3"


# --- DeleteObjects ---------------------------------------------------------------------------


def test_delete_objects_verbose_and_quiet(server: Server, s3: Any, bucket: str) -> None:
    for key in ("a", "b", "c", "d"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode() * 100)
    answer = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "missing"}]}
    )
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["a", "b", "missing"]
    assert "Errors" not in answer
    quiet = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "c"}, {"Key": "d"}], "Quiet": True}
    )
    assert "Deleted" not in quiet and "Errors" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert server.files(bucket) == set()
    assert server.bucket_row(bucket).size_bytes == 0


def test_delete_objects_per_key_errors(server: Server, s3: Any, bucket: str) -> None:
    for key in ("allowed/1", "allowed/2", "secret"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    limited = server.client(LIMITED_KEY, LIMITED_SECRET)
    objects = [{"Key": "allowed/1"}, {"Key": "secret"}, {"Key": "allowed/2"}]
    for quiet in (False, True):
        answer = limited.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": quiet})
        errors = answer["Errors"]
        assert [(e["Key"], e["Code"]) for e in errors] == [("secret", "AccessDenied")]
        assert errors[0]["Message"]
        if quiet:
            assert "Deleted" not in answer
        else:
            assert [d["Key"] for d in answer["Deleted"]] == ["allowed/1", "allowed/2"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["secret"]
    unversioned = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "secret", "VersionId": "not-a-version"}]}
    )
    assert [e["Code"] for e in unversioned["Errors"]] == ["InvalidArgument"]


def test_delete_objects_versioned(server: Server, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"two!")["VersionId"]
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})
    (deleted,) = answer["Deleted"]
    assert deleted["Key"] == "k" and deleted["DeleteMarker"] is True
    marker = deleted["DeleteMarkerVersionId"]
    assert marker not in (first, second)
    assert server.bucket_row(bucket).size_bytes == 7
    answer = s3.delete_objects(
        Bucket=bucket,
        Delete={
            "Objects": [
                {"Key": "k", "VersionId": first},
                {"Key": "k", "VersionId": marker},
                {"Key": "k", "VersionId": second},
            ]
        },
    )
    by_version = {d["VersionId"]: d for d in answer["Deleted"]}
    assert set(by_version) == {first, second, marker}
    assert by_version[marker]["DeleteMarker"] is True
    assert by_version[marker]["DeleteMarkerVersionId"] == marker
    assert "DeleteMarker" not in by_version[first]
    assert s3.list_object_versions(Bucket=bucket).get("Versions", []) == []
    assert s3.list_object_versions(Bucket=bucket).get("DeleteMarkers", []) == []
    assert server.files(bucket) == set()
    assert server.bucket_row(bucket).size_bytes == 0


def test_delete_objects_needs_an_integrity_header(server: Server, bucket: str) -> None:
    client = server.client()

    def strip(request: Any, **_kwargs: Any) -> None:
        for name in list(request.headers.keys()):
            lower = name.lower()
            if lower == "content-md5" or lower.startswith(("x-amz-checksum-", "x-amz-sdk-")):
                del request.headers[name]

    client.meta.events.register("before-sign.s3.DeleteObjects", strip)
    with pytest.raises(ClientError) as exc:
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})
    assert error_code(exc) == "InvalidRequest"


def test_delete_objects_malformed(server: Server, bucket: str) -> None:
    for document in (
        b"<Delete></Delete>",
        b"<Delete><Object><VersionId>1</VersionId></Object></Delete>",
        b"<Other><Object><Key>k</Key></Object></Other>",
        b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>",
    ):
        with pytest.raises(Exception) as caught:
            multipart.parse_delete(document)
        assert type(caught.value).__name__ == "MalformedXML"
    targets, quiet = multipart.parse_delete(
        b"<Delete><Quiet>true</Quiet><Object><Key> spaced </Key></Object></Delete>"
    )
    assert quiet and targets == [multipart.DeleteTarget(" spaced ")]


def test_multipart_etag() -> None:
    md5s = [hashlib.md5(b"x").hexdigest(), hashlib.md5(b"y").hexdigest()]
    assert multipart.multipart_etag(md5s) == expected_etag([b"x", b"y"]).strip('"')


def test_orphan_scan_keeps_part_files(server: Server, s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    upload_parts(s3, bucket, "k", upload_id, [b"a" * 1500, b"b"])
    parts = server.files(bucket)
    stray = server.bukkits / bucket / ("f" * 32)
    stray.write_bytes(b"left by a crash")
    assert remove_orphans(server.ctx.db, server.ctx.store) == 1
    assert server.files(bucket) == parts
    listed = [
        {"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
        for p in s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    ]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": listed}
    )
    assert remove_orphans(server.ctx.db, server.ctx.store) == 0
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"a" * 1500 + b"b"
