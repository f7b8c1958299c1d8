"""Bucket operations: list my buckets, create, head, delete, location, list objects.

Names (``walrus.bucketnamesrequirednscompliance`` false, as Walrus shipped): 3 to 255
of ``A-Z a-z 0-9 . _ -``; with DNS compliance required, or for a bucket addressed by
its host name: S3's rules (3 to 63 lower-case letters, digits, dots and hyphens,
letter or digit at both ends, no ``..``, not an IP address).
"""

from __future__ import annotations

import ipaddress
import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eucalyptus.common.errors import AccessDenied
from eucalyptus.common.policy import quota_limit
from eucalyptus.walrus import listing, listing_xml
from eucalyptus.walrus.access import check_access
from eucalyptus.walrus.acl import Acl, choose_acl
from eucalyptus.walrus.errors import (
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidBucketName,
    InvalidLocationConstraint,
    MalformedXML,
    TooManyBuckets,
)
from eucalyptus.walrus.models import Bucket
from eucalyptus.walrus.objects import bucket_is_empty, count_buckets, get_bucket
from eucalyptus.walrus.request import S3Request, s3_response
from eucalyptus.walrus.xmlutil import iso8601, new_root, parse_xml, sub, text, to_bytes

_LEGACY_NAME = re.compile(r"[A-Za-z0-9._-]{3,255}")
_DNS_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
MAX_CONFIG_BODY = 64 * 1024
#: the resource of s3:ListAllMyBuckets, as IAM policies name it
LIST_ALL_MY_BUCKETS_ARN = "arn:aws:s3:::*"


def check_bucket_name(name: str, *, dns: bool) -> None:
    """InvalidBucketName unless ``name`` is allowed (see the module doc)."""
    ok = bool(_LEGACY_NAME.fullmatch(name)) and name not in ("..", "...")
    if ok and dns:
        ok = bool(_DNS_NAME.fullmatch(name)) and ".." not in name
        ok = ok and ".-" not in name and "-." not in name
        try:
            ipaddress.IPv4Address(name)
            ok = False
        except ValueError:
            pass
    if not ok:
        raise InvalidBucketName(BucketName=name)


def bucket_acl(bucket: Bucket) -> Acl:
    return Acl.from_json(bucket.acl)


async def load_bucket(s3req: S3Request) -> Bucket:
    name = s3req.bucket
    return await s3req.ctx.db.run(lambda session: get_bucket(session, name))


# --- service level -----------------------------------------------------------------------


async def list_buckets(s3req: S3Request) -> object:
    """GET /: the caller's own buckets (all of them for the cloud admin's verbose view)."""
    if s3req.requester is None:
        raise AccessDenied("Access Denied")
    account = s3req.requester.principal.account_number
    # an IAM user needs s3:ListAllMyBuckets (an account admin has it, as AWS has it)
    check_access(
        s3req.requester,
        action="s3:ListAllMyBuckets",
        resource_arn=LIST_ALL_MY_BUCKETS_ARN,
        acl=None,
        permission=None,
        owner_account=account,
        conditions=s3req.conditions(),
    )

    def work(session: Session) -> list[Bucket]:
        query = select(Bucket).where(Bucket.owner_account == account).order_by(Bucket.name)
        return list(session.execute(query).scalars())

    buckets = await s3req.ctx.db.run(work)
    root = new_root("ListAllMyBucketsResult")
    owner = sub(root, "Owner")
    sub(owner, "ID", s3req.requester.canonical_id)
    sub(owner, "DisplayName", s3req.requester.display_name)
    listing_el = sub(root, "Buckets")
    for bucket in buckets:
        entry = sub(listing_el, "Bucket")
        sub(entry, "Name", bucket.name)
        sub(entry, "CreationDate", iso8601(bucket.created))
    return s3_response(s3req, to_bytes(root))


# --- create, head, delete ----------------------------------------------------------------


