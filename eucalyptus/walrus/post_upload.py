"""Browser-based uploads: ``POST /bucket`` with an HTML form (``multipart/form-data``).

The form's fields come first and the file last (fields after ``file`` are ignored,
as S3 does). The fields say what to store: ``key`` (``${filename}`` stands for the
file's name), ``acl``, ``Content-Type`` and the other stored headers,
``x-amz-meta-*``, ``tagging`` (a Tagging document) and what to answer:
``success_action_redirect`` (or ``redirect``): 303 to that URL with ``bucket``,
``key`` and ``etag`` added; else ``success_action_status`` 200, 201 (a
``PostResponse`` document) or 204 (the default).

Authorisation: a form with a ``policy`` (base64 JSON: ``expiration`` and
``conditions``) is signed either the SigV2 way (``AWSAccessKeyId`` and
``signature``, the base64 HMAC-SHA1 of the policy as sent) or the SigV4 way
(``x-amz-algorithm`` = AWS4-HMAC-SHA256, ``x-amz-credential``, ``x-amz-date`` and
``x-amz-signature``, the hex HMAC-SHA256 of the policy with the scope's signing
key). The signer must then be allowed ``s3:PutObject`` on the bucket, and the form
must satisfy the policy: not expired, every condition holds (exact match
``{"field": "value"}`` / ``["eq", "$field", "value"]``, ``["starts-with", "$field",
"prefix"]``, ``["content-length-range", min, max]``), and every field but
``policy``, ``file``, the signatures and ``x-ignore-*`` is named by a condition.
A form without a policy is anonymous (or the request's own signature, if any): it
succeeds only when the bucket's ACL lets that requester WRITE.

The file streams to the blob store as it arrives; nothing is buffered whole.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from aiohttp import BodyPartReader, MultipartReader, web

from eucalyptus.common.auth.canonical import b64, hmac_digest
from eucalyptus.common.db import utcnow
from eucalyptus.common.errors import AccessDenied, SignatureDoesNotMatch
from eucalyptus.common.ids import canonical_user_id
from eucalyptus.walrus.access import Requester
from eucalyptus.walrus.buckets import bucket_acl, load_bucket
from eucalyptus.walrus.errors import (
    EntityTooLarge,
    EntityTooSmall,
    InvalidArgument,
    KeyTooLongError,
    MalformedPOSTRequest,
    S3Error,
)
from eucalyptus.walrus.models import NULL_VERSION, Bucket
from eucalyptus.walrus.object_handlers import (
    choose_object_acl,
    resolve_emails,
    store_object,
    stored_headers,
    user_metadata,
)
from eucalyptus.walrus.objects import NewObject
from eucalyptus.walrus.request import S3Request, s3_response
from eucalyptus.walrus.routing import MAX_KEY_BYTES
from eucalyptus.walrus.storage import WrittenBlob
from eucalyptus.walrus.subresources import MAX_OBJECT_TAGS, TAGGING_KEY, parse_tagging
from eucalyptus.walrus.xmlutil import new_root, sub, to_bytes

#: the fields before the file may hold at most this many bytes together
MAX_FORM_BYTES = 64 * 1024
READ_SLICE = 256 * 1024
SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
#: fields no policy condition has to name (lower case); also any ``x-ignore-*``
UNCHECKED_FIELDS = frozenset({"policy", "file", "signature", "awsaccesskeyid", "x-amz-signature"})
#: form fields that act as the request headers of the same name
_HEADER_FIELDS = frozenset(
    {
        "content-type",
        "content-encoding",
        "content-disposition",
        "content-language",
        "cache-control",
        "expires",
        "x-amz-storage-class",
        "x-amz-grant-read",
        "x-amz-grant-write",
        "x-amz-grant-read-acp",
        "x-amz-grant-write-acp",
        "x-amz-grant-full-control",
    }
)


class InvalidPolicyDocument(S3Error):
    code = "InvalidPolicyDocument"
    status = 400
    default_message = "Invalid Policy: Invalid JSON."


class MaxPostPreDataLengthExceeded(S3Error):
    code = "MaxPostPreDataLengthExceeded"
    status = 400
    default_message = "Your POST request fields preceding the upload file were too large."


def _policy_failed(reason: str) -> AccessDenied:
    return AccessDenied(f"Invalid according to Policy: {reason}")


@dataclasses.dataclass
class Form:
    """The fields before the file (by lower-case name, first value) and the file part."""

    fields: dict[str, str]
    file: BodyPartReader
    filename: str


# --- reading the form ------------------------------------------------------------------


async def read_form(reader: MultipartReader) -> Form:
    """The fields up to the file part; MalformedPOSTRequest for a broken form."""
    fields: dict[str, str] = {}
    total = 0
    while True:
        try:
            part = await reader.next()
        except (ValueError, AssertionError, RuntimeError):
            raise MalformedPOSTRequest() from None
        if part is None:
            raise InvalidArgument(
                "POST requires exactly one file upload per request.",
                ArgumentName="file",
                ArgumentValue="0",
            )
        if not isinstance(part, BodyPartReader) or not part.name:
            raise MalformedPOSTRequest()
        name = part.name.lower()
        if name == "file":
            return Form(fields, part, part.filename or "")
        value = await _read_field(part, MAX_FORM_BYTES - total)
        total += len(value)
        try:
            fields.setdefault(name, value.decode("utf-8"))
        except UnicodeDecodeError:
            raise MalformedPOSTRequest(f"The {part.name} field is not UTF-8 text.") from None


async def _read_field(part: BodyPartReader, room: int) -> bytes:
    data = bytearray()
    try:
        while chunk := await part.read_chunk(READ_SLICE):
            data += chunk
            if len(data) > room:
                raise MaxPostPreDataLengthExceeded()
    except (ValueError, AssertionError):
        raise MalformedPOSTRequest() from None
    return bytes(data)


async def _file_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    try:
        while chunk := await part.read_chunk(READ_SLICE):
            yield chunk
    except (ValueError, AssertionError):
        raise MalformedPOSTRequest() from None


# --- the signature ---------------------------------------------------------------------


def _field(fields: Mapping[str, str], name: str, spelled: str) -> str:
    value = fields.get(name)
    if value is None:
        raise InvalidArgument(
            f"Bucket POST must contain a field named '{spelled}'.  If it is specified, "
            "please check the order of the fields.",
            ArgumentName=spelled,
            ArgumentValue="",
        )
    return value


async def signer(s3req: S3Request, fields: Mapping[str, str]) -> Requester:
    """Who signed the policy (SigV2 or SigV4 form fields); raises if the signature fails."""
    policy = fields["policy"]
    if "x-amz-signature" in fields or "x-amz-algorithm" in fields:
        algorithm = _field(fields, "x-amz-algorithm", "x-amz-algorithm")
        if algorithm != SIGV4_ALGORITHM:
            raise InvalidArgument(
                "Only AWS4-HMAC-SHA256 is supported",
                ArgumentName="x-amz-algorithm",
                ArgumentValue=algorithm,
            )
        credential = _field(fields, "x-amz-credential", "x-amz-credential")
        _field(fields, "x-amz-date", "x-amz-date")
        given = _field(fields, "x-amz-signature", "x-amz-signature").strip().lower()
        parts = credential.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request" or not parts[1].isdigit():
            raise InvalidArgument(
                "Invalid credential in x-amz-credential",
                ArgumentName="x-amz-credential",
                ArgumentValue=credential,
            )
        access_key, date, region, service = parts[:4]
        secret, principal = await s3req.ctx.identity.resolve(access_key)
        key = s3req.ctx.key_cache.signing_key(secret, date, region, service)
        expected = hmac.new(key, policy.encode("utf-8"), hashlib.sha256).hexdigest()
    else:
        access_key = _field(fields, "awsaccesskeyid", "AWSAccessKeyId")
        given = _field(fields, "signature", "Signature").strip()
        secret, principal = await s3req.ctx.identity.resolve(access_key)
        expected = b64(hmac_digest(secret.encode("utf-8"), policy, "sha1"))
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise SignatureDoesNotMatch(
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            AWSAccessKeyId=access_key,
            StringToSign=policy,
        )
    return Requester(
        principal=principal,
        canonical_id=canonical_user_id(principal.account_number),
        display_name=principal.account_name,
    )


# --- the policy ------------------------------------------------------------------------


def decode_policy(value: str) -> dict[str, Any]:
    """The policy document of the ``policy`` field; InvalidPolicyDocument if it is not one."""
    try:
        document: Any = json.loads(base64.b64decode(value.encode("ascii")).decode("utf-8"))
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidPolicyDocument() from None
    if not isinstance(document, dict):
        raise InvalidPolicyDocument()
    return document


def _expiration(document: Mapping[str, Any]) -> datetime:
    value = document.get("expiration")
    if value is None:
        raise InvalidPolicyDocument("Invalid Policy: Policy missing expiration.")
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidPolicyDocument(
            f"Invalid Policy: Invalid 'expiration' value: '{value}'"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclasses.dataclass(frozen=True)
class Condition:
    """One policy condition: ``op`` is eq, starts-with or content-length-range."""

    op: str
    field: str
    value: str = ""
    low: int = 0
    high: int = 0

    def spelled(self) -> str:
        if self.op == "content-length-range":
            return json.dumps([self.op, self.low, self.high])
        return json.dumps([self.op, f"${self.field}", self.value])


def parse_conditions(document: Mapping[str, Any]) -> list[Condition]:
    """The conditions of a policy document; InvalidPolicyDocument for a malformed one."""
    items = document.get("conditions")
    if not isinstance(items, list):
        raise InvalidPolicyDocument("Invalid Policy: Policy missing conditions.")
    found: list[Condition] = []
    for item in items:
        if isinstance(item, dict) and item:
            for name, value in item.items():
                if not isinstance(value, str):
                    raise _invalid_condition(item)
                found.append(Condition("eq", str(name).lower().lstrip("$"), value))
        elif isinstance(item, list) and len(item) == 3 and isinstance(item[0], str):
            found.append(_list_condition(item))
        else:
            raise _invalid_condition(item)
    return found


def _invalid_condition(item: object) -> InvalidPolicyDocument:
    return InvalidPolicyDocument(f"Invalid Policy: Invalid Condition: {json.dumps(item)}")


def _list_condition(item: list[Any]) -> Condition:
    op = item[0].lower()
    if op == "content-length-range":
        try:
            low, high = int(item[1]), int(item[2])
        except (TypeError, ValueError):
            raise _invalid_condition(item) from None
        if low < 0 or high < low:
            raise _invalid_condition(item)
        return Condition(op, "", low=low, high=high)
    name, value = item[1], item[2]
    if op not in ("eq", "starts-with") or not isinstance(name, str) or not isinstance(value, str):
        raise _invalid_condition(item)
    if not name.startswith("$"):
        raise _invalid_condition(item)
    return Condition(op, name[1:].lower(), value)


def _holds(condition: Condition, values: list[str]) -> bool:
    """Whether any of the candidate ``values`` of the field satisfies ``condition``."""
    for value in values:
        if condition.op == "eq" and value == condition.value:
            return True
        if condition.op == "starts-with":
            # Content-Type may list several types, each must start with the prefix
            pieces = value.split(",") if condition.field == "content-type" else [value]
            if all(piece.strip().startswith(condition.value) for piece in pieces):
                return True
    return False


def check_policy(
    document: Mapping[str, Any],
    fields: Mapping[str, str],
    *,
    bucket: str,
    key: str,
    now: datetime,
) -> tuple[int, int] | None:
    """AccessDenied unless ``fields`` satisfy the policy; the content-length-range if any."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)  # naive times are UTC (eucalyptus.common.db.utcnow)
    if _expiration(document) <= now:
        raise _policy_failed("Policy expired.")
    conditions = parse_conditions(document)
    length_range: tuple[int, int] | None = None
    covered: set[str] = set()
    for condition in conditions:
        if condition.op == "content-length-range":
            length_range = (condition.low, condition.high)
            continue
        covered.add(condition.field)
        if condition.field == "bucket":
            values = [bucket]
        elif condition.field == "key":
            values = [key, fields.get("key", "")]
        else:
            values = [fields.get(condition.field, "")]
        if not _holds(condition, values):
            raise _policy_failed(f"Policy Condition failed: {condition.spelled()}")
    extra = [
        name
        for name in fields
        if name not in UNCHECKED_FIELDS and not name.startswith("x-ignore-") and name not in covered
    ]
    if extra:
        raise _policy_failed(f"Extra input fields: {', '.join(extra)}")
    return length_range


