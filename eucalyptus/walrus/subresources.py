"""Bucket and object sub-resources: acl, versioning, versions, logging, tagging, cors,
lifecycle, policy, and the CORS preflight (``OPTIONS``).

What is enforced and what is only kept:

* ``?acl`` and ``?versioning`` take effect at once (versioning through
  :mod:`eucalyptus.walrus.objects`; suspending keeps every version already stored).
* ``?logging`` is validated (the target bucket must exist and belong to the same
  account) and stored, but Walrus delivers no access logs.
* ``?lifecycle`` is validated and stored; no rule ever runs (nothing expires).
* ``?policy`` is validated as a JSON policy document and stored; access decisions
  stay IAM + ACL (:mod:`eucalyptus.walrus.access`), the bucket policy is not read.
* ``?cors`` rules answer preflight ``OPTIONS`` requests (:func:`cors_preflight`);
  ordinary responses carry no ``Access-Control-*`` headers.
* ``?tagging`` on a bucket is stored in ``Bucket.tagging_xml``; on an object version
  the tags are kept in the row's stored headers under :data:`TAGGING_KEY`, a name
  that is never sent back as an HTTP header.

Configuration bodies are read through :func:`eucalyptus.walrus.xmlutil.parse_xml`
with a 64 KiB limit; ``Content-MD5`` is checked by the body stream. Stored documents
are normalised (S3 namespace, the client's elements in order), so a GET answers in
S3's form whatever namespace the PUT used. Configuration operations are owner-only
(:data:`eucalyptus.walrus.access.PERMISSION_FOR_ACTION` maps them to None): the ACL
is not consulted, only the owner's account (and IAM within it) may.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl

from aiohttp import web
from lxml import etree
from sqlalchemy.orm import Session

from eucalyptus.walrus import acl as acls
from eucalyptus.walrus import listing, listing_xml
from eucalyptus.walrus.buckets import MAX_CONFIG_BODY, bucket_acl, load_bucket
from eucalyptus.walrus.errors import (
    IllegalVersioningConfigurationException,
    InvalidArgument,
    InvalidRequest,
    InvalidTag,
    MalformedXML,
    MethodNotAllowed,
    NoSuchBucketPolicy,
    NoSuchCORSConfiguration,
    NoSuchLifecycleConfiguration,
    NoSuchTagSet,
    S3Error,
)
from eucalyptus.walrus.models import NULL_VERSION, Bucket, ObjectVersion
from eucalyptus.walrus.object_handlers import replacement_acl
from eucalyptus.walrus.objects import Owner, find_object, get_bucket, lock_bucket
from eucalyptus.walrus.pipeline import Handler
from eucalyptus.walrus.request import S3Request, s3_response
from eucalyptus.walrus.xmlutil import (
    S3_NS,
    child,
    children,
    local,
    new_root,
    parse_xml,
    sub,
    text,
    to_bytes,
)

#: a bucket policy may be at most this long (S3's limit)
MAX_POLICY_BYTES = 20 * 1024
MAX_BUCKET_TAGS = 50
MAX_OBJECT_TAGS = 10
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_CORS_RULES = 100
MAX_LIFECYCLE_RULES = 1000
MAX_RULE_ID = 255
#: where an object's tags live in ``ObjectVersion.headers`` (JSON list of [key, value])
TAGGING_KEY = "x-walrus-tagging"
CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
_XSI_TYPE = f"{{{acls.XSI_NS}}}type"
_POSITIVE = re.compile(r"[0-9]{1,10}")

Tags = list[tuple[str, str]]
Column = Literal["logging_xml", "tagging_xml", "cors_xml", "lifecycle_xml", "policy_json"]


class InvalidTargetBucketForLogging(S3Error):
    code = "InvalidTargetBucketForLogging"
    status = 400
    default_message = "The target bucket for logging does not exist"


class MalformedPolicy(S3Error):
    code = "MalformedPolicy"
    status = 400
    default_message = "Policies must be valid JSON and the first byte must be '{'"


class PolicyTooLarge(MalformedPolicy):
    default_message = f"Policies must be less than {MAX_POLICY_BYTES // 1024} KB"


class CorsForbidden(S3Error):
    code = "AccessForbidden"
    status = 403
    default_message = (
        "CORSResponse: This CORS request is not allowed. This is usually because the "
        "evaluation of Origin, request method / Access-Control-Request-Method or "
        "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
    )


class BadRequest(S3Error):
    code = "BadRequest"
    status = 400
    default_message = "Bad Request"


# --- shared helpers --------------------------------------------------------------------


async def _owned_bucket(s3req: S3Request, action: str) -> Bucket:
    """The bucket, once the requester is shown to act for its owner's account."""
    bucket = await load_bucket(s3req)
    s3req.check(action, acl=None, permission="FULL_CONTROL", owner_account=bucket.owner_account)
    return bucket


