"""Object versions in the database: put, find, delete, with Walrus's versioning.

Versioning states of a bucket: ``""`` (never enabled), ``Enabled``, ``Suspended``.

* Unversioned or suspended: a PUT replaces the key's ``null`` version (older real
  versions stay); a DELETE without a version id removes the ``null`` version and, when
  suspended, leaves a ``null`` delete marker.
* Enabled: a PUT adds a version with a fresh id; a DELETE without a version id adds a
  delete marker.
* A DELETE with a version id removes exactly that version (or marker); the newest
  remaining one becomes the latest.

Every function here runs inside one database transaction (``Database.run``) and
returns the names of the files its change made unreachable; the caller deletes them
after the commit (:mod:`eucalyptus.walrus.storage`). Writers lock the bucket row, so
concurrent writers to one bucket serialise and size accounting stays exact.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from eucalyptus.common.db import utcnow
from eucalyptus.walrus.errors import (
    EntityTooLarge,
    InvalidArgument,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
)
from eucalyptus.walrus.models import NULL_VERSION, Bucket, ObjectVersion


def new_version_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Owner:
    account: str
    canonical_id: str
    display_name: str


@dataclass
class NewObject:
    """What a PUT (or copy, or completed upload) stores."""

    key: str
    blobs: list[tuple[str, int]]
    size: int
    etag: str
    owner: Owner
    acl_json: str
    headers: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    checksum: Mapping[str, str] | None = None
    storage_class: str = "STANDARD"
    last_modified: datetime | None = None


@dataclass(frozen=True)
class Change:
    """The outcome of a write: the affected row (None if nothing) and files to delete."""

    version: ObjectVersion | None
    obsolete: list[str]
    delete_marker: bool = False
    version_id: str | None = None


def lock_bucket(session: Session, name: str) -> Bucket:
    """The bucket row, locked for update, as it is now.

    PostgreSQL: ``FOR UPDATE``. SQLite has no row locks and the driver starts the
    transaction only at its first write, so a row read first could be changed by
    another writer before this one writes it back (concurrent PUTs lost their
    ``size_bytes`` additions): a no-op write takes the database's write lock first.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Bucket).where(Bucket.name == name).values(size_bytes=Bucket.size_bytes),
            execution_options={"synchronize_session": False},
        )
    bucket = session.execute(
        select(Bucket)
        .where(Bucket.name == name)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if bucket is None:
        raise NoSuchBucket(BucketName=name)
    return bucket


def get_bucket(session: Session, name: str) -> Bucket:
    bucket = session.get(Bucket, name)
    if bucket is None:
        raise NoSuchBucket(BucketName=name)
    return bucket


def _blob_names(row: ObjectVersion) -> list[str]:
    return [name for name, _size in row.blob_list()]


def _latest(session: Session, bucket: str, key: str) -> ObjectVersion | None:
    return session.execute(
        select(ObjectVersion).where(
            ObjectVersion.bucket == bucket,
            ObjectVersion.key == key,
            ObjectVersion.is_latest.is_(True),
        )
    ).scalar_one_or_none()


def _remove_row(session: Session, bucket: Bucket, row: ObjectVersion) -> list[str]:
    names = _blob_names(row)
    bucket.size_bytes = max(0, bucket.size_bytes - row.size)
    session.delete(row)
    return names


def _promote_newest(session: Session, bucket: str, key: str) -> None:
    newest = session.execute(
        select(ObjectVersion)
        .where(ObjectVersion.bucket == bucket, ObjectVersion.key == key)
        .order_by(ObjectVersion.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if newest is not None:
        newest.is_latest = True


def _clear_latest(session: Session, bucket: str, key: str) -> None:
    session.execute(
        update(ObjectVersion)
        .where(
            ObjectVersion.bucket == bucket,
            ObjectVersion.key == key,
            ObjectVersion.is_latest.is_(True),
        )
        .values(is_latest=False)
    )


def _remove_null_version(session: Session, bucket: Bucket, key: str) -> list[str]:
    row = session.execute(
        select(ObjectVersion).where(
            ObjectVersion.bucket == bucket.name,
            ObjectVersion.key == key,
            ObjectVersion.version_id == NULL_VERSION,
        )
    ).scalar_one_or_none()
    if row is None:
        return []
    names = _remove_row(session, bucket, row)
    session.flush()
    return names


def put_object(
    session: Session, bucket_name: str, new: NewObject, *, max_bucket_bytes: int
) -> Change:
    """Store ``new`` as the latest version of its key; EntityTooLarge past the bucket limit."""
    bucket = lock_bucket(session, bucket_name)
    obsolete: list[str] = []
    if bucket.versioning == "Enabled":
        version_id = new_version_id()
    else:
        version_id = NULL_VERSION
        obsolete = _remove_null_version(session, bucket, new.key)
    if max_bucket_bytes > 0 and bucket.size_bytes + new.size > max_bucket_bytes:
        raise EntityTooLarge(
            f"Storing this object would take bucket {bucket_name} past its limit of "
            f"{max_bucket_bytes // (1024 * 1024)} MB (walrus.storagemaxbucketsizeinmb)"
        )
    _clear_latest(session, bucket_name, new.key)
    row = ObjectVersion(
        bucket=bucket_name,
        key=new.key,
        version_id=version_id,
        is_latest=True,
        delete_marker=False,
        blobs=json.dumps([[name, size] for name, size in new.blobs]),
        size=new.size,
        etag=new.etag,
        last_modified=new.last_modified or utcnow(),
        owner_account=new.owner.account,
        owner_canonical_id=new.owner.canonical_id,
        owner_display_name=new.owner.display_name,
        headers=json.dumps(dict(new.headers)),
        metadata_json=json.dumps(dict(new.metadata)),
        acl=new.acl_json,
        checksum=None if new.checksum is None else json.dumps(dict(new.checksum)),
        storage_class=new.storage_class,
    )
    session.add(row)
    bucket.size_bytes += new.size
    session.flush()
    return Change(version=row, obsolete=obsolete, version_id=version_id)


def find_object(
    session: Session, bucket: str, key: str, version_id: str | None = None
) -> ObjectVersion:
    """The latest version of ``key`` (or the one named); NoSuchKey / NoSuchVersion.

    The latest version being a delete marker is NoSuchKey with ``DeleteMarker``; a
    delete marker asked for by version id is returned (the handler answers 405).
    """
    get_bucket(session, bucket)
    if version_id is None:
        row = _latest(session, bucket, key)
        if row is None:
            raise NoSuchKey(Key=key)
        if row.delete_marker:
            raise NoSuchKey(Key=key, DeleteMarker="true", VersionId=row.version_id)
        return row
    if not version_id:
        raise InvalidArgument("Version id cannot be the empty string", ArgumentName="versionId")
    row = session.execute(
        select(ObjectVersion).where(
            ObjectVersion.bucket == bucket,
            ObjectVersion.key == key,
            ObjectVersion.version_id == version_id,
        )
    ).scalar_one_or_none()
    if row is None:
        raise NoSuchVersion(Key=key, VersionId=version_id)
    return row


def delete_object(
    session: Session, bucket_name: str, key: str, version_id: str | None, owner: Owner
) -> Change:
    """DELETE of a key (a marker when versioned) or of one version. Missing is not an error."""
    bucket = lock_bucket(session, bucket_name)
    if version_id is not None:
        row = session.execute(
            select(ObjectVersion).where(
                ObjectVersion.bucket == bucket_name,
                ObjectVersion.key == key,
                ObjectVersion.version_id == version_id,
            )
        ).scalar_one_or_none()
        if row is None:
            if version_id != NULL_VERSION and bucket.versioning == "":
                raise InvalidArgument("Invalid version id specified", ArgumentName="versionId")
            return Change(version=None, obsolete=[], version_id=version_id)
        was_latest, marker = row.is_latest, row.delete_marker
        obsolete = _remove_row(session, bucket, row)
        session.flush()
        if was_latest:
            _promote_newest(session, bucket_name, key)
        return Change(version=None, obsolete=obsolete, delete_marker=marker, version_id=version_id)
    if bucket.versioning == "":
        obsolete = _remove_null_version(session, bucket, key)
        return Change(version=None, obsolete=obsolete)
    obsolete = []
    if bucket.versioning == "Enabled":
        marker_id = new_version_id()
    else:
        marker_id = NULL_VERSION
        obsolete = _remove_null_version(session, bucket, key)
    _clear_latest(session, bucket_name, key)
    marker_row = ObjectVersion(
        bucket=bucket_name,
        key=key,
        version_id=marker_id,
        is_latest=True,
        delete_marker=True,
        blobs="[]",
        size=0,
        etag="",
        last_modified=utcnow(),
        owner_account=owner.account,
        owner_canonical_id=owner.canonical_id,
        owner_display_name=owner.display_name,
        acl="",
    )
    session.add(marker_row)
    session.flush()
    return Change(version=marker_row, obsolete=obsolete, delete_marker=True, version_id=marker_id)


def set_object_acl(
    session: Session, bucket: str, key: str, version_id: str | None, acl_json: str
) -> None:
    row = find_object(session, bucket, key, version_id)
    row.acl = acl_json


def bucket_is_empty(session: Session, bucket: str) -> bool:
    from eucalyptus.walrus.models import Upload

    has_object = session.execute(
        select(ObjectVersion.id).where(ObjectVersion.bucket == bucket).limit(1)
    ).first()
    has_upload = session.execute(
        select(Upload.upload_id).where(Upload.bucket == bucket).limit(1)
    ).first()
    return has_object is None and has_upload is None


def count_buckets(session: Session, account: str) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(Bucket).where(Bucket.owner_account == account)
        ).scalar_one()
    )