async def create_bucket(s3req: S3Request) -> object:
    """PUT /bucket, with an optional CreateBucketConfiguration and x-amz-acl."""
    if s3req.requester is None:
        raise AccessDenied("Anonymous users cannot create buckets")
    name = s3req.bucket
    ctx = s3req.ctx
    check_bucket_name(name, dns=ctx.limits.bucket_names_require_dns or s3req.route.virtual)
    body = await s3req.body().read_all(MAX_CONFIG_BODY, MalformedXML)
    location = ""
    if body.strip():
        doc = parse_xml(body)
        location = text(doc, "LocationConstraint") or ""
        if len(location) > 64:
            raise InvalidLocationConstraint(LocationConstraint=location)
    requester = s3req.requester
    principal = requester.principal
    s3req.check(
        "s3:CreateBucket", acl=None, permission="WRITE", owner_account=principal.account_number
    )
    acl = choose_acl(
        s3req.headers,
        owner_id=requester.canonical_id,
        owner_name=requester.display_name,
        cloud_id=ctx.cloud_canonical_id,
        cloud_name=ctx.cloud_display_name,
    )
    # walrus.storagemaxbucketsperaccount: 0 or less means no limit; an account quota
    # (s3:quota-bucketnumber, set by the cloud admin) may lower it, even to 0
    quota = quota_limit(principal.account_policies, "s3:quota-bucketnumber")
    configured = ctx.limits.max_buckets_per_account
    limit: int | None = configured if configured > 0 else None
    if quota is not None:
        limit = quota if limit is None else min(limit, quota)

    def work(session: Session) -> None:
        existing = session.get(Bucket, name)
        if existing is not None:
            if existing.owner_account == principal.account_number:
                raise BucketAlreadyOwnedByYou(BucketName=name)
            raise BucketAlreadyExists(BucketName=name)
        limited = limit is not None and not principal.is_cloud_admin
        if limited and count_buckets(session, principal.account_number) >= (limit or 0):
            raise TooManyBuckets(
                f"You have attempted to create more buckets than allowed ({limit})"
            )
        session.add(
            Bucket(
                name=name,
                owner_account=principal.account_number,
                owner_canonical_id=requester.canonical_id,
                owner_display_name=requester.display_name,
                location=location,
                acl=acl.to_json(),
                versioning="",
                size_bytes=0,
            )
        )
        session.flush()

    await ctx.store.create_bucket(name)
    try:
        await ctx.db.run(work)
    except IntegrityError:
        raise BucketAlreadyExists(BucketName=name) from None
    return s3_response(s3req, headers={"Location": f"/{name}"})


async def head_bucket(s3req: S3Request) -> object:
    bucket = await load_bucket(s3req)
    s3req.check(
        "s3:ListBucket",
        acl=bucket_acl(bucket),
        permission="READ",
        owner_account=bucket.owner_account,
    )
    return s3_response(s3req, headers={"x-amz-bucket-region": bucket.location or "eucalyptus"})


async def delete_bucket(s3req: S3Request) -> object:
    bucket = await load_bucket(s3req)
    s3req.check(
        "s3:DeleteBucket", acl=None, permission="FULL_CONTROL", owner_account=bucket.owner_account
    )
    name = bucket.name

    def work(session: Session) -> None:
        row = get_bucket(session, name)
        if not bucket_is_empty(session, name):
            raise BucketNotEmpty(BucketName=name)
        session.delete(row)

    await s3req.ctx.db.run(work)
    await s3req.ctx.store.remove_bucket(name)
    return s3_response(s3req, status=204)


async def get_location(s3req: S3Request) -> object:
    bucket = await load_bucket(s3req)
    s3req.check(
        "s3:GetBucketLocation",
        acl=None,
        permission="FULL_CONTROL",
        owner_account=bucket.owner_account,
    )
    root = new_root("LocationConstraint")
    if bucket.location:
        root.text = bucket.location
    return s3_response(s3req, to_bytes(root))


# --- listing -----------------------------------------------------------------------------


async def list_objects(s3req: S3Request) -> object:
    """GET /bucket (v1) and GET /bucket?list-type=2 (v2)."""
    bucket = await load_bucket(s3req)
    s3req.check(
        "s3:ListBucket",
        acl=bucket_acl(bucket),
        permission="READ",
        owner_account=bucket.owner_account,
    )
    q = s3req.query
    v2 = q.get("list-type") == "2"
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    encoding = listing.check_encoding_type(q.get("encoding-type"))
    max_keys = listing.parse_max_keys(q.get("max-keys"))
    if v2:
        token = q.get("continuation-token")
        start_after = q.get("start-after", "")
        after = listing.read_token(token) if token is not None else start_after
    else:
        token = None
        start_after = q.get("marker", "")
        after = start_after
    name = bucket.name

    def work(session: Session) -> listing.ListPage:
        return listing.list_objects(
            session,
            name,
            prefix=prefix,
            delimiter=delimiter,
            start_after=after,
            max_keys=max_keys,
        )

    page = await s3req.ctx.db.run(work)
    if v2:
        body = listing_xml.list_objects_v2_xml(
            name,
            page,
            prefix=prefix,
            delimiter=delimiter,
            start_after=start_after,
            continuation_token=token,
            max_keys=max_keys,
            encoding_type=encoding,
            fetch_owner=q.get("fetch-owner") == "true",
        )
    else:
        body = listing_xml.list_objects_v1_xml(
            name,
            page,
            prefix=prefix,
            delimiter=delimiter,
            marker=start_after,
            max_keys=max_keys,
            encoding_type=encoding,
        )
    return s3_response(s3req, body)


HANDLERS = {
    ("GET", "service", ""): list_buckets,
    ("PUT", "bucket", ""): create_bucket,
    ("HEAD", "bucket", ""): head_bucket,
    ("DELETE", "bucket", ""): delete_bucket,
    ("GET", "bucket", "location"): get_location,
    ("GET", "bucket", ""): list_objects,
    ("GET", "bucket", "list-v2"): list_objects,
}
