"""The XML documents of the listings, element for element as S3 writes them.

Element order follows S3's schema (``AmazonS3.xsd``) and its responses, which some
clients read in order: ``NextMarker`` right after ``Marker``, ``EncodingType`` after
``Delimiter`` and before ``IsTruncated``, every ``Contents`` (or ``Version`` and
``DeleteMarker``, interleaved in key order) before every ``CommonPrefixes``.

With ``encoding-type=url``, the values that are keys (keys, prefixes, delimiters,
key markers) are URL-encoded (:func:`~eucalyptus.walrus.listing.encode_key`);
version ids, upload ids and continuation tokens are opaque and never are.
"""

from __future__ import annotations

import json

from lxml import etree

from eucalyptus.walrus import xmlutil
from eucalyptus.walrus.listing import (
    ListPage,
    PartPage,
    UploadPage,
    VersionPage,
    encode_key,
    make_token,
)
from eucalyptus.walrus.models import ObjectVersion, Upload

_Element = etree._Element


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _owner(parent: _Element, canonical_id: str, display_name: str, tag: str = "Owner") -> None:
    owner = xmlutil.sub(parent, tag)
    xmlutil.sub(owner, "ID", canonical_id)
    xmlutil.sub(owner, "DisplayName", display_name)


def _checksum_algorithm(checksum: str | None) -> str | None:
    """The algorithm named in a stored checksum (JSON), if there is one."""
    if not checksum:
        return None
    try:
        algorithm = json.loads(checksum).get("algorithm")
    except (ValueError, AttributeError):
        return None
    return str(algorithm) if algorithm else None


def _common_prefixes(root: _Element, prefixes: list[str], encoding_type: str | None) -> None:
    for prefix in prefixes:
        entry = xmlutil.sub(root, "CommonPrefixes")
        xmlutil.sub(entry, "Prefix", encode_key(prefix, encoding_type))


def _contents(
    root: _Element, row: ObjectVersion, encoding_type: str | None, *, owner: bool
) -> None:
    entry = xmlutil.sub(root, "Contents")
    xmlutil.sub(entry, "Key", encode_key(row.key, encoding_type))
    xmlutil.sub(entry, "LastModified", xmlutil.iso8601(row.last_modified))
    xmlutil.sub(entry, "ETag", f'"{row.etag}"')
    algorithm = _checksum_algorithm(row.checksum)
    if algorithm:
        xmlutil.sub(entry, "ChecksumAlgorithm", algorithm)
    xmlutil.sub(entry, "Size", str(row.size))
    if owner:
        _owner(entry, row.owner_canonical_id, row.owner_display_name)
    xmlutil.sub(entry, "StorageClass", row.storage_class)


def _head(
    root: _Element, *, max_keys: int, delimiter: str, encoding_type: str | None, truncated: bool
) -> None:
    """MaxKeys, Delimiter and EncodingType when given, IsTruncated."""
    xmlutil.sub(root, "MaxKeys", str(max_keys))
    if delimiter:
        xmlutil.sub(root, "Delimiter", encode_key(delimiter, encoding_type))
    if encoding_type:
        xmlutil.sub(root, "EncodingType", encoding_type)
    xmlutil.sub(root, "IsTruncated", _bool(truncated))


def list_objects_v1_xml(
    bucket: str,
    page: ListPage,
    *,
    prefix: str,
    delimiter: str,
    marker: str,
    max_keys: int,
    encoding_type: str | None,
) -> bytes:
    """``ListBucketResult`` of ListObjects (v1).

    NextMarker is there only when the page is truncated and a delimiter was given
    (without one, clients resume from the last key, as S3 expects).
    """
    root = xmlutil.new_root("ListBucketResult")
    xmlutil.sub(root, "Name", bucket)
    xmlutil.sub(root, "Prefix", encode_key(prefix, encoding_type))
    xmlutil.sub(root, "Marker", encode_key(marker, encoding_type))
    if page.is_truncated and delimiter and page.next_marker is not None:
        xmlutil.sub(root, "NextMarker", encode_key(page.next_marker, encoding_type))
    _head(
        root,
        max_keys=max_keys,
        delimiter=delimiter,
        encoding_type=encoding_type,
        truncated=page.is_truncated,
    )
    for row in page.contents:
        _contents(root, row, encoding_type, owner=True)
    _common_prefixes(root, page.common_prefixes, encoding_type)
    return xmlutil.to_bytes(root)


