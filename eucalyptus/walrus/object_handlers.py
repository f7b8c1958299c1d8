"""Object operations: PUT (and copy), GET, HEAD, DELETE, and the object ACL."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from eucalyptus.common.errors import AwsError
from eucalyptus.walrus import acl as acls
from eucalyptus.walrus.buckets import bucket_acl, load_bucket
from eucalyptus.walrus.errors import (
    EntityTooLarge,
    InvalidArgument,
    InvalidRequest,
    MalformedACLError,
    MethodNotAllowed,
    NoSuchKey,
    NoSuchVersion,
)
from eucalyptus.walrus.models import NULL_VERSION, Bucket, ObjectVersion
from eucalyptus.walrus.objects import (
    NewObject,
    Owner,
    delete_object,
    find_object,
    put_object,
    set_object_acl,
)
from eucalyptus.walrus.preconditions import (
    check_conditions,
    check_copy_conditions,
    parse_range,
)
from eucalyptus.walrus.request import S3Request, s3_response, stamp
from eucalyptus.walrus.storage import WrittenBlob
from eucalyptus.walrus.xmlutil import http_date, iso8601, new_root, sub, to_bytes

#: headers stored with an object and sent back on GET / HEAD, by canonical spelling
STORED_HEADERS = (
    "Content-Type",
    "Content-Encoding",
    "Content-Disposition",
    "Content-Language",
    "Cache-Control",
    "Expires",
)
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
MAX_METADATA_BYTES = 2048
MAX_ACL_BODY = 256 * 1024
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
MetadataTooLarge = type(
    "MetadataTooLarge",
    (EntityTooLarge,),
    {
        "code": "MetadataTooLarge",
        "default_message": "Your metadata headers exceed the maximum allowed metadata size.",
    },
)


def stored_headers(lower: Mapping[str, str]) -> dict[str, str]:
    """The content headers of a PUT, as stored (``aws-chunked`` is not a real encoding)."""
    found: dict[str, str] = {}
    for name in STORED_HEADERS:
        value = lower.get(name.lower())
        if value is None:
            continue
        if name == "Content-Encoding":
            codings = [c.strip() for c in value.split(",") if c.strip() != "aws-chunked"]
            if not codings:
                continue
            value = ",".join(codings)
        found[name] = value
    found.setdefault("Content-Type", DEFAULT_CONTENT_TYPE)
    return found


def with_request_tags(headers: dict[str, str], lower: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with the tags of an ``x-amz-tagging`` request header, if sent."""
    from eucalyptus.walrus.subresources import tags_from_header, with_tags

    value = lower.get("x-amz-tagging")
    return headers if value is None else with_tags(headers, tags_from_header(value))


def copy_tags(
    headers: dict[str, str], source_headers: Mapping[str, str], lower: Mapping[str, str]
) -> dict[str, str]:
    """A copy's tags: the source's (x-amz-tagging-directive COPY, the default) or the
    request's (REPLACE)."""
    from eucalyptus.walrus.subresources import TAGGING_KEY

    directive = lower.get("x-amz-tagging-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise InvalidArgument(
            "Unknown tagging directive.",
            ArgumentName="x-amz-tagging-directive",
            ArgumentValue=directive,
        )
    result = {name: value for name, value in headers.items() if name != TAGGING_KEY}
    if directive == "REPLACE":
        return with_request_tags(result, lower)
    if TAGGING_KEY in source_headers:
        result[TAGGING_KEY] = source_headers[TAGGING_KEY]
    return result


def user_metadata(lower: Mapping[str, str]) -> dict[str, str]:
    """``x-amz-meta-*`` headers by lower-case name without the prefix; 2 KB at most."""
    found = {
        name[len("x-amz-meta-") :]: value
        for name, value in lower.items()
        if name.startswith("x-amz-meta-")
    }
    size = sum(len(name.encode()) + len(value.encode()) for name, value in found.items())
    if size > MAX_METADATA_BYTES:
        raise MetadataTooLarge(Size=str(size), MaxSizeAllowed=str(MAX_METADATA_BYTES))
    return found


