"""Walrus's schema steps, in order. Append; never edit a released step."""

from __future__ import annotations

from sqlalchemy import Connection

from eucalyptus.common.db import Migration
from eucalyptus.walrus.models import Base


def _create_tables(conn: Connection) -> None:
    Base.metadata.create_all(conn)


MIGRATIONS = [
    Migration(1, "buckets, object versions, multipart uploads and parts", _create_tables),
]