async def _read_document(s3req: S3Request, root_name: str) -> etree._Element:
    """The request's XML body, whose root must be ``root_name``; MalformedXML otherwise."""
    body = await s3req.body().read_all(MAX_CONFIG_BODY, MalformedXML)
    root = parse_xml(body, limit=MAX_CONFIG_BODY)
    if local(root) != root_name:
        raise MalformedXML()
    return root


async def _store(s3req: S3Request, column: Column, value: str | None) -> None:
    name = s3req.bucket

    def work(session: Session) -> None:
        setattr(get_bucket(session, name), column, value)

    await s3req.ctx.db.run(work)


async def _get_document(
    s3req: S3Request, action: str, column: Column, missing: type[S3Error]
) -> web.StreamResponse:
    bucket = await _owned_bucket(s3req, action)
    value: str | None = getattr(bucket, column)
    if value is None:
        raise missing(BucketName=bucket.name)
    return s3_response(s3req, value.encode("utf-8"))


def _delete_handler(action: str, column: Column) -> Handler:
    async def delete(s3req: S3Request) -> web.StreamResponse:
        await _owned_bucket(s3req, action)
        await _store(s3req, column, None)
        return s3_response(s3req, status=204)

    return delete


def _copy(source: etree._Element, parent: etree._Element | None = None) -> etree._Element:
    """``source`` rebuilt in the S3 namespace (local names, leaf text, ``xsi:type``)."""
    name = local(source)
    kind = source.get(_XSI_TYPE)
    if parent is None:
        element = new_root(name)
    elif kind is not None:
        element = etree.SubElement(parent, f"{{{S3_NS}}}{name}", nsmap={"xsi": acls.XSI_NS})
        element.set(_XSI_TYPE, kind)
    else:
        element = sub(parent, name)
    items = [item for item in source if local(item)]
    for item in items:
        _copy(item, element)
    if not items and source.text is not None:
        element.text = source.text
    return element


def _normalised(root: etree._Element) -> str:
    return to_bytes(_copy(root)).decode("utf-8")


def _required(el: etree._Element, name: str) -> str:
    value = text(el, name)
    if value is None:
        raise MalformedXML(f"The {local(el)} element needs a {name} element.")
    return value


def _positive(value: str, message: str, *, zero: bool = False) -> int:
    stripped = value.strip()
    if not _POSITIVE.fullmatch(stripped) or int(stripped) < (0 if zero else 1):
        raise InvalidArgument(message)
    return int(stripped)


# --- ?acl (bucket) ---------------------------------------------------------------------


async def get_bucket_acl(s3req: S3Request) -> web.StreamResponse:
    bucket = await load_bucket(s3req)
    acl = bucket_acl(bucket)
    s3req.check(
        "s3:GetBucketAcl", acl=acl, permission="READ_ACP", owner_account=bucket.owner_account
    )
    return s3_response(s3req, acl.to_xml())