def object_headers(row: ObjectVersion, bucket_versioned: bool) -> dict[str, str]:
    """The headers GET and HEAD answer with (not Content-Length / Content-Range)."""
    from eucalyptus.walrus.subresources import TAGGING_KEY

    headers: dict[str, str] = dict(json.loads(row.headers))
    tags = headers.pop(TAGGING_KEY, None)
    if tags is not None and json.loads(tags):
        headers["x-amz-tagging-count"] = str(len(json.loads(tags)))
    headers["ETag"] = f'"{row.etag}"'
    headers["Last-Modified"] = http_date(row.last_modified)
    headers["Accept-Ranges"] = "bytes"
    for name, value in json.loads(row.metadata_json).items():
        headers[f"x-amz-meta-{name}"] = value
    if bucket_versioned or row.version_id != NULL_VERSION:
        headers["x-amz-version-id"] = row.version_id
    if row.storage_class != "STANDARD":
        headers["x-amz-storage-class"] = row.storage_class
    return headers


async def resolve_emails(s3req: S3Request, acl: acls.Acl) -> acls.Acl:
    """Replace e-mail grantees with the accounts the CLC knows them as."""
    emails = acls.email_grantees(acl)
    if not emails:
        return acl
    mapping: dict[str, tuple[str, str]] = {}
    for email in emails:
        info = await s3req.ctx.identity.account(email=email)
        if info is not None:
            mapping[email] = (info.canonical_id, info.display_name)
    return acls.resolve_emails(acl, mapping)


def choose_object_acl(s3req: S3Request, bucket: Bucket) -> acls.Acl:
    owner = s3req.owner
    return acls.choose_acl(
        s3req.headers,
        owner_id=owner.canonical_id,
        owner_name=owner.display_name,
        bucket_owner_id=bucket.owner_canonical_id,
        bucket_owner_name=bucket.owner_display_name,
        cloud_id=s3req.ctx.cloud_canonical_id,
        cloud_name=s3req.ctx.cloud_display_name,
    )


async def replacement_acl(s3req: S3Request, owner: Owner, bucket: Bucket | None = None) -> acls.Acl:
    """The ACL a ``PUT ?acl`` asks for: an AccessControlPolicy body, or canned / grant
    headers (never both), e-mail grantees resolved. The owner stays ``owner``: a
    document's Owner (often without a DisplayName, as s3cmd sends it) never replaces
    it, and a canned ACL is relative to it; ``bucket`` (for objects) is whom the
    bucket-owner-* ACLs grant."""
    body = await s3req.body().read_all(MAX_ACL_BODY, MalformedACLError)
    header_acl = "x-amz-acl" in s3req.headers or any(
        header in s3req.headers for header, _permission in acls.GRANT_HEADERS
    )
    if body.strip():
        if header_acl:
            raise InvalidRequest("Specifying both Canned ACLs and an ACL document is not allowed")
        grants = acls.parse_acl_xml(body).grants
    else:
        grants = acls.choose_acl(
            s3req.headers,
            owner_id=owner.canonical_id,
            owner_name=owner.display_name,
            bucket_owner_id=None if bucket is None else bucket.owner_canonical_id,
            bucket_owner_name="" if bucket is None else bucket.owner_display_name,
            cloud_id=s3req.ctx.cloud_canonical_id,
            cloud_name=s3req.ctx.cloud_display_name,
        ).grants
    return await resolve_emails(s3req, acls.Acl(owner.canonical_id, owner.display_name, grants))


async def store_object(
    s3req: S3Request,
    bucket: Bucket,
    new_blobs: list[WrittenBlob],
    new: NewObject,
) -> ObjectVersion:
    """Commit ``new`` (whose files are written); on failure the files go again."""
    ctx = s3req.ctx
    name = bucket.name
    try:
        change = await ctx.db.run(
            lambda session: put_object(
                session, name, new, max_bucket_bytes=ctx.limits.max_bucket_bytes
            )
        )
    except BaseException:
        await ctx.store.delete(name, [blob.name for blob in new_blobs])
        raise
    await ctx.store.delete(name, change.obsolete)
    assert change.version is not None
    return change.version


# --- PUT -------------------------------------------------------------------------------


