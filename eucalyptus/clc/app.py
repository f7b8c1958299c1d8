"""The CLC daemon (``eucalyptus-cloud``): Euare, component registration, health.

The EC2 API at /services/Eucalyptus (and /services/compute) answers through the
same pipeline; its actions arrive with the EC2 issues, until then every action is
``InvalidAction`` after authentication.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from eucalyptus.clc.configuration import configuration_handlers, trusted_admin_peers
from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.database import clc_database
from eucalyptus.clc.iam.service import iam_service
from eucalyptus.clc.identity.access import ClcAuthenticator
from eucalyptus.clc.identity.principal import Principal
from eucalyptus.clc.identity_service import identity_handlers, trusted_identity_peers
from eucalyptus.clc.migrations import MIGRATIONS
from eucalyptus.common.api.query_service import QueryService
from eucalyptus.common.daemon import DaemonContext
from eucalyptus.common.db import utcnow
from eucalyptus.common.soap.credentials_msgs import CLC_CONFIGURATION_SERVICE
from eucalyptus.common.soap.identity_msgs import IDENTITY_SERVICE
from eucalyptus.common.soap.server import add_soap_service

log = logging.getLogger("cloud")
CLC_KEY = web.AppKey("clc", ClcContext)
DEFAULT_PORT = 8773


async def build_app(dctx: DaemonContext) -> web.Application:
    """The CLC application; its cleanup context releases the database and HTTP client."""
    db = clc_database(dctx.paths, dctx.conf)
    version = db.migrate(MIGRATIONS)
    log.info("database %s at schema version %d", _safe_url(db.url), version)
    public_host = dctx.conf.get_str("CLC_HOST", "") or (
        "127.0.0.1" if dctx.host in ("0.0.0.0", "") else dctx.host  # noqa: S104
    )
    ctx = ClcContext(
        paths=dctx.paths,
        conf=dctx.conf,
        db=db,
        public_host=public_host,
        port=dctx.port,
        started_at=utcnow(),
    )
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[CLC_KEY] = ctx
    authenticator = ClcAuthenticator(db, ctx.policies)
    euare = iam_service(ctx, authenticator)
    ec2: QueryService[Principal] = QueryService("ec2", {}, authenticator)
    for path in ("/services/Euare", "/services/Euare/"):
        app.router.add_route("POST", path, euare.handle)
        app.router.add_route("GET", path, euare.handle)
    for path in (
        "/services/Eucalyptus",
        "/services/Eucalyptus/",
        "/services/compute",
        "/services/compute/",
    ):
        app.router.add_route("POST", path, ec2.handle)
        app.router.add_route("GET", path, ec2.handle)
    _add_configuration_service(app, ctx)
    _add_identity_service(app, ctx)

    async def resources(_app: web.Application) -> AsyncIterator[None]:
        ctx.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        try:
            yield
        finally:
            await ctx.http.close()
            db.close()

    app.cleanup_ctx.append(resources)
    return app


def _add_configuration_service(app: web.Application, ctx: ClcContext) -> None:
    """Component registration over the internal SOAP (needs the cloud keys)."""
    if not (ctx.paths.keys_dir / "cloud-cert.pem").exists():
        log.warning(
            "no cloud keys in %s: component registration is off until `euca_conf --initialize`",
            ctx.paths.keys_dir,
        )
        return
    add_soap_service(
        app,
        CLC_CONFIGURATION_SERVICE,
        configuration_handlers(ctx, CLC_CONFIGURATION_SERVICE),
        trusted_admin_peers(ctx.paths),
    )


def _add_identity_service(app: web.Application, ctx: ClcContext) -> None:
    """Access key and account lookups for Walrus over the internal SOAP (needs the cloud keys;
    :func:`_add_configuration_service` has warned when they are missing)."""
    if not (ctx.paths.keys_dir / "cloud-cert.pem").exists():
        return
    add_soap_service(
        app, IDENTITY_SERVICE, identity_handlers(ctx), trusted_identity_peers(ctx.paths)
    )


def _safe_url(url: str) -> str:
    """The database URL without a password, for the log."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
