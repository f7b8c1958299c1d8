"""The CLC's database: ``CLC_DB_URL`` (PostgreSQL) from eucalyptus.conf, else SQLite."""

from __future__ import annotations

from eucalyptus.common.config import EucaConf
from eucalyptus.common.db import Database, sqlite_url
from eucalyptus.common.paths import EucaPaths


def clc_database(paths: EucaPaths, conf: EucaConf) -> Database:
    url = conf.get_str("CLC_DB_URL", "") or sqlite_url(paths.db_dir, "cloud")
    return Database(url, "cloud")