# --- the upload ------------------------------------------------------------------------


def object_key(fields: Mapping[str, str], filename: str) -> str:
    """The ``key`` field with ``${filename}`` replaced by the file's base name."""
    if "key" not in fields:
        raise InvalidArgument(
            "Bucket POST must contain a field named 'key'.  If it is specified, please "
            "check the order of the fields.",
            ArgumentName="key",
            ArgumentValue="",
        )
    base = filename.replace("\\", "/").rpartition("/")[2]
    key = fields["key"].replace("${filename}", base)
    if not key:
        raise InvalidArgument("User key must have a length greater than 0.", ArgumentName="key")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise KeyTooLongError(Size=str(len(key.encode("utf-8"))), MaxSizeAllowed="1024")
    return key


def form_headers(fields: Mapping[str, str]) -> dict[str, str]:
    """The fields that stand for request headers, as lower-case headers."""
    headers = {
        name: value
        for name, value in fields.items()
        if name in _HEADER_FIELDS or name.startswith("x-amz-meta-")
    }
    if "acl" in fields:
        headers["x-amz-acl"] = fields["acl"]
    return headers


async def post_object(s3req: S3Request) -> web.StreamResponse:
    """POST Object (see the module docstring)."""
    if not s3req.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise MalformedPOSTRequest()
    bucket = await load_bucket(s3req)
    try:
        reader = await s3req.http.multipart()
    except (ValueError, AssertionError, KeyError):
        raise MalformedPOSTRequest() from None
    form = await read_form(reader)
    fields = form.fields
    key = object_key(fields, form.filename)
    requester = s3req.requester
    length_range: tuple[int, int] | None = None
    if "policy" in fields:
        document = decode_policy(fields["policy"])
        requester = await signer(s3req, fields)
        length_range = check_policy(document, fields, bucket=bucket.name, key=key, now=utcnow())
    elif "awsaccesskeyid" in fields or "x-amz-credential" in fields:
        _field(fields, "policy", "policy")
    upload = dataclasses.replace(s3req, headers=form_headers(fields), requester=requester)
    upload.check(
        "s3:PutObject",
        acl=bucket_acl(bucket),
        permission="WRITE",
        owner_account=bucket.owner_account,
        key=key,
    )
    etag, version_id = await _store(upload, bucket, key, form, length_range)
    with contextlib.suppress(ValueError, AssertionError):
        await reader.release()  # fields after the file are ignored
    return _answer(s3req, fields, bucket.name, key, etag, version_id)


