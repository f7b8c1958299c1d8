"""Walrus's metadata records (its own database, ``walrus.db`` by default).

Object data lives in files under ``bukkits/<bucket>/`` named by random ids; these
rows say which files make up which object version (``blobs``), so a key never
appears on disk. An object made by a multipart upload keeps its part files and
lists them in order, so completing an upload moves no data.

Ordering: keys compare as UTF-8 bytes, as S3 lists them (SQLite's default BINARY
collation; ``C`` on PostgreSQL).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from eucalyptus.common.db import utcnow

#: a key column that sorts by bytes on both databases
KeyString = String(1024).with_variant(String(1024, collation="C"), "postgresql")
NameString = String(255).with_variant(String(255, collation="C"), "postgresql")

#: the version id of an object written while versioning was never enabled or is suspended
NULL_VERSION = "null"


class Base(DeclarativeBase):
    pass


class Bucket(Base):
    __tablename__ = "buckets"

    name: Mapped[str] = mapped_column(NameString, primary_key=True)
    #: the owning account's number (12 digits) and S3 canonical id (64 hex)
    owner_account: Mapped[str] = mapped_column(String(12), index=True)
    owner_canonical_id: Mapped[str] = mapped_column(String(64))
    owner_display_name: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: LocationConstraint as given ("" for the default location)
    location: Mapped[str] = mapped_column(String(64), default="")
    #: the access control list as JSON (see :mod:`eucalyptus.walrus.acl`)
    acl: Mapped[str] = mapped_column(Text)
    #: "" (never enabled), "Enabled" or "Suspended"
    versioning: Mapped[str] = mapped_column(String(16), default="")
    #: stored configuration documents (XML as accepted), None when unset
    logging_xml: Mapped[str | None] = mapped_column(Text, nullable=True)
    tagging_xml: Mapped[str | None] = mapped_column(Text, nullable=True)
    cors_xml: Mapped[str | None] = mapped_column(Text, nullable=True)
    lifecycle_xml: Mapped[str | None] = mapped_column(Text, nullable=True)
    policy_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: bytes held by every version and finished part in the bucket (for the size limit)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class ObjectVersion(Base):
    """One version of one key; unversioned buckets hold one row per key (version "null")."""

    __tablename__ = "objects"
    __table_args__ = (
        Index("ix_objects_bucket_key", "bucket", "key", "id"),
        Index("ix_objects_latest", "bucket", "is_latest", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bucket: Mapped[str] = mapped_column(NameString, ForeignKey("buckets.name"))
    key: Mapped[str] = mapped_column(KeyString)
    version_id: Mapped[str] = mapped_column(String(64), default=NULL_VERSION)
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    delete_marker: Mapped[bool] = mapped_column(Boolean, default=False)
    #: JSON list of [file name, size] in order; [] for empty objects and delete markers
    blobs: Mapped[str] = mapped_column(Text, default="[]")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    #: hex MD5, or "<hex>-<parts>" for a multipart object (no quotes)
    etag: Mapped[str] = mapped_column(String(64), default="")
    last_modified: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    owner_account: Mapped[str] = mapped_column(String(12))
    owner_canonical_id: Mapped[str] = mapped_column(String(64))
    owner_display_name: Mapped[str] = mapped_column(String(255))
    #: JSON object of the stored HTTP headers (Content-Type, Content-Encoding,
    #: Content-Disposition, Content-Language, Cache-Control, Expires), by canonical name
    headers: Mapped[str] = mapped_column(Text, default="{}")
    #: JSON object of user metadata, lower-case names without ``x-amz-meta-``
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")
    acl: Mapped[str] = mapped_column(Text, default="")
    #: JSON object {"algorithm": "CRC32", "value": "base64"} when a checksum was sent
    checksum: Mapped[str | None] = mapped_column(Text, nullable=True)
    storage_class: Mapped[str] = mapped_column(String(32), default="STANDARD")

    def blob_list(self) -> list[tuple[str, int]]:
        return [(str(name), int(size)) for name, size in json.loads(self.blobs)]


class Upload(Base):
    """A multipart upload in progress."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_bucket_key", "bucket", "key", "upload_id"),)

    upload_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[str] = mapped_column(NameString, ForeignKey("buckets.name"))
    key: Mapped[str] = mapped_column(KeyString)
    initiated: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    owner_account: Mapped[str] = mapped_column(String(12))
    owner_canonical_id: Mapped[str] = mapped_column(String(64))
    owner_display_name: Mapped[str] = mapped_column(String(255))
    #: the initiator's user ARN
    initiator_arn: Mapped[str] = mapped_column(String(512))
    headers: Mapped[str] = mapped_column(Text, default="{}")
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")
    acl: Mapped[str] = mapped_column(Text, default="")
    #: the checksum algorithm named at initiation, if any
    checksum_algorithm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    storage_class: Mapped[str] = mapped_column(String(32), default="STANDARD")


class Part(Base):
    __tablename__ = "parts"

    upload_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("uploads.upload_id", ondelete="CASCADE"), primary_key=True
    )
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the bucket the part file lives in (denormalised for the orphan scan)
    bucket: Mapped[str] = mapped_column(NameString)
    blob: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    #: hex MD5 of the part (no quotes)
    etag: Mapped[str] = mapped_column(String(64))
    last_modified: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    checksum: Mapped[str | None] = mapped_column(Text, nullable=True)