async def put_object_handler(s3req: S3Request) -> web.StreamResponse:
    if "x-amz-copy-source" in s3req.headers:
        return await copy_object(s3req)
    bucket = await load_bucket(s3req)
    s3req.check(
        "s3:PutObject",
        acl=bucket_acl(bucket),
        permission="WRITE",
        owner_account=bucket.owner_account,
        key=s3req.key,
    )
    ctx = s3req.ctx
    body = s3req.body()
    body.require_length(ctx.limits.max_put_bytes)
    headers = with_request_tags(stored_headers(s3req.headers), s3req.headers)
    metadata = user_metadata(s3req.headers)
    acl = await resolve_emails(s3req, choose_object_acl(s3req, bucket))
    blob = await ctx.store.write(
        bucket.name,
        body.chunks(),
        max_size=ctx.limits.max_put_bytes,
        before_commit=lambda written: body.verify(written.md5_hex),
    )
    checksum = (
        None
        if body.checksum is None
        else {"algorithm": body.checksum[0], "value": body.checksum[1]}
    )
    row = await store_object(
        s3req,
        bucket,
        [blob],
        NewObject(
            key=s3req.key,
            blobs=[(blob.name, blob.size)] if blob.size else [],
            size=blob.size,
            etag=blob.md5_hex,
            owner=s3req.owner,
            acl_json=acl.to_json(),
            headers=headers,
            metadata=metadata,
            checksum=checksum,
            storage_class=s3req.headers.get("x-amz-storage-class", "STANDARD"),
        ),
    )
    if not blob.size:
        await ctx.store.delete(bucket.name, [blob.name])
    response_headers = {"ETag": f'"{row.etag}"'}
    if row.version_id != NULL_VERSION:
        response_headers["x-amz-version-id"] = row.version_id
    if body.checksum is not None:
        response_headers[f"x-amz-checksum-{body.checksum[0].lower()}"] = body.checksum[1]
    return s3_response(s3req, headers=response_headers)


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """(bucket, key, version id) of ``x-amz-copy-source``; InvalidArgument if malformed."""
    from urllib.parse import unquote

    source, _, query = value.partition("?")
    version_id = None
    if query:
        name, _, version = query.partition("=")
        if name != "versionId" or not version:
            raise InvalidArgument(
                "Invalid copy source version id", ArgumentName="x-amz-copy-source"
            )
        version_id = version
    path = unquote(source).lstrip("/")
    bucket, slash, key = path.partition("/")
    if not bucket or not slash or not key:
        raise InvalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
            ArgumentValue=value,
        )
    return bucket, key, version_id


async def read_source(s3req: S3Request) -> tuple[ObjectVersion, str]:
    """The source object of a copy, checked readable; also returns its bucket name."""
    src_bucket, src_key, src_version = parse_copy_source(s3req.headers["x-amz-copy-source"])
    row = await s3req.ctx.db.run(
        lambda session: find_object(session, src_bucket, src_key, src_version)
    )
    if row.delete_marker:
        raise InvalidRequest(
            "The source of a copy request may not specifically refer to a delete marker "
            "by version id."
        )
    action = "s3:GetObject" if src_version is None else "s3:GetObjectVersion"
    from eucalyptus.walrus.access import check_access, s3_arn

    check_access(
        s3req.requester,
        action=action,
        resource_arn=s3_arn(src_bucket, src_key),
        acl=acls.Acl.from_json(row.acl) if row.acl else None,
        permission="READ",
        owner_account=row.owner_account,
        conditions=s3req.conditions(),
    )
    return row, src_bucket