async def _store(
    upload: S3Request,
    bucket: Bucket,
    key: str,
    form: Form,
    length_range: tuple[int, int] | None,
) -> tuple[str, str]:
    """Write the file and its row; (etag, version id)."""
    ctx = upload.ctx
    headers = stored_headers(upload.headers)
    if "tagging" in form.fields:
        tags = parse_tagging(form.fields["tagging"].encode("utf-8"), max_tags=MAX_OBJECT_TAGS)
        if tags:
            headers[TAGGING_KEY] = json.dumps([list(tag) for tag in tags])
    metadata = user_metadata(upload.headers)
    acl = await resolve_emails(upload, choose_object_acl(upload, bucket))
    max_size = ctx.limits.max_put_bytes
    low = 0
    if length_range is not None:
        low, max_size = length_range[0], min(max_size, length_range[1])

    def too_large() -> Exception:
        return EntityTooLarge(MaxSizeAllowed=str(max_size))

    def at_least(written: WrittenBlob) -> None:
        if written.size < low:
            raise EntityTooSmall(ProposedSize=str(written.size), MinSizeAllowed=str(low))

    blob = await ctx.store.write(
        bucket.name,
        _file_chunks(form.file),
        max_size=max_size,
        too_large=too_large,
        before_commit=at_least,
    )
    row = await store_object(
        upload,
        bucket,
        [blob],
        NewObject(
            key=key,
            blobs=[(blob.name, blob.size)] if blob.size else [],
            size=blob.size,
            etag=blob.md5_hex,
            owner=upload.owner,
            acl_json=acl.to_json(),
            headers=headers,
            metadata=metadata,
            storage_class=upload.headers.get("x-amz-storage-class", "STANDARD"),
        ),
    )
    if not blob.size:
        await ctx.store.delete(bucket.name, [blob.name])
    return row.etag, row.version_id