async def put_bucket_acl(s3req: S3Request) -> web.StreamResponse:
    """A new ACL from a document, ``x-amz-acl`` or ``x-amz-grant-*``; the owner stays."""
    bucket = await load_bucket(s3req)
    s3req.check(
        "s3:PutBucketAcl",
        acl=bucket_acl(bucket),
        permission="WRITE_ACP",
        owner_account=bucket.owner_account,
    )
    owner = Owner(bucket.owner_account, bucket.owner_canonical_id, bucket.owner_display_name)
    acl_json = (await replacement_acl(s3req, owner)).to_json()
    name = bucket.name

    def work(session: Session) -> None:
        get_bucket(session, name).acl = acl_json

    await s3req.ctx.db.run(work)
    return s3_response(s3req)


# --- ?versioning -----------------------------------------------------------------------


async def get_versioning(s3req: S3Request) -> web.StreamResponse:
    bucket = await _owned_bucket(s3req, "s3:GetBucketVersioning")
    root = new_root("VersioningConfiguration")
    if bucket.versioning:
        sub(root, "Status", bucket.versioning)
    return s3_response(s3req, to_bytes(root))


async def put_versioning(s3req: S3Request) -> web.StreamResponse:
    """Enable or suspend versioning (MFA Delete is not supported)."""
    await _owned_bucket(s3req, "s3:PutBucketVersioning")
    root = await _read_document(s3req, "VersioningConfiguration")
    mfa = text(root, "MfaDelete")
    if mfa is not None and mfa.strip() not in ("Enabled", "Disabled"):
        raise MalformedXML()
    if mfa is not None and mfa.strip() == "Enabled":
        raise InvalidArgument(
            "MFA Delete is not supported by Walrus", ArgumentName="MfaDelete", ArgumentValue=mfa
        )
    status = text(root, "Status")
    if status is None:
        if mfa is not None:
            return s3_response(s3req)
        raise IllegalVersioningConfigurationException()
    status = status.strip()
    if status not in ("Enabled", "Suspended"):
        raise MalformedXML()
    name = s3req.bucket

    def work(session: Session) -> None:
        lock_bucket(session, name).versioning = status

    await s3req.ctx.db.run(work)
    return s3_response(s3req)


# --- ?versions -------------------------------------------------------------------------


async def list_versions(s3req: S3Request) -> web.StreamResponse:
    """ListObjectVersions."""
    bucket = await load_bucket(s3req)
    s3req.check(
        "s3:ListBucketVersions",
        acl=bucket_acl(bucket),
        permission="READ",
        owner_account=bucket.owner_account,
    )
    q = s3req.query
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    key_marker = q.get("key-marker", "")
    version_id_marker = q.get("version-id-marker", "")
    encoding = listing.check_encoding_type(q.get("encoding-type"))
    max_keys = listing.parse_max_keys(q.get("max-keys"))
    name = bucket.name

    def work(session: Session) -> listing.VersionPage:
        return listing.list_versions(
            session,
            name,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
            max_keys=max_keys,
        )

    page = await s3req.ctx.db.run(work)
    body = listing_xml.list_versions_xml(
        name,
        page,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        version_id_marker=version_id_marker,
        max_keys=max_keys,
        encoding_type=encoding,
    )
    return s3_response(s3req, body)


# --- ?logging --------------------------------------------------------------------------

_LOG_PERMISSIONS = ("FULL_CONTROL", "READ", "WRITE")


async def get_logging(s3req: S3Request) -> web.StreamResponse:
    bucket = await _owned_bucket(s3req, "s3:GetBucketLogging")
    if bucket.logging_xml is None:
        return s3_response(s3req, to_bytes(new_root("BucketLoggingStatus")))
    return s3_response(s3req, bucket.logging_xml.encode("utf-8"))


