"""The database layer: SQLAlchemy engines, sessions off the event loop, schema versions.

SQLite (WAL, foreign keys on) under ``$EUCALYPTUS/var/lib/eucalyptus/db`` is the
default; a PostgreSQL URL in the configuration replaces it. Every component owns
an ordered list of :class:`Migration` steps. At start, :meth:`Database.migrate`
applies the steps the database has not seen yet, each in its own transaction, and
records it in ``schema_versions``; a later release appends steps and upgrades a
running cloud in place. A database that is newer than the code refuses to start.

All session work runs in a small thread pool (:meth:`Database.run`): blocking
drivers never run on the event loop thread. A unit of work commits when the
function returns and rolls back when it raises, so a failed request leaves
nothing half-written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    select,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from eucalyptus.common.errors import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Migration:
    """One schema step. ``apply`` must be safe inside a transaction."""

    version: int
    description: str
    apply: Callable[[Connection], None]


_versions_metadata = MetaData()
schema_versions = Table(
    "schema_versions",
    _versions_metadata,
    Column("component", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("description", String(255), nullable=False),
    Column("applied_at", DateTime, nullable=False),
)


def utcnow() -> datetime:
    """Naive UTC now: what every DateTime column of ours stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def sqlite_url(db_dir: Path, component: str) -> str:
    return f"sqlite:///{db_dir / (component + '.db')}"


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # pooled: opening a connection and setting its pragmas costs more than a query
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=8,
        )
        event.listen(engine, "connect", _enable_sqlite_pragmas)
        return engine
    if url.startswith(("postgresql", "postgres")):
        scheme, rest = url.split("://", 1)
        if scheme in ("postgres", "postgresql"):
            # psycopg2 is the driver we ship; SQLAlchemy 2.1 would pick psycopg 3
            url = f"postgresql+psycopg2://{rest}"
        return create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)
    raise ConfigError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")


class Database:
    """One component's database: engine, session factory and worker threads."""

    def __init__(self, url: str, component: str, *, workers: int = 4) -> None:
        self.url = url
        self.component = component
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"db-{component}")

    def migrate(self, steps: Sequence[Migration]) -> int:
        """Apply pending steps in order; returns the version now in force."""
        ordered = sorted(steps, key=lambda m: m.version)
        if [m.version for m in ordered] != list(range(1, len(ordered) + 1)):
            raise ValueError(f"{self.component}: migration versions must be 1..N without gaps")
        _versions_metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            row = conn.execute(
                select(schema_versions.c.version).where(
                    schema_versions.c.component == self.component
                )
            ).first()
        current = row[0] if row else 0
        if current > len(ordered):
            raise ConfigError(
                f"{self.component}: the database is at schema version {current}, newer than "
                f"this release ({len(ordered)}); refusing to start"
            )
        for step in ordered[current:]:
            with self.engine.begin() as conn:
                log.info(
                    "%s: applying schema step %d: %s",
                    self.component,
                    step.version,
                    step.description,
                )
                step.apply(conn)
                values = {
                    "version": step.version,
                    "description": step.description,
                    "applied_at": utcnow(),
                }
                if step.version == 1:
                    conn.execute(
                        schema_versions.insert().values(component=self.component, **values)
                    )
                else:
                    conn.execute(
                        schema_versions.update()
                        .where(schema_versions.c.component == self.component)
                        .values(**values)
                    )
        return len(ordered)

    def session(self) -> Session:
        return self._sessions()

    def run_sync(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction on this thread: commit on return, roll back on error."""
        with self._sessions() as session, session.begin():
            return work(session)

    async def run(self, work: Callable[[Session], T]) -> T:
        """:meth:`run_sync` on a worker thread, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.run_sync, work)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.engine.dispose()
