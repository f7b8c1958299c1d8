"""The CLC's identity records.

An account has users and groups; the user named ``admin`` at path ``/`` is the
account's administrator, and the admin of the account named ``eucalyptus`` is
the cloud administrator. Names are unique within an account; ids and access keys
are unique in the cloud. Deleting an account or user removes what hangs from it
only through the explicit, checked paths of :mod:`eucalyptus.clc.identity.store`
(DeleteConflict otherwise); the ``ON DELETE CASCADE`` below is the safety net.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from eucalyptus.common.db import utcnow


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(512), default="/")
    unique_id: Mapped[str] = mapped_column(String(32), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    password_last_used: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    account: Mapped[Account] = relationship(lazy="joined")


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(512), default="/")
    unique_id: Mapped[str] = mapped_column(String(32), unique=True)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GroupMembership(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AccessKey(Base):
    __tablename__ = "access_keys"
    __table_args__ = (CheckConstraint("status IN ('Active', 'Inactive')"),)

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default="Active")
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SigningCertificate(Base):
    __tablename__ = "signing_certificates"
    __table_args__ = (CheckConstraint("status IN ('Active', 'Inactive')"),)

    cert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the DER form: one certificate is uploaded once in the whole cloud
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="Active")
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LoginProfile(Base):
    __tablename__ = "login_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    reset_required: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Policy(Base):
    """An inline policy of a user, a group or (Eucalyptus extension) an account."""

    __tablename__ = "policies"
    __table_args__ = (
        UniqueConstraint("owner_kind", "owner_id", "name"),
        CheckConstraint("owner_kind IN ('user', 'group', 'account')"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(8))
    owner_id: Mapped[int] = mapped_column(Integer, index=True)
    #: the account the owner lives in, so deleting an account can sweep its policies
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    document: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Component(Base):
    """A component registered with ``euca_conf --register-*``."""

    __tablename__ = "components"
    __table_args__ = (
        UniqueConstraint("kind", "name"),
        CheckConstraint("kind IN ('walrus', 'cluster', 'storage', 'node')"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    partition: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="NOTREADY")
    state_detail: Mapped[str] = mapped_column(String(512), default="")
    registered: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class CloudProperty(Base):
    """A cloud property set by the administrator (defaults live in code)."""

    __tablename__ = "properties"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class IssuedId(Base):
    """Every resource id ever handed out, so none is reused."""

    __tablename__ = "issued_ids"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    issued: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