async def put_logging(s3req: S3Request) -> web.StreamResponse:
    """Store a BucketLoggingStatus (no logs are delivered); an empty one turns it off."""
    bucket = await _owned_bucket(s3req, "s3:PutBucketLogging")
    root = await _read_document(s3req, "BucketLoggingStatus")
    enabled = child(root, "LoggingEnabled")
    if enabled is None:
        await _store(s3req, "logging_xml", None)
        return s3_response(s3req)
    target = _required(enabled, "TargetBucket").strip()
    _required(enabled, "TargetPrefix")
    grants = child(enabled, "TargetGrants")
    for grant in [] if grants is None else children(grants, "Grant"):
        permission = (text(grant, "Permission") or "").strip()
        if child(grant, "Grantee") is None or permission not in _LOG_PERMISSIONS:
            raise MalformedXML()

    def owner_of_target(session: Session) -> str | None:
        row = session.get(Bucket, target)
        return None if row is None else row.owner_account

    target_owner = await s3req.ctx.db.run(owner_of_target)
    if target_owner is None:
        raise InvalidTargetBucketForLogging(TargetBucket=target)
    if target_owner != bucket.owner_account:
        raise InvalidTargetBucketForLogging(
            "The owner for the bucket to be logged and the target bucket must be the same.",
            TargetBucket=target,
        )
    await _store(s3req, "logging_xml", _normalised(root))
    return s3_response(s3req)


# --- ?tagging --------------------------------------------------------------------------


def check_tags(tags: Sequence[tuple[str, str]], *, max_tags: int) -> None:
    """InvalidTag unless ``tags`` is a valid tag set of at most ``max_tags`` tags."""
    if len(tags) > max_tags:
        raise InvalidTag(f"Tags cannot be more than {max_tags}")
    seen: set[str] = set()
    for key, value in tags:
        if not key or len(key) > MAX_TAG_KEY:
            raise InvalidTag("The TagKey you have provided is invalid", TagKey=key)
        if len(value) > MAX_TAG_VALUE:
            raise InvalidTag("The TagValue you have provided is invalid", TagKey=key)
        if key.lower().startswith("aws:"):
            raise InvalidTag("Your TagKey cannot be prefixed with aws:", TagKey=key)
        if key in seen:
            raise InvalidTag("Cannot provide multiple Tags with the same key", TagKey=key)
        seen.add(key)


def parse_tagging(body: bytes, *, max_tags: int) -> Tags:
    """The tags of a ``Tagging`` document, validated (:func:`check_tags`)."""
    root = parse_xml(body, limit=MAX_CONFIG_BODY)
    tag_set = child(root, "TagSet") if local(root) == "Tagging" else None
    if tag_set is None:
        raise MalformedXML()
    tags = [(_required(tag, "Key"), _required(tag, "Value")) for tag in children(tag_set, "Tag")]
    check_tags(tags, max_tags=max_tags)
    return tags


def tags_from_header(value: str) -> Tags:
    """The tags of an ``x-amz-tagging`` header (or POST field): ``k1=v1&k2=v2``."""
    tags = parse_qsl(value, keep_blank_values=True)
    check_tags(tags, max_tags=MAX_OBJECT_TAGS)
    return tags


def tagging_xml(tags: Sequence[tuple[str, str]]) -> bytes:
    root = new_root("Tagging")
    tag_set = sub(root, "TagSet")
    for key, value in tags:
        tag = sub(tag_set, "Tag")
        sub(tag, "Key", key)
        sub(tag, "Value", value)
    return to_bytes(root)


def object_tags(row: ObjectVersion) -> Tags:
    """The tags stored with an object version ([] when none)."""
    stored = json.loads(row.headers).get(TAGGING_KEY)
    return [] if stored is None else [(str(k), str(v)) for k, v in json.loads(stored)]