def list_objects_v2_xml(
    bucket: str,
    page: ListPage,
    *,
    prefix: str,
    delimiter: str,
    start_after: str,
    continuation_token: str | None,
    max_keys: int,
    encoding_type: str | None,
    fetch_owner: bool,
) -> bytes:
    """``ListBucketResult`` of ListObjectsV2.

    StartAfter is echoed when given and no continuation token overrides it;
    ContinuationToken is echoed as sent; NextContinuationToken resumes after the
    page's last entry when it is truncated. Owners only with ``fetch-owner=true``.
    """
    root = xmlutil.new_root("ListBucketResult")
    xmlutil.sub(root, "Name", bucket)
    xmlutil.sub(root, "Prefix", encode_key(prefix, encoding_type))
    if start_after and continuation_token is None:
        xmlutil.sub(root, "StartAfter", encode_key(start_after, encoding_type))
    if continuation_token is not None:
        xmlutil.sub(root, "ContinuationToken", continuation_token)
    if page.is_truncated and page.next_marker is not None:
        xmlutil.sub(root, "NextContinuationToken", make_token(page.next_marker))
    xmlutil.sub(root, "KeyCount", str(len(page.contents) + len(page.common_prefixes)))
    _head(
        root,
        max_keys=max_keys,
        delimiter=delimiter,
        encoding_type=encoding_type,
        truncated=page.is_truncated,
    )
    for row in page.contents:
        _contents(root, row, encoding_type, owner=fetch_owner)
    _common_prefixes(root, page.common_prefixes, encoding_type)
    return xmlutil.to_bytes(root)


def _version(root: _Element, row: ObjectVersion, encoding_type: str | None) -> None:
    entry = xmlutil.sub(root, "DeleteMarker" if row.delete_marker else "Version")
    xmlutil.sub(entry, "Key", encode_key(row.key, encoding_type))
    xmlutil.sub(entry, "VersionId", row.version_id)
    xmlutil.sub(entry, "IsLatest", _bool(row.is_latest))
    xmlutil.sub(entry, "LastModified", xmlutil.iso8601(row.last_modified))
    if row.delete_marker:
        _owner(entry, row.owner_canonical_id, row.owner_display_name)
        return
    xmlutil.sub(entry, "ETag", f'"{row.etag}"')
    algorithm = _checksum_algorithm(row.checksum)
    if algorithm:
        xmlutil.sub(entry, "ChecksumAlgorithm", algorithm)
    xmlutil.sub(entry, "Size", str(row.size))
    _owner(entry, row.owner_canonical_id, row.owner_display_name)
    xmlutil.sub(entry, "StorageClass", row.storage_class)


def list_versions_xml(
    bucket: str,
    page: VersionPage,
    *,
    prefix: str,
    delimiter: str,
    key_marker: str,
    version_id_marker: str,
    max_keys: int,
    encoding_type: str | None,
) -> bytes:
    """``ListVersionsResult`` of ListObjectVersions: Version and DeleteMarker in order."""
    root = xmlutil.new_root("ListVersionsResult")
    xmlutil.sub(root, "Name", bucket)
    xmlutil.sub(root, "Prefix", encode_key(prefix, encoding_type))
    xmlutil.sub(root, "KeyMarker", encode_key(key_marker, encoding_type))
    xmlutil.sub(root, "VersionIdMarker", version_id_marker)
    if page.is_truncated and page.next_key_marker is not None:
        xmlutil.sub(root, "NextKeyMarker", encode_key(page.next_key_marker, encoding_type))
        if page.next_version_id_marker is not None:
            xmlutil.sub(root, "NextVersionIdMarker", page.next_version_id_marker)
    _head(
        root,
        max_keys=max_keys,
        delimiter=delimiter,
        encoding_type=encoding_type,
        truncated=page.is_truncated,
    )
    for row in page.versions:
        _version(root, row, encoding_type)
    _common_prefixes(root, page.common_prefixes, encoding_type)
    return xmlutil.to_bytes(root)


