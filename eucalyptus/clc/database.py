"""Where the CLC's database lives: one helper that every CLC-side user calls.

``CLC_DB_URL`` in ``eucalyptus.conf`` (a ``postgresql://`` URL) when it is set, else the
embedded SQLite database ``$EUCALYPTUS/var/lib/eucalyptus/db/cloud.db``.
"""

from __future__ import annotations

from eucalyptus.common.config import EucaConf
from eucalyptus.common.db import Database, sqlite_url
from eucalyptus.common.paths import EucaPaths

#: the name the CLC's schema is recorded under, and the SQLite file's stem
COMPONENT = "cloud"


def clc_database_url(paths: EucaPaths, conf: EucaConf) -> str:
    """The URL of the CLC database for this root and configuration."""
    return conf.get_str("CLC_DB_URL").strip() or sqlite_url(paths.db_dir, COMPONENT)


def clc_database(paths: EucaPaths, conf: EucaConf) -> Database:
    """An open (not yet migrated) :class:`Database` for the CLC; the caller closes it.

    Opening creates nothing but, for SQLite, the ``db`` directory; the file itself
    appears at the first connection. Raises ``ConfigError`` for an unsupported URL.
    """
    return Database(clc_database_url(paths, conf), COMPONENT)