def _object_url(s3req: S3Request, bucket: str, key: str) -> str:
    http = s3req.http
    path = quote(key, safe="/~")
    if s3req.route.virtual:
        return f"{http.scheme}://{http.host}/{path}"
    return f"{http.scheme}://{http.host}{s3req.route.prefix}/{bucket}/{path}"


def _redirect_url(target: str, bucket: str, key: str, etag: str) -> str | None:
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    added = urlencode({"bucket": bucket, "key": key, "etag": f'"{etag}"'})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _answer(
    s3req: S3Request,
    fields: Mapping[str, str],
    bucket: str,
    key: str,
    etag: str,
    version_id: str,
) -> web.StreamResponse:
    location = _object_url(s3req, bucket, key)
    headers = {"ETag": f'"{etag}"', "Location": location}
    if version_id != NULL_VERSION:
        headers["x-amz-version-id"] = version_id
    target = fields.get("success_action_redirect") or fields.get("redirect")
    if target:
        url = _redirect_url(target, bucket, key, etag)
        if url is not None:
            headers["Location"] = url
            return s3_response(s3req, status=303, headers=headers)
    status = fields.get("success_action_status", "").strip()
    if status == "201":
        root = new_root("PostResponse")
        sub(root, "Location", location)
        sub(root, "Bucket", bucket)
        sub(root, "Key", key)
        sub(root, "ETag", f'"{etag}"')
        return s3_response(s3req, to_bytes(root), status=201, headers=headers)
    return s3_response(s3req, status=200 if status == "200" else 204, headers=headers)


HANDLERS = {("POST", "bucket", ""): post_object}