async def copy_object(s3req: S3Request) -> web.StreamResponse:
    ctx = s3req.ctx
    bucket = await load_bucket(s3req)
    s3req.check(
        "s3:PutObject",
        acl=bucket_acl(bucket),
        permission="WRITE",
        owner_account=bucket.owner_account,
        key=s3req.key,
    )
    source, src_bucket = await read_source(s3req)
    check_copy_conditions(s3req.headers, source)
    directive = s3req.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise InvalidArgument(
            "Unknown metadata directive.",
            ArgumentName="x-amz-metadata-directive",
            ArgumentValue=directive,
        )
    same = src_bucket == bucket.name and source.key == s3req.key
    storage_class = s3req.headers.get("x-amz-storage-class", source.storage_class)
    if same and directive == "COPY" and storage_class == source.storage_class:
        raise InvalidRequest(
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect "
            "location or encryption attributes."
        )
    source_headers: dict[str, str] = dict(json.loads(source.headers))
    if directive == "REPLACE":
        headers = stored_headers(s3req.headers)
        metadata = user_metadata(s3req.headers)
    else:
        headers = dict(source_headers)
        metadata = dict(json.loads(source.metadata_json))
    headers = copy_tags(headers, source_headers, s3req.headers)
    if source.size > ctx.limits.max_put_bytes:
        raise InvalidRequest(
            "The specified copy source is larger than the maximum allowable size for a copy "
            f"source: {ctx.limits.max_put_bytes}"
        )
    acl = await resolve_emails(s3req, choose_object_acl(s3req, bucket))
    blob = await ctx.store.concatenate(
        bucket.name, [(src_bucket, name) for name, _size in source.blob_list()]
    )
    etag = source.etag if "-" not in source.etag else blob.md5_hex
    row = await store_object(
        s3req,
        bucket,
        [blob],
        NewObject(
            key=s3req.key,
            blobs=[(blob.name, blob.size)] if blob.size else [],
            size=blob.size,
            etag=etag,
            owner=s3req.owner,
            acl_json=acl.to_json(),
            headers=headers,
            metadata=metadata,
            checksum=json.loads(source.checksum) if source.checksum else None,
            storage_class=storage_class,
        ),
    )
    if not blob.size:
        await ctx.store.delete(bucket.name, [blob.name])
    root = new_root("CopyObjectResult")
    sub(root, "LastModified", iso8601(row.last_modified))
    sub(root, "ETag", f'"{row.etag}"')
    response_headers = {}
    if source.version_id != NULL_VERSION:
        response_headers["x-amz-copy-source-version-id"] = source.version_id
    if row.version_id != NULL_VERSION:
        response_headers["x-amz-version-id"] = row.version_id
    return s3_response(s3req, to_bytes(root), headers=response_headers)


# --- GET / HEAD ------------------------------------------------------------------------


async def _readable(s3req: S3Request) -> tuple[Bucket, ObjectVersion]:
    version_id = s3req.query.get("versionId")
    name, key = s3req.bucket, s3req.key

    def work(session: Session) -> tuple[Bucket, ObjectVersion | AwsError]:
        from eucalyptus.walrus.objects import get_bucket

        bucket = get_bucket(session, name)
        try:
            return bucket, find_object(session, name, key, version_id)
        except (NoSuchKey, NoSuchVersion) as missing:
            return bucket, missing  # a normal answer: the transaction must not roll back

    bucket, found = await s3req.ctx.db.run(work)
    if isinstance(found, AwsError):
        # without s3:ListBucket a caller may not learn whether a key exists: 403, as S3
        s3req.check(
            "s3:ListBucket",
            acl=bucket_acl(bucket),
            permission="READ",
            owner_account=bucket.owner_account,
        )
        raise found
    row = found
    action = "s3:GetObject" if version_id is None else "s3:GetObjectVersion"
    s3req.check(
        action,
        acl=acls.Acl.from_json(row.acl) if row.acl else None,
        permission="READ",
        owner_account=row.owner_account,
        key=key,
    )
    if row.delete_marker:
        error = MethodNotAllowed(Method=s3req.http.method, ResourceType="DeleteMarker")
        error.response_headers = {
            "x-amz-delete-marker": "true",
            "x-amz-version-id": row.version_id,
            "Last-Modified": http_date(row.last_modified),
        }
        raise error
    return bucket, row


