"""Multipart uploads (create, upload part, copy part, list, complete, abort) and DeleteObjects.

A part is a file of its own under ``bukkits/<bucket>/`` named by a :class:`Part` row.
Completing an upload moves no data: the new object version lists the part files in
order (``ObjectVersion.blobs``), and the Upload and Part rows go in the same
transaction that adds the version.

Files are only ever removed after the commit that made them unreachable (a replaced
part, the parts an upload's completion leaves out, an aborted upload's parts); a crash
in between leaves orphans, which start-up removes (``app.remove_orphans`` counts the
files Part rows name as referenced). A part that finishes streaming after its upload
was completed or aborted is refused (NoSuchUpload) and its file removed.

Size accounting: ``Bucket.size_bytes`` counts every object version and every stored
part. A part adds its size when stored (minus the part it replaces); completion
subtracts every part of the upload and then stores the object, which adds the listed
parts back as the object's size.

S3's multipart ETag is the hex MD5 of the concatenated binary MD5s of the listed
parts, then ``-`` and the number of parts (:func:`multipart_etag`).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from eucalyptus.common.db import utcnow
from eucalyptus.common.errors import AwsError
from eucalyptus.walrus import listing, listing_xml
from eucalyptus.walrus.buckets import bucket_acl, load_bucket
from eucalyptus.walrus.checksums import Checksummer, normalize_algorithm
from eucalyptus.walrus.context import WalrusContext
from eucalyptus.walrus.errors import (
    EntityTooLarge,
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    KeyTooLongError,
    MalformedXML,
    NoSuchKey,
    NoSuchUpload,
    s3_code,
)
from eucalyptus.walrus.models import NULL_VERSION, Bucket, ObjectVersion, Part, Upload
from eucalyptus.walrus.object_handlers import (
    choose_object_acl,
    read_source,
    resolve_emails,
    stored_headers,
    user_metadata,
    with_request_tags,
)
from eucalyptus.walrus.objects import (
    Change,
    NewObject,
    Owner,
    delete_object,
    lock_bucket,
    put_object,
)
from eucalyptus.walrus.preconditions import check_copy_conditions
from eucalyptus.walrus.request import S3Request, s3_response
from eucalyptus.walrus.routing import MAX_KEY_BYTES
from eucalyptus.walrus.storage import WrittenBlob
from eucalyptus.walrus.xmlutil import (
    child,
    children,
    iso8601,
    local,
    new_root,
    parse_xml,
    sub,
    text,
    to_bytes,
)

Handler = Callable[[S3Request], Awaitable[web.StreamResponse]]

#: the largest CompleteMultipartUpload document read (10000 parts with checksums fit)
MAX_COMPLETE_BODY = 4 * 1024 * 1024
#: the largest DeleteObjects document read (1000 keys of 1024 bytes, escaped, fit)
MAX_DELETE_BODY = 8 * 1024 * 1024
#: S3's limit on keys in one DeleteObjects request
MAX_DELETE_KEYS = 1000

_DIGITS = re.compile(r"[0-9]{1,10}")
_COPY_RANGE = re.compile(r"bytes=([0-9]{1,20})-([0-9]{1,20})")
#: checksums S3 combines into a "checksum of checksums" for a multipart object
_COMPOSITE_ALGORITHMS = frozenset({"CRC32", "CRC32C", "SHA1", "SHA256"})


def new_upload_id() -> str:
    """An opaque upload id: URL-safe base64 characters only (no escaping needed)."""
    return secrets.token_urlsafe(36)


def multipart_etag(part_md5s: list[str]) -> str:
    """S3's ETag of a multipart object: MD5 of the parts' binary MD5s, ``-``, the count."""
    digest = hashlib.md5(b"".join(bytes.fromhex(md5) for md5 in part_md5s))  # noqa: S324
    return f"{digest.hexdigest()}-{len(part_md5s)}"


def _same_etag(given: str, stored: str) -> bool:
    return given.strip().strip('"').lower() == stored.lower()


def _checksum_json(checksum: tuple[str, str] | None) -> str | None:
    if checksum is None:
        return None
    return json.dumps({"algorithm": checksum[0], "value": checksum[1]})


def _find_upload(session: Session, bucket: str, key: str, upload_id: str) -> Upload:
    """The upload ``upload_id`` of ``bucket``/``key``; NoSuchUpload otherwise."""
    upload = session.get(Upload, upload_id)
    if upload is None or upload.bucket != bucket or upload.key != key:
        raise NoSuchUpload(UploadId=upload_id)
    return upload


def _upload_parts(session: Session, upload_id: str) -> list[Part]:
    return list(
        session.execute(
            select(Part).where(Part.upload_id == upload_id).order_by(Part.part_number)
        ).scalars()
    )


def _check_bucket_room(bucket: Bucket, adding: int, max_bucket_bytes: int) -> None:
    if max_bucket_bytes > 0 and bucket.size_bytes + adding > max_bucket_bytes:
        raise EntityTooLarge(
            f"Storing this part would take bucket {bucket.name} past its limit of "
            f"{max_bucket_bytes // (1024 * 1024)} MB (walrus.storagemaxbucketsizeinmb)"
        )


def _check_writable(s3req: S3Request, bucket: Bucket, action: str = "s3:PutObject") -> None:
    s3req.check(
        action,
        acl=bucket_acl(bucket),
        permission="WRITE",
        owner_account=bucket.owner_account,
        key=s3req.key,
    )


def _upload_id(s3req: S3Request) -> str:
    return s3req.query.get("uploadId", "")


# --- CreateMultipartUpload ---------------------------------------------------------------


async def create_upload(s3req: S3Request) -> web.StreamResponse:
    """POST /bucket/key?uploads: remember the object's headers, metadata and ACL."""
    bucket = await load_bucket(s3req)
    _check_writable(s3req, bucket)
    headers = with_request_tags(stored_headers(s3req.headers), s3req.headers)
    metadata = user_metadata(s3req.headers)
    acl = await resolve_emails(s3req, choose_object_acl(s3req, bucket))
    raw_algorithm = s3req.headers.get("x-amz-checksum-algorithm")
    algorithm = None if raw_algorithm is None else normalize_algorithm(raw_algorithm)
    owner = s3req.owner
    initiator = "" if s3req.requester is None else s3req.requester.principal.arn
    upload = Upload(
        upload_id=new_upload_id(),
        bucket=bucket.name,
        key=s3req.key,
        initiated=utcnow(),
        owner_account=owner.account,
        owner_canonical_id=owner.canonical_id,
        owner_display_name=owner.display_name,
        initiator_arn=initiator,
        headers=json.dumps(headers),
        metadata_json=json.dumps(metadata),
        acl=acl.to_json(),
        checksum_algorithm=algorithm,
        storage_class=s3req.headers.get("x-amz-storage-class", "STANDARD"),
    )

    def work(session: Session) -> None:
        lock_bucket(session, upload.bucket)
        session.add(upload)

    await s3req.ctx.db.run(work)
    root = new_root("InitiateMultipartUploadResult")
    sub(root, "Bucket", bucket.name)
    sub(root, "Key", s3req.key)
    sub(root, "UploadId", upload.upload_id)
    response_headers = {} if algorithm is None else {"x-amz-checksum-algorithm": algorithm}
    return s3_response(s3req, to_bytes(root), headers=response_headers)


