"""The database layer: schema steps applied once, in order; transactions all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from eucalyptus.common.db import Database, Migration, sqlite_url
from eucalyptus.common.errors import ConfigError


def _step(sql: str) -> object:
    def apply(conn: Connection) -> None:
        conn.execute(text(sql))

    return apply


STEP1 = Migration(1, "things", _step("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)"))  # type: ignore[arg-type]
STEP2 = Migration(2, "colour", _step("ALTER TABLE things ADD COLUMN colour TEXT"))  # type: ignore[arg-type]


def test_steps_apply_once_and_upgrade_an_existing_database(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path, "c")
    db = Database(url, "c")
    assert db.migrate([STEP1]) == 1
    db.run_sync(lambda s: s.execute(text("INSERT INTO things (name) VALUES ('a')")))
    db.close()
    upgraded = Database(url, "c")
    assert upgraded.migrate([STEP1, STEP2]) == 2
    assert upgraded.migrate([STEP1, STEP2]) == 2  # nothing applied twice
    rows = upgraded.run_sync(lambda s: s.execute(text("SELECT name, colour FROM things")).all())
    assert [tuple(r) for r in rows] == [("a", None)]
    upgraded.close()


def test_a_database_newer_than_the_code_refuses_to_start(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path, "c")
    db = Database(url, "c")
    db.migrate([STEP1, STEP2])
    db.close()
    older = Database(url, "c")
    with pytest.raises(ConfigError, match="newer than this release"):
        older.migrate([STEP1])
    older.close()


def test_a_failing_step_leaves_the_version_where_it_was(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path, "c"), "c")
    broken = Migration(2, "broken", _step("ALTER TABLE nowhere ADD COLUMN x TEXT"))  # type: ignore[arg-type]
    with pytest.raises(Exception, match="nowhere"):
        db.migrate([STEP1, broken])
    assert db.migrate([STEP1]) == 1
    db.close()


def test_work_that_raises_is_rolled_back(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path, "c"), "c")
    db.migrate([STEP1])

    def insert_then_fail(session):  # type: ignore[no-untyped-def]
        session.execute(text("INSERT INTO things (name) VALUES ('half')"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        db.run_sync(insert_then_fail)
    assert db.run_sync(lambda s: s.execute(text("SELECT count(*) FROM things")).scalar()) == 0
    db.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path, "c"), "c")
    mode = db.run_sync(lambda s: s.execute(text("PRAGMA journal_mode")).scalar())
    keys = db.run_sync(lambda s: s.execute(text("PRAGMA foreign_keys")).scalar())
    assert (mode, keys) == ("wal", 1)
    db.close()


def test_unsupported_urls_are_refused() -> None:
    with pytest.raises(ConfigError, match="unsupported database URL"):
        Database("mysql://x/y", "c")


def test_gaps_in_step_versions_are_a_programming_error(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path, "c"), "c")
    with pytest.raises(ValueError, match="without gaps"):
        db.migrate([STEP2])
    db.close()
