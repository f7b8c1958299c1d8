"""The Walrus application: the probe service, then every other path is S3.

Start-up: open (and migrate) Walrus's database, remove files no row names (a crash
between a file's rename and its row's commit leaves such orphans, and so does one
between a row's removal and its file's), connect the identity client to the CLC,
and serve. ``DescribeService`` answers at ``/services/Empyrean`` (what the CLC probes
when a walrus is registered); everything else goes to :class:`S3Pipeline`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from eucalyptus import __version__
from eucalyptus.common.daemon import DaemonContext, health
from eucalyptus.common.db import Database, sqlite_url
from eucalyptus.common.soap.configuration_msgs import (
    DESCRIBE_SERVICE,
    DescribeServiceResponseType,
    DescribeServiceType,
)
from eucalyptus.common.soap.operations import ServiceDecl
from eucalyptus.common.soap.security import TrustedPeers
from eucalyptus.common.soap.server import SoapRequestContext, add_soap_service
from eucalyptus.walrus import buckets, multipart, object_handlers, subresources
from eucalyptus.walrus.context import WalrusContext, WalrusLimits
from eucalyptus.walrus.identity import load_identity_client
from eucalyptus.walrus.migrations import MIGRATIONS
from eucalyptus.walrus.models import Bucket, ObjectVersion, Part
from eucalyptus.walrus.pipeline import S3Pipeline
from eucalyptus.walrus.post_upload import HANDLERS as POST_HANDLERS
from eucalyptus.walrus.storage import BlobStore

log = logging.getLogger("walrus")
WALRUS_KEY = web.AppKey("walrus", WalrusContext)
PROBE_SERVICE = ServiceDecl("Empyrean", "/services/Empyrean", (DESCRIBE_SERVICE,))


def walrus_database(dctx: DaemonContext) -> Database:
    """Walrus's database. On SQLite one worker thread runs every transaction: writers
    take the database's write lock first (:func:`objects.lock_bucket`), and queueing
    them here costs far less than SQLite's busy-wait backoff (p99 of concurrent small
    PUTs 95 ms rather than 250 ms, the same throughput)."""
    url = dctx.conf.get_str("WALRUS_DB_URL", "") or sqlite_url(dctx.paths.db_dir, "walrus")
    return Database(url, "walrus", workers=1 if url.startswith("sqlite") else 4)


def handler_table() -> dict[tuple[str, str, str], object]:
    table: dict[tuple[str, str, str], object] = {}
    for part in (
        buckets.HANDLERS,
        object_handlers.HANDLERS,
        multipart.HANDLERS,
        subresources.HANDLERS,
        POST_HANDLERS,
    ):
        table.update(part)
    return table


def remove_orphans(db: Database, store: BlobStore) -> int:
    """Delete every file under bukkits/ that no object or part row names."""

    def referenced(session: Session) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {name: set() for name in session.scalars(select(Bucket.name))}
        for bucket, blobs in session.execute(select(ObjectVersion.bucket, ObjectVersion.blobs)):
            names = found.setdefault(bucket, set())
            for item in ObjectVersion(blobs=blobs).blob_list():
                names.add(item[0])
        for bucket, blob in session.execute(select(Part.bucket, Part.blob)):
            found.setdefault(bucket, set()).add(blob)
        return found

    references = db.run_sync(referenced)
    removed = 0
    for directory in store.bucket_dirs():
        if directory not in references:
            log.warning("bucket directory %s has no bucket record: left in place", directory)
            continue
        removed += store.remove_orphans(directory, references[directory])
    for bucket in references:
        (store.root / bucket / ".tmp").mkdir(parents=True, exist_ok=True)
    return removed


async def build_app(dctx: DaemonContext) -> web.Application:
    db = walrus_database(dctx)
    db.migrate(MIGRATIONS)
    root = dctx.paths.var_lib / "bukkits"
    root.mkdir(parents=True, exist_ok=True)
    store = BlobStore(root)
    removed = remove_orphans(db, store)
    if removed:
        log.info("removed %d orphaned or temporary files under %s", removed, root)
    identity = load_identity_client(dctx.paths, dctx.conf)
    skew = dctx.conf.get_int("CLOCK_SKEW_SECONDS", 900, minimum=1)
    ctx = WalrusContext(
        paths=dctx.paths,
        conf=dctx.conf,
        db=db,
        store=store,
        identity=identity,
        limits=WalrusLimits.from_conf(dctx.conf),
        domain=dctx.conf.get_str("WALRUS_DOMAIN", ""),
        max_skew=timedelta(seconds=skew),
        cloud_canonical_id="",
    )
    app = web.Application()
    app[WALRUS_KEY] = ctx
    _add_probe_service(app, dctx)
    pipeline = S3Pipeline(ctx, handler_table())  # type: ignore[arg-type]

    async def entry(request: web.Request) -> web.StreamResponse:
        if request.path == "/healthz" and request.method == "GET":
            return await health(request)
        return await pipeline.handle(request)

    app.router.add_route("*", "/{tail:.*}", entry, expect_handler=_no_auto_continue)

    async def resources(_app: web.Application) -> AsyncIterator[None]:
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        identity.start(http)
        try:
            yield
        finally:
            await identity.close()
            await http.close()
            store.close()
            db.close()

    app.cleanup_ctx.append(resources)
    return app


async def _no_auto_continue(_request: web.Request) -> None:
    """Expect: 100-continue is answered by the pipeline once the request is authorised."""
    return None


def _add_probe_service(app: web.Application, dctx: DaemonContext) -> None:
    cert = dctx.paths.keys_dir / "cloud-cert.pem"
    if not cert.exists():
        log.warning("no cloud certificate in %s: DescribeService is off", dctx.paths.keys_dir)
        return

    async def describe(
        _request: DescribeServiceType, _context: SoapRequestContext
    ) -> DescribeServiceResponseType:
        return DescribeServiceResponseType(
            component_type="walrus",
            name="walrus",
            state="ENABLED",
            version=__version__,
            local_time=datetime.now(UTC),
        )

    add_soap_service(app, PROBE_SERVICE, {"DescribeService": describe}, TrustedPeers.load([cert]))