async def get_object(s3req: S3Request) -> web.StreamResponse:
    bucket, row = await _readable(s3req)
    headers = object_headers(row, bucket.versioning != "")
    check_conditions(s3req.headers, row, headers)
    if s3req.requester is not None:
        for param, header in RESPONSE_OVERRIDES.items():
            if param in s3req.query:
                headers[header] = s3req.query[param]
    byte_range = parse_range(s3req.headers.get("range"), row.size)
    wants_checksum = s3req.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
    if wants_checksum and row.checksum and byte_range is None:
        checksum: dict[str, Any] = json.loads(row.checksum)
        headers[f"x-amz-checksum-{checksum['algorithm'].lower()}"] = checksum["value"]
    status = 200
    start, end = 0, row.size - 1
    if byte_range is not None:
        start, end = byte_range
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{row.size}"
    length = end - start + 1 if row.size else 0
    response = web.StreamResponse(status=status)
    for name, value in headers.items():
        response.headers[name] = value
    response.content_length = length
    stamp(response, s3req.request_id)
    if s3req.http.method == "HEAD":
        await response.prepare(s3req.http)
        return response
    await response.prepare(s3req.http)
    if length:
        async for chunk in s3req.ctx.store.read(bucket.name, row.blob_list(), start, end):
            await response.write(chunk)
    await response.write_eof()
    return response


# --- DELETE ----------------------------------------------------------------------------


async def delete_object_handler(s3req: S3Request) -> web.StreamResponse:
    bucket = await load_bucket(s3req)
    version_id = s3req.query.get("versionId")
    action = "s3:DeleteObject" if version_id is None else "s3:DeleteObjectVersion"
    s3req.check(
        action,
        acl=bucket_acl(bucket),
        permission="WRITE",
        owner_account=bucket.owner_account,
        key=s3req.key,
    )
    owner, name, key = s3req.owner, bucket.name, s3req.key
    change = await s3req.ctx.db.run(
        lambda session: delete_object(session, name, key, version_id, owner)
    )
    await s3req.ctx.store.delete(name, change.obsolete)
    headers: dict[str, str] = {}
    if change.delete_marker:
        headers["x-amz-delete-marker"] = "true"
    if change.version_id is not None and (bucket.versioning or version_id is not None):
        headers["x-amz-version-id"] = change.version_id
    return s3_response(s3req, status=204, headers=headers)


# --- ?acl ------------------------------------------------------------------------------


async def get_object_acl(s3req: S3Request) -> web.StreamResponse:
    version_id = s3req.query.get("versionId")
    name, key = s3req.bucket, s3req.key
    row = await s3req.ctx.db.run(lambda session: find_object(session, name, key, version_id))
    acl = acls.Acl.from_json(row.acl) if row.acl else None
    s3req.check(
        "s3:GetObjectAcl" if version_id is None else "s3:GetObjectVersionAcl",
        acl=acl,
        permission="READ_ACP",
        owner_account=row.owner_account,
        key=key,
    )
    if acl is None:
        raise MethodNotAllowed(Method="GET", ResourceType="DeleteMarker")
    headers = {} if row.version_id == NULL_VERSION else {"x-amz-version-id": row.version_id}
    return s3_response(s3req, acl.to_xml(), headers=headers)


async def put_object_acl(s3req: S3Request) -> web.StreamResponse:
    version_id = s3req.query.get("versionId")
    name, key = s3req.bucket, s3req.key
    row = await s3req.ctx.db.run(lambda session: find_object(session, name, key, version_id))
    current = acls.Acl.from_json(row.acl) if row.acl else None
    s3req.check(
        "s3:PutObjectAcl" if version_id is None else "s3:PutObjectVersionAcl",
        acl=current,
        permission="WRITE_ACP",
        owner_account=row.owner_account,
        key=key,
    )
    bucket = await load_bucket(s3req)
    owner = Owner(row.owner_account, row.owner_canonical_id, row.owner_display_name)
    acl_json = (await replacement_acl(s3req, owner, bucket)).to_json()
    await s3req.ctx.db.run(lambda session: set_object_acl(session, name, key, version_id, acl_json))
    return s3_response(s3req)


HANDLERS = {
    ("PUT", "object", ""): put_object_handler,
    ("GET", "object", ""): get_object,
    ("HEAD", "object", ""): get_object,
    ("DELETE", "object", ""): delete_object_handler,
    ("GET", "object", "acl"): get_object_acl,
    ("PUT", "object", "acl"): put_object_acl,
}