# --- UploadPart / UploadPartCopy ---------------------------------------------------------


def _part_number(s3req: S3Request) -> int:
    raw = s3req.query.get("partNumber")
    limit = s3req.ctx.limits.max_parts
    if raw is None or not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= limit:
        raise InvalidArgument(
            f"Part number must be an integer between 1 and {limit}, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=raw or "",
        )
    return int(raw)


@dataclass(frozen=True)
class NewPart:
    """A part whose file is written: what :func:`store_part` records."""

    upload_id: str
    bucket: str
    key: str
    number: int
    blob: WrittenBlob
    checksum_json: str | None


async def store_part(ctx: WalrusContext, new: NewPart) -> Part:
    """Commit the written part (replacing the part of that number); else remove its file.

    NoSuchUpload when the upload is gone (completed or aborted while the part streamed).
    """
    max_bucket_bytes = ctx.limits.max_bucket_bytes

    def work(session: Session) -> tuple[Part, list[str]]:
        bucket = lock_bucket(session, new.bucket)
        _find_upload(session, new.bucket, new.key, new.upload_id)
        obsolete: list[str] = []
        previous = session.get(Part, (new.upload_id, new.number))
        if previous is not None:
            obsolete.append(previous.blob)
            bucket.size_bytes = max(0, bucket.size_bytes - previous.size)
            session.delete(previous)
            session.flush()
        _check_bucket_room(bucket, new.blob.size, max_bucket_bytes)
        part = Part(
            upload_id=new.upload_id,
            part_number=new.number,
            bucket=new.bucket,
            blob=new.blob.name,
            size=new.blob.size,
            etag=new.blob.md5_hex,
            last_modified=utcnow(),
            checksum=new.checksum_json,
        )
        session.add(part)
        bucket.size_bytes += new.blob.size
        session.flush()
        return part, obsolete

    try:
        part, obsolete = await ctx.db.run(work)
    except BaseException:
        await ctx.store.delete(new.bucket, [new.blob.name])
        raise
    await ctx.store.delete(new.bucket, obsolete)
    return part