def _initiator(parent: _Element, upload: Upload) -> None:
    """The initiator by user ARN; its display name is the user name (the account's
    name for the account itself)."""
    arn = upload.initiator_arn
    name = arn.rsplit("/", 1)[1] if "/" in arn else upload.owner_display_name
    _owner(parent, arn, name, tag="Initiator")


def list_uploads_xml(
    bucket: str,
    page: UploadPage,
    *,
    prefix: str,
    delimiter: str,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
    encoding_type: str | None,
) -> bytes:
    """``ListMultipartUploadsResult``: NextKeyMarker and NextUploadIdMarker name the
    last entry listed, truncated or not, as S3 does."""
    root = xmlutil.new_root("ListMultipartUploadsResult")
    xmlutil.sub(root, "Bucket", bucket)
    xmlutil.sub(root, "KeyMarker", encode_key(key_marker, encoding_type))
    xmlutil.sub(root, "UploadIdMarker", upload_id_marker)
    xmlutil.sub(root, "NextKeyMarker", encode_key(page.next_key_marker or "", encoding_type))
    xmlutil.sub(root, "NextUploadIdMarker", page.next_upload_id_marker or "")
    if delimiter:
        xmlutil.sub(root, "Delimiter", encode_key(delimiter, encoding_type))
    xmlutil.sub(root, "Prefix", encode_key(prefix, encoding_type))
    xmlutil.sub(root, "MaxUploads", str(max_uploads))
    if encoding_type:
        xmlutil.sub(root, "EncodingType", encoding_type)
    xmlutil.sub(root, "IsTruncated", _bool(page.is_truncated))
    for upload in page.uploads:
        entry = xmlutil.sub(root, "Upload")
        xmlutil.sub(entry, "Key", encode_key(upload.key, encoding_type))
        xmlutil.sub(entry, "UploadId", upload.upload_id)
        _initiator(entry, upload)
        _owner(entry, upload.owner_canonical_id, upload.owner_display_name)
        xmlutil.sub(entry, "StorageClass", upload.storage_class)
        xmlutil.sub(entry, "Initiated", xmlutil.iso8601(upload.initiated))
        if upload.checksum_algorithm:
            xmlutil.sub(entry, "ChecksumAlgorithm", upload.checksum_algorithm)
    _common_prefixes(root, page.common_prefixes, encoding_type)
    return xmlutil.to_bytes(root)


def list_parts_xml(
    bucket: str, page: PartPage, *, part_number_marker: int, max_parts: int
) -> bytes:
    """``ListPartsResult`` of one upload."""
    upload = page.upload
    root = xmlutil.new_root("ListPartsResult")
    xmlutil.sub(root, "Bucket", bucket)
    xmlutil.sub(root, "Key", upload.key)
    xmlutil.sub(root, "UploadId", upload.upload_id)
    _initiator(root, upload)
    _owner(root, upload.owner_canonical_id, upload.owner_display_name)
    xmlutil.sub(root, "StorageClass", upload.storage_class)
    xmlutil.sub(root, "PartNumberMarker", str(part_number_marker))
    xmlutil.sub(root, "NextPartNumberMarker", str(page.next_part_number_marker))
    xmlutil.sub(root, "MaxParts", str(max_parts))
    xmlutil.sub(root, "IsTruncated", _bool(page.is_truncated))
    if upload.checksum_algorithm:
        xmlutil.sub(root, "ChecksumAlgorithm", upload.checksum_algorithm)
    for part in page.parts:
        entry = xmlutil.sub(root, "Part")
        xmlutil.sub(entry, "PartNumber", str(part.part_number))
        xmlutil.sub(entry, "LastModified", xmlutil.iso8601(part.last_modified))
        xmlutil.sub(entry, "ETag", f'"{part.etag}"')
        xmlutil.sub(entry, "Size", str(part.size))
        _part_checksum(entry, part.checksum)
    return xmlutil.to_bytes(root)


def _part_checksum(entry: _Element, checksum: str | None) -> None:
    """``Checksum<ALGORITHM>`` of a part uploaded with one."""
    if not checksum:
        return
    try:
        stored = json.loads(checksum)
        algorithm, value = str(stored["algorithm"]), str(stored["value"])
    except (ValueError, KeyError, TypeError):
        return
    xmlutil.sub(entry, f"Checksum{algorithm.upper()}", value)