def with_tags(headers: dict[str, str], tags: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``headers`` (as stored in a row) with ``tags`` recorded under :data:`TAGGING_KEY`."""
    result = {name: value for name, value in headers.items() if name != TAGGING_KEY}
    if tags:
        result[TAGGING_KEY] = json.dumps([list(tag) for tag in tags])
    return result


async def get_bucket_tagging(s3req: S3Request) -> web.StreamResponse:
    return await _get_document(s3req, "s3:GetBucketTagging", "tagging_xml", NoSuchTagSet)


async def put_bucket_tagging(s3req: S3Request) -> web.StreamResponse:
    await _owned_bucket(s3req, "s3:PutBucketTagging")
    body = await s3req.body().read_all(MAX_CONFIG_BODY, MalformedXML)
    tags = parse_tagging(body, max_tags=MAX_BUCKET_TAGS)
    document = tagging_xml(tags).decode("utf-8") if tags else None
    await _store(s3req, "tagging_xml", document)
    return s3_response(s3req, status=204)


async def _tagged_object(s3req: S3Request, action: str) -> ObjectVersion:
    """The object version a tagging request names, checked as its owner's."""
    version_id = s3req.query.get("versionId")
    name, key = s3req.bucket, s3req.key
    row = await s3req.ctx.db.run(lambda session: find_object(session, name, key, version_id))
    if version_id is not None:
        action = action.replace("Object", "ObjectVersion", 1)
    s3req.check(
        action, acl=None, permission="FULL_CONTROL", owner_account=row.owner_account, key=key
    )
    if row.delete_marker:
        raise MethodNotAllowed(Method=s3req.http.method, ResourceType="DeleteMarker")
    return row


def _version_header(row: ObjectVersion) -> dict[str, str]:
    return {} if row.version_id == NULL_VERSION else {"x-amz-version-id": row.version_id}


async def _set_object_tags(s3req: S3Request, row: ObjectVersion, tags: Tags) -> None:
    row_id = row.id

    def work(session: Session) -> None:
        current = session.get(ObjectVersion, row_id)
        if current is not None:
            current.headers = json.dumps(with_tags(json.loads(current.headers), tags))

    await s3req.ctx.db.run(work)


async def get_object_tagging(s3req: S3Request) -> web.StreamResponse:
    row = await _tagged_object(s3req, "s3:GetObjectTagging")
    return s3_response(s3req, tagging_xml(object_tags(row)), headers=_version_header(row))


async def put_object_tagging(s3req: S3Request) -> web.StreamResponse:
    row = await _tagged_object(s3req, "s3:PutObjectTagging")
    body = await s3req.body().read_all(MAX_CONFIG_BODY, MalformedXML)
    await _set_object_tags(s3req, row, parse_tagging(body, max_tags=MAX_OBJECT_TAGS))
    return s3_response(s3req, headers=_version_header(row))


async def delete_object_tagging(s3req: S3Request) -> web.StreamResponse:
    row = await _tagged_object(s3req, "s3:DeleteObjectTagging")
    await _set_object_tags(s3req, row, [])
    return s3_response(s3req, status=204, headers=_version_header(row))


# --- ?cors -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CorsRule:
    methods: tuple[str, ...]
    origins: tuple[str, ...]
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    max_age: int | None = None
    id: str | None = None

    def allows(self, origin: str, method: str, headers: Sequence[str]) -> bool:
        """Whether a preflight for ``origin``, ``method`` and ``headers`` is allowed."""
        if method not in self.methods:
            return False
        if not any(_wildcard(pattern).fullmatch(origin) for pattern in self.origins):
            return False
        patterns = [_wildcard(item.lower()) for item in self.headers]
        return all(any(p.fullmatch(name) for p in patterns) for name in headers)


def _wildcard(pattern: str) -> re.Pattern[str]:
    """``pattern`` with ``*`` matching any run of characters, as a regex."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def _values(rule: etree._Element, name: str) -> tuple[str, ...]:
    return tuple((item.text or "").strip() for item in children(rule, name))


def parse_cors(root: etree._Element) -> list[CorsRule]:
    """The rules of a ``CORSConfiguration``; MalformedXML / InvalidRequest if invalid."""
    elements = children(root, "CORSRule")
    if not elements:
        raise MalformedXML()
    if len(elements) > MAX_CORS_RULES:
        raise MalformedXML(f"A CORS configuration may have at most {MAX_CORS_RULES} rules.")
    rules = []
    for element in elements:
        methods, origins = _values(element, "AllowedMethod"), _values(element, "AllowedOrigin")
        headers = _values(element, "AllowedHeader")
        if not methods or not origins:
            raise MalformedXML()
        for method in methods:
            if method not in CORS_METHODS:
                raise InvalidRequest(
                    f"Found unsupported HTTP method in CORS config. Unsupported method is {method}"
                )
        for origin in origins:
            if origin.count("*") > 1:
                raise InvalidRequest(
                    f'AllowedOrigin "{origin}" can not have more than one wildcard.'
                )
        for header in headers:
            if header.count("*") > 1:
                raise InvalidRequest(
                    f'AllowedHeader "{header}" can not have more than one wildcard.'
                )
        max_age = text(element, "MaxAgeSeconds")
        rule_id = text(element, "ID")
        if rule_id is not None and len(rule_id) > MAX_RULE_ID:
            raise InvalidArgument(f"ID length should not exceed allowed limit of {MAX_RULE_ID}")
        if max_age is not None and not _POSITIVE.fullmatch(max_age.strip()):
            raise MalformedXML()
        rules.append(
            CorsRule(
                methods=methods,
                origins=origins,
                headers=headers,
                expose=_values(element, "ExposeHeader"),
                max_age=None if max_age is None else int(max_age),
                id=rule_id,
            )
        )
    return rules


async def get_cors(s3req: S3Request) -> web.StreamResponse:
    return await _get_document(s3req, "s3:GetBucketCORS", "cors_xml", NoSuchCORSConfiguration)


async def put_cors(s3req: S3Request) -> web.StreamResponse:
    await _owned_bucket(s3req, "s3:PutBucketCORS")
    root = await _read_document(s3req, "CORSConfiguration")
    parse_cors(root)
    await _store(s3req, "cors_xml", _normalised(root))
    return s3_response(s3req)


async def cors_preflight(s3req: S3Request) -> web.StreamResponse:
    """``OPTIONS`` on a bucket or object: answered by the first matching CORS rule."""
    origin = s3req.headers.get("origin")
    method = s3req.headers.get("access-control-request-method")
    if not origin:
        raise BadRequest("Insufficient information. Origin request header needed.")
    if method not in CORS_METHODS:
        raise BadRequest(f"Invalid Access-Control-Request-Method: {method}")
    requested = [
        name.strip().lower()
        for name in s3req.headers.get("access-control-request-headers", "").split(",")
        if name.strip()
    ]
    bucket = await load_bucket(s3req)
    if bucket.cors_xml is None:
        raise CorsForbidden("CORSResponse: CORS is not enabled for this bucket.")
    rules = parse_cors(parse_xml(bucket.cors_xml.encode("utf-8")))
    for rule in rules:
        if rule.allows(origin, method, requested):
            return s3_response(s3req, headers=_cors_headers(rule, origin, requested))
    raise CorsForbidden()


def _cors_headers(rule: CorsRule, origin: str, requested: Sequence[str]) -> dict[str, str]:
    headers = {
        "Access-Control-Allow-Origin": "*" if "*" in rule.origins else origin,
        "Access-Control-Allow-Methods": ", ".join(rule.methods),
        "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }
    if "*" not in rule.origins:
        headers["Access-Control-Allow-Credentials"] = "true"
    if requested:
        headers["Access-Control-Allow-Headers"] = ", ".join(requested)
    if rule.expose:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose)
    if rule.max_age is not None:
        headers["Access-Control-Max-Age"] = str(rule.max_age)
    return headers


# --- ?lifecycle ------------------------------------------------------------------------

_FILTER_PARTS = ("Prefix", "Tag", "And", "ObjectSizeGreaterThan", "ObjectSizeLessThan")


def _check_filter(rule: etree._Element) -> None:
    prefix, found = child(rule, "Prefix"), child(rule, "Filter")
    if (prefix is None) == (found is None):
        raise MalformedXML("A lifecycle rule needs exactly one of Prefix and Filter.")
    if found is None:
        return
    parts = [item for item in found if local(item)]
    if len(parts) > 1 or any(local(item) not in _FILTER_PARTS for item in parts):
        raise MalformedXML()
    for tag in children(found, "Tag") + [
        tag for group in children(found, "And") for tag in children(group, "Tag")
    ]:
        _required(tag, "Key")
        _required(tag, "Value")


def _check_expiration(element: etree._Element) -> None:
    given = [
        name
        for name in ("Days", "Date", "ExpiredObjectDeleteMarker")
        if child(element, name) is not None
    ]
    if len(given) != 1:
        raise MalformedXML()
    value = _required(element, given[0]).strip()
    if given[0] == "Days":
        _positive(value, "'Days' for Expiration action must be a positive integer")
    elif given[0] == "Date":
        _check_midnight(value)
    elif value not in ("true", "false"):
        raise MalformedXML()


def _check_midnight(value: str) -> None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(
            "Invalid date in lifecycle configuration", ArgumentValue=value
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        raise InvalidArgument("'Date' must be at midnight GMT")


def _check_transition(element: etree._Element) -> None:
    _required(element, "StorageClass")
    days, date = text(element, "Days"), text(element, "Date")
    if (days is None) == (date is None):
        raise MalformedXML()
    if days is not None:
        _positive(days, "'Days' for Transition action must be a non-negative integer", zero=True)
    if date is not None:
        _check_midnight(date.strip())


def _days_action(field: str) -> Callable[[etree._Element], None]:
    def check(element: etree._Element) -> None:
        _positive(_required(element, field), f"'{field}' must be a positive integer")

    return check


_ACTIONS: dict[str, Callable[[etree._Element], None]] = {
    "Expiration": _check_expiration,
    "NoncurrentVersionExpiration": _days_action("NoncurrentDays"),
    "AbortIncompleteMultipartUpload": _days_action("DaysAfterInitiation"),
    "Transition": _check_transition,
    "NoncurrentVersionTransition": _days_action("NoncurrentDays"),
}


def check_lifecycle(root: etree._Element) -> None:
    """Validate a ``LifecycleConfiguration``: MalformedXML / InvalidArgument / InvalidRequest."""
    rules = children(root, "Rule")
    if not rules:
        raise MalformedXML()
    if len(rules) > MAX_LIFECYCLE_RULES:
        raise MalformedXML(
            f"A lifecycle configuration may have at most {MAX_LIFECYCLE_RULES} rules."
        )
    ids: set[str] = set()
    for rule in rules:
        rule_id = text(rule, "ID")
        if rule_id is not None:
            if len(rule_id) > MAX_RULE_ID:
                raise InvalidArgument(f"ID length should not exceed allowed limit of {MAX_RULE_ID}")
            if rule_id in ids:
                raise InvalidArgument(
                    "Rule ID must be unique. Found same ID for more than one rule"
                )
            ids.add(rule_id)
        if _required(rule, "Status").strip() not in ("Enabled", "Disabled"):
            raise MalformedXML()
        _check_filter(rule)
        actions = [item for item in rule if local(item) in _ACTIONS]
        if not actions:
            raise InvalidRequest("At least one action needs to be specified in a rule")
        for action in actions:
            _ACTIONS[local(action)](action)


async def get_lifecycle(s3req: S3Request) -> web.StreamResponse:
    return await _get_document(
        s3req, "s3:GetLifecycleConfiguration", "lifecycle_xml", NoSuchLifecycleConfiguration
    )


async def put_lifecycle(s3req: S3Request) -> web.StreamResponse:
    await _owned_bucket(s3req, "s3:PutLifecycleConfiguration")
    root = await _read_document(s3req, "LifecycleConfiguration")
    check_lifecycle(root)
    await _store(s3req, "lifecycle_xml", _normalised(root))
    return s3_response(s3req)


# --- ?policy ---------------------------------------------------------------------------


def check_bucket_policy(body: bytes) -> None:
    """MalformedPolicy unless ``body`` is a JSON policy document with statements."""
    try:
        document: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedPolicy() from None
    if not isinstance(document, dict):
        raise MalformedPolicy()
    version = document.get("Version")
    if version is not None and version not in ("2012-10-17", "2008-10-17"):
        raise MalformedPolicy(f"Invalid policy version: {version}")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise MalformedPolicy("Missing required field Statement")
    for statement in statements:
        if not isinstance(statement, dict):
            raise MalformedPolicy("Statement is not a JSON object")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise MalformedPolicy(f"Invalid effect: {statement.get('Effect')}")
        for one, other in (("Principal", "NotPrincipal"), ("Action", "NotAction")):
            if one not in statement and other not in statement:
                raise MalformedPolicy(f"Missing required field {one}")
        if "Resource" not in statement and "NotResource" not in statement:
            raise MalformedPolicy("Policy has invalid resource")


async def get_policy(s3req: S3Request) -> web.StreamResponse:
    bucket = await _owned_bucket(s3req, "s3:GetBucketPolicy")
    if bucket.policy_json is None:
        raise NoSuchBucketPolicy(BucketName=bucket.name)
    return s3_response(s3req, bucket.policy_json.encode("utf-8"), content_type="application/json")


async def put_policy(s3req: S3Request) -> web.StreamResponse:
    await _owned_bucket(s3req, "s3:PutBucketPolicy")
    body = await s3req.body().read_all(MAX_POLICY_BYTES, PolicyTooLarge)
    check_bucket_policy(body)
    await _store(s3req, "policy_json", body.decode("utf-8"))
    return s3_response(s3req, status=204)


HANDLERS: dict[tuple[str, str, str], Handler] = {
    ("GET", "bucket", "acl"): get_bucket_acl,
    ("PUT", "bucket", "acl"): put_bucket_acl,
    ("GET", "bucket", "versioning"): get_versioning,
    ("PUT", "bucket", "versioning"): put_versioning,
    ("GET", "bucket", "versions"): list_versions,
    ("GET", "bucket", "logging"): get_logging,
    ("PUT", "bucket", "logging"): put_logging,
    ("GET", "bucket", "tagging"): get_bucket_tagging,
    ("PUT", "bucket", "tagging"): put_bucket_tagging,
    ("DELETE", "bucket", "tagging"): _delete_handler("s3:PutBucketTagging", "tagging_xml"),
    ("GET", "object", "tagging"): get_object_tagging,
    ("PUT", "object", "tagging"): put_object_tagging,
    ("DELETE", "object", "tagging"): delete_object_tagging,
    ("GET", "bucket", "cors"): get_cors,
    ("PUT", "bucket", "cors"): put_cors,
    ("DELETE", "bucket", "cors"): _delete_handler("s3:PutBucketCORS", "cors_xml"),
    ("OPTIONS", "bucket", ""): cors_preflight,
    ("OPTIONS", "object", ""): cors_preflight,
    ("GET", "bucket", "lifecycle"): get_lifecycle,
    ("PUT", "bucket", "lifecycle"): put_lifecycle,
    ("DELETE", "bucket", "lifecycle"): _delete_handler(
        "s3:PutLifecycleConfiguration", "lifecycle_xml"
    ),
    ("GET", "bucket", "policy"): get_policy,
    ("PUT", "bucket", "policy"): put_policy,
    ("DELETE", "bucket", "policy"): _delete_handler("s3:DeleteBucketPolicy", "policy_json"),
}