async def upload_part(s3req: S3Request) -> web.StreamResponse:
    """PUT /bucket/key?partNumber=N&uploadId=U: the body becomes part N."""
    number = _part_number(s3req)
    if "x-amz-copy-source" in s3req.headers:
        return await _copy_part(s3req, number)
    ctx = s3req.ctx
    bucket = await load_bucket(s3req)
    _check_writable(s3req, bucket)
    upload_id, name, key = _upload_id(s3req), bucket.name, s3req.key
    upload = await ctx.db.run(lambda session: _find_upload(session, name, key, upload_id))
    body = s3req.body()
    body.require_length(ctx.limits.max_part_bytes)
    blob = await ctx.store.write(
        name,
        body.chunks(),
        max_size=ctx.limits.max_part_bytes,
        before_commit=lambda written: body.verify(written.md5_hex),
    )
    checksum = body.checksum
    expected = upload.checksum_algorithm
    if expected is not None and checksum is not None and checksum[0] != expected:
        await ctx.store.delete(name, [blob.name])
        raise InvalidRequest(
            f"Checksum Type mismatch occurred, expected checksum Type: {expected.lower()}, "
            f"actual checksum Type: {checksum[0].lower()}"
        )
    part = await store_part(
        ctx, NewPart(upload_id, name, key, number, blob, _checksum_json(checksum))
    )
    response_headers = {"ETag": f'"{part.etag}"'}
    if checksum is not None:
        response_headers[f"x-amz-checksum-{checksum[0].lower()}"] = checksum[1]
    return s3_response(s3req, headers=response_headers)


def parse_copy_range(value: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of ``x-amz-copy-source-range``; None: the whole source.

    InvalidArgument when malformed or not inside a source of ``size`` bytes.
    """
    if value is None:
        return None
    match = _COPY_RANGE.fullmatch(value.strip())
    if match is None:
        raise InvalidArgument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where "
            "first and last are the zero-based offsets of the first and last bytes to copy",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=value,
        )
    first, last = int(match.group(1)), int(match.group(2))
    if first > last or last >= size:
        raise InvalidArgument(
            f"Range specified is not valid for source object of size: {size}",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=value,
        )
    return first, last


async def _copy_part(s3req: S3Request, number: int) -> web.StreamResponse:
    """UploadPartCopy: part ``number`` is (a byte range of) an existing object."""
    ctx = s3req.ctx
    bucket = await load_bucket(s3req)
    _check_writable(s3req, bucket)
    upload_id, name, key = _upload_id(s3req), bucket.name, s3req.key
    await ctx.db.run(lambda session: _find_upload(session, name, key, upload_id))
    source, src_bucket = await read_source(s3req)
    check_copy_conditions(s3req.headers, source)
    byte_range = parse_copy_range(s3req.headers.get("x-amz-copy-source-range"), source.size)
    first, last = byte_range if byte_range is not None else (0, source.size - 1)
    length = last - first + 1
    if length > ctx.limits.max_part_bytes:
        raise EntityTooLarge(
            ProposedSize=str(length), MaxSizeAllowed=str(ctx.limits.max_part_bytes)
        )
    blob = await _copy_bytes(s3req, source, src_bucket, name, first, last)
    part = await store_part(ctx, NewPart(upload_id, name, key, number, blob, None))
    root = new_root("CopyPartResult")
    sub(root, "LastModified", iso8601(part.last_modified))
    sub(root, "ETag", f'"{part.etag}"')
    response_headers = {}
    if source.version_id != NULL_VERSION:
        response_headers["x-amz-copy-source-version-id"] = source.version_id
    return s3_response(s3req, to_bytes(root), headers=response_headers)


async def _copy_bytes(
    s3req: S3Request, source: ObjectVersion, src_bucket: str, bucket: str, first: int, last: int
) -> WrittenBlob:
    """A new file of ``bucket`` with bytes ``first``..``last`` of ``source``."""
    store = s3req.ctx.store
    length = last - first + 1

    async def chunks() -> AsyncIterator[bytes]:
        if length <= 0:
            return
        async for chunk in store.read(src_bucket, source.blob_list(), first, last):
            yield chunk

    def complete(written: WrittenBlob) -> None:
        if written.size != length:  # the source went away while being read
            raise NoSuchKey(Key=source.key)

    try:
        return await store.write(bucket, chunks(), before_commit=complete)
    except FileNotFoundError:
        raise NoSuchKey(Key=source.key) from None


# --- ListParts -----------------------------------------------------------------------------


async def list_parts(s3req: S3Request) -> web.StreamResponse:
    """GET /bucket/key?uploadId=U: the upload's parts, by part number, a page at a time."""
    bucket = await load_bucket(s3req)
    _check_writable(s3req, bucket, "s3:ListMultipartUploadParts")
    q = s3req.query
    max_parts = listing.parse_max_keys(q.get("max-parts"), name="max-parts")
    marker = listing.parse_part_number_marker(q.get("part-number-marker"))
    upload_id, name, key = _upload_id(s3req), bucket.name, s3req.key

    def work(session: Session) -> listing.PartPage:
        _find_upload(session, name, key, upload_id)
        return listing.list_parts(
            session, upload_id, part_number_marker=marker, max_parts=max_parts
        )

    page = await s3req.ctx.db.run(work)
    body = listing_xml.list_parts_xml(name, page, part_number_marker=marker, max_parts=max_parts)
    return s3_response(s3req, body)


# --- CompleteMultipartUpload ---------------------------------------------------------------


@dataclass(frozen=True)
class ListedPart:
    """One ``<Part>`` of a CompleteMultipartUpload document."""

    number: int
    etag: str
    #: (algorithm, base64 value) when the client sent the part's checksum
    checksum: tuple[str, str] | None = None


def parse_complete(body: bytes, max_parts: int) -> list[ListedPart]:
    """The parts a CompleteMultipartUpload document lists, in the order given.

    MalformedXML for anything but a non-empty list of at most ``max_parts`` parts, each
    with a decimal PartNumber and an ETag; InvalidPartOrder unless strictly ascending.
    """
    root = parse_xml(body, limit=MAX_COMPLETE_BODY)
    if local(root) != "CompleteMultipartUpload":
        raise MalformedXML()
    elements = children(root, "Part")
    if not elements or len(elements) > max_parts:
        raise MalformedXML()
    listed: list[ListedPart] = []
    for element in elements:
        number_text = (text(element, "PartNumber") or "").strip()
        etag = text(element, "ETag")
        if not _DIGITS.fullmatch(number_text) or etag is None:
            raise MalformedXML()
        checksum = None
        for name in ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"):
            value = text(element, f"Checksum{name}")
            if value is not None:
                checksum = (name, value.strip())
                break
        listed.append(ListedPart(int(number_text), etag, checksum))
    for previous, current in itertools.pairwise(listed):
        if current.number <= previous.number:
            raise InvalidPartOrder()
    return listed


def _composite_checksum(algorithm: str | None, parts: list[Part]) -> dict[str, str] | None:
    """S3's checksum of checksums (``<base64>-<count>``) when every part has one."""
    if algorithm is None or algorithm not in _COMPOSITE_ALGORITHMS:
        return None
    combined = Checksummer(algorithm)
    for part in parts:
        if part.checksum is None:
            return None
        stored = json.loads(part.checksum)
        if stored.get("algorithm") != algorithm:
            return None
        combined.update(base64.b64decode(stored["value"]))
    return {"algorithm": algorithm, "value": f"{combined.b64digest()}-{len(parts)}"}


def _chosen_parts(
    upload_id: str, listed: list[ListedPart], stored: dict[int, Part], min_part_bytes: int
) -> list[Part]:
    """The stored parts the list names; InvalidPart / EntityTooSmall as S3 answers."""
    chosen: list[Part] = []
    for index, item in enumerate(listed):
        part = stored.get(item.number)
        if part is None or not _same_etag(item.etag, part.etag):
            raise InvalidPart(UploadId=upload_id, PartNumber=str(item.number), ETag=item.etag)
        if item.checksum is not None and part.checksum is not None:
            mine = json.loads(part.checksum)
            if (mine.get("algorithm"), mine.get("value")) != item.checksum:
                raise InvalidPart(UploadId=upload_id, PartNumber=str(item.number), ETag=item.etag)
        if index < len(listed) - 1 and part.size < min_part_bytes:
            raise EntityTooSmall(
                ProposedSize=str(part.size),
                MinSizeAllowed=str(min_part_bytes),
                PartNumber=str(item.number),
                ETag=f'"{part.etag}"',
            )
        chosen.append(part)
    return chosen


def _complete(
    session: Session,
    *,
    bucket_name: str,
    key: str,
    upload_id: str,
    listed: list[ListedPart],
    min_part_bytes: int,
    max_bucket_bytes: int,
) -> Change:
    """One transaction: the Upload and Part rows go, the object version comes.

    The returned change's ``obsolete`` lists the files to remove after the commit: the
    parts left out (and empty ones) and whatever the new version replaced.
    """
    bucket = lock_bucket(session, bucket_name)
    upload = _find_upload(session, bucket_name, key, upload_id)
    parts = _upload_parts(session, upload_id)
    chosen = _chosen_parts(upload_id, listed, {p.part_number: p for p in parts}, min_part_bytes)
    chosen_blobs = {part.blob for part in chosen if part.size > 0}
    obsolete = [part.blob for part in parts if part.blob not in chosen_blobs]
    new = NewObject(
        key=key,
        blobs=[(part.blob, part.size) for part in chosen if part.size > 0],
        size=sum(part.size for part in chosen),
        etag=multipart_etag([part.etag for part in chosen]),
        owner=Owner(upload.owner_account, upload.owner_canonical_id, upload.owner_display_name),
        acl_json=upload.acl,
        headers=json.loads(upload.headers),
        metadata=json.loads(upload.metadata_json),
        checksum=_composite_checksum(upload.checksum_algorithm, chosen),
        storage_class=upload.storage_class,
    )
    # every part leaves the bucket's count; put_object adds the listed ones back as the object
    bucket.size_bytes = max(0, bucket.size_bytes - sum(part.size for part in parts))
    for part in parts:
        session.delete(part)
    session.flush()
    session.delete(upload)
    session.flush()
    change = put_object(session, bucket_name, new, max_bucket_bytes=max_bucket_bytes)
    return Change(
        version=change.version,
        obsolete=obsolete + change.obsolete,
        version_id=change.version_id,
    )


def _location(s3req: S3Request) -> str:
    http = s3req.http
    path = quote(s3req.key, safe="/~")
    if s3req.route.virtual:
        return f"{http.scheme}://{http.host}/{path}"
    return f"{http.scheme}://{http.host}{s3req.route.prefix}/{s3req.bucket}/{path}"


async def complete_upload(s3req: S3Request) -> web.StreamResponse:
    """POST /bucket/key?uploadId=U: the listed parts, in order, become the object."""
    ctx = s3req.ctx
    bucket = await load_bucket(s3req)
    _check_writable(s3req, bucket)
    body = await s3req.body().read_all(MAX_COMPLETE_BODY, MalformedXML)
    listed = parse_complete(body, ctx.limits.max_parts)
    upload_id, name, key = _upload_id(s3req), bucket.name, s3req.key
    change = await ctx.db.run(
        lambda session: _complete(
            session,
            bucket_name=name,
            key=key,
            upload_id=upload_id,
            listed=listed,
            min_part_bytes=ctx.limits.min_part_bytes,
            max_bucket_bytes=ctx.limits.max_bucket_bytes,
        )
    )
    await ctx.store.delete(name, change.obsolete)
    row = change.version
    assert row is not None
    root = new_root("CompleteMultipartUploadResult")
    sub(root, "Location", _location(s3req))
    sub(root, "Bucket", name)
    sub(root, "Key", key)
    sub(root, "ETag", f'"{row.etag}"')
    response_headers: dict[str, str] = {}
    if row.checksum is not None:
        checksum = json.loads(row.checksum)
        sub(root, f"Checksum{checksum['algorithm']}", checksum["value"])
    if row.version_id != NULL_VERSION:
        response_headers["x-amz-version-id"] = row.version_id
    return s3_response(s3req, to_bytes(root), headers=response_headers)


# --- AbortMultipartUpload ------------------------------------------------------------------


async def abort_upload(s3req: S3Request) -> web.StreamResponse:
    """DELETE /bucket/key?uploadId=U: the rows go, then the part files."""
    ctx = s3req.ctx
    bucket = await load_bucket(s3req)
    _check_writable(s3req, bucket, "s3:AbortMultipartUpload")
    upload_id, name, key = _upload_id(s3req), bucket.name, s3req.key

    def work(session: Session) -> list[str]:
        locked = lock_bucket(session, name)
        upload = _find_upload(session, name, key, upload_id)
        parts = _upload_parts(session, upload_id)
        locked.size_bytes = max(0, locked.size_bytes - sum(part.size for part in parts))
        for part in parts:
            session.delete(part)
        session.flush()
        session.delete(upload)
        return [part.blob for part in parts]

    obsolete = await ctx.db.run(work)
    await ctx.store.delete(name, obsolete)
    return s3_response(s3req, status=204)


# --- ListMultipartUploads ------------------------------------------------------------------


async def list_uploads(s3req: S3Request) -> web.StreamResponse:
    """GET /bucket?uploads: uploads in progress, by key then initiation."""
    bucket = await load_bucket(s3req)
    s3req.check(
        "s3:ListBucketMultipartUploads",
        acl=bucket_acl(bucket),
        permission="READ",
        owner_account=bucket.owner_account,
    )
    q = s3req.query
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    key_marker = q.get("key-marker", "")
    upload_id_marker = q.get("upload-id-marker", "")
    encoding = listing.check_encoding_type(q.get("encoding-type"))
    max_uploads = listing.parse_max_keys(q.get("max-uploads"), name="max-uploads")
    name = bucket.name

    def work(session: Session) -> listing.UploadPage:
        return listing.list_uploads(
            session,
            name,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        )

    page = await s3req.ctx.db.run(work)
    body = listing_xml.list_uploads_xml(
        name,
        page,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        upload_id_marker=upload_id_marker,
        max_uploads=max_uploads,
        encoding_type=encoding,
    )
    return s3_response(s3req, body)


# --- DeleteObjects -------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteTarget:
    """One ``<Object>`` of a DeleteObjects document."""

    key: str
    version_id: str | None = None


def parse_delete(body: bytes) -> tuple[list[DeleteTarget], bool]:
    """The objects a ``<Delete>`` document names, and whether it asks for quiet mode.

    MalformedXML for another document, no objects, more than 1000, or an object
    without a Key.
    """
    root = parse_xml(body, limit=MAX_DELETE_BODY)
    if local(root) != "Delete":
        raise MalformedXML()
    quiet = (text(root, "Quiet") or "").strip().lower() == "true"
    elements = children(root, "Object")
    if not elements or len(elements) > MAX_DELETE_KEYS:
        raise MalformedXML()
    targets: list[DeleteTarget] = []
    for element in elements:
        key_element = child(element, "Key")
        if key_element is None or not key_element.text:
            raise MalformedXML()
        targets.append(DeleteTarget(key_element.text, text(element, "VersionId")))
    return targets, quiet


def _has_integrity_header(lower: Mapping[str, str]) -> bool:
    """Whether the request carries Content-MD5 or an ``x-amz-checksum-*`` (S3 requires one)."""
    if "content-md5" in lower or "x-amz-sdk-checksum-algorithm" in lower:
        return True
    if "x-amz-trailer" in lower:
        return True
    return any(
        name.startswith("x-amz-checksum-")
        and name not in ("x-amz-checksum-algorithm", "x-amz-checksum-type", "x-amz-checksum-mode")
        for name in lower
    )


@dataclass
class _Outcome:
    target: DeleteTarget
    change: Change | None = None
    error: AwsError | None = None


def _delete_all(
    session: Session, bucket: str, outcomes: list[_Outcome], owner: Owner
) -> list[_Outcome]:
    """Delete every target not already refused, in one transaction.

    :func:`objects.delete_object` raises its errors (an invalid version id) before it
    changes anything, so a refused key leaves the transaction clean for the others.
    """
    for outcome in outcomes:
        if outcome.error is not None:
            continue
        target = outcome.target
        try:
            outcome.change = delete_object(session, bucket, target.key, target.version_id, owner)
        except AwsError as exc:
            outcome.error = exc
    return outcomes


def _deleted_entry(root: etree._Element, outcome: _Outcome) -> None:
    change, target = outcome.change, outcome.target
    assert change is not None
    entry = sub(root, "Deleted")
    sub(entry, "Key", target.key)
    if target.version_id is not None:
        sub(entry, "VersionId", target.version_id)
    if change.delete_marker:
        sub(entry, "DeleteMarker", "true")
        marker_id = target.version_id if target.version_id is not None else change.version_id
        if marker_id is not None:
            sub(entry, "DeleteMarkerVersionId", marker_id)


async def delete_objects(s3req: S3Request) -> web.StreamResponse:
    """POST /bucket?delete: up to 1000 keys (or versions); a key's failure is an <Error>."""
    ctx = s3req.ctx
    bucket = await load_bucket(s3req)
    if not _has_integrity_header(s3req.headers):
        raise InvalidRequest("Missing required header for this request: Content-MD5")
    body = await s3req.body().read_all(MAX_DELETE_BODY, MalformedXML)
    targets, quiet = parse_delete(body)
    outcomes = [_Outcome(target) for target in targets]
    for outcome in outcomes:
        target = outcome.target
        action = "s3:DeleteObject" if target.version_id is None else "s3:DeleteObjectVersion"
        try:
            if len(target.key.encode("utf-8")) > MAX_KEY_BYTES:
                raise KeyTooLongError()
            s3req.check(
                action,
                acl=bucket_acl(bucket),
                permission="WRITE",
                owner_account=bucket.owner_account,
                key=target.key,
            )
        except AwsError as exc:
            outcome.error = exc
    owner, name = s3req.owner, bucket.name
    if any(outcome.error is None for outcome in outcomes):
        outcomes = await ctx.db.run(lambda session: _delete_all(session, name, outcomes, owner))
    obsolete = [
        blob
        for outcome in outcomes
        if outcome.change is not None
        for blob in outcome.change.obsolete
    ]
    await ctx.store.delete(name, obsolete)
    root = new_root("DeleteResult")
    for outcome in outcomes:
        if outcome.error is None:
            if not quiet:
                _deleted_entry(root, outcome)
            continue
        code, _status = s3_code(outcome.error)
        entry = sub(root, "Error")
        sub(entry, "Key", outcome.target.key)
        if outcome.target.version_id is not None:
            sub(entry, "VersionId", outcome.target.version_id)
        sub(entry, "Code", code)
        sub(entry, "Message", outcome.error.message)
    return s3_response(s3req, to_bytes(root))


HANDLERS: dict[tuple[str, str, str], Handler] = {
    ("POST", "object", "uploads"): create_upload,
    ("PUT", "object", "uploadId"): upload_part,
    ("GET", "object", "uploadId"): list_parts,
    ("POST", "object", "uploadId"): complete_upload,
    ("DELETE", "object", "uploadId"): abort_upload,
    ("GET", "bucket", "uploads"): list_uploads,
    ("POST", "bucket", "delete"): delete_objects,
}
