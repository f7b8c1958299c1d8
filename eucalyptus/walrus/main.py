"""The walrus daemon (`eucalyptus-walrus`): Walrus, the S3 store.

Only the daemon skeleton so far (health endpoint, logging, pid file, graceful stop);
its APIs arrive with their own issues.
"""

from __future__ import annotations

from aiohttp import web

from eucalyptus.common.daemon import DaemonContext, run_daemon

DEFAULT_PORT = 8773


async def build_app(dctx: DaemonContext) -> web.Application:
    return web.Application()


def main(argv: list[str] | None = None) -> int:
    return run_daemon(
        "walrus", build_app, default_port=DEFAULT_PORT, port_key="WALRUS_PORT", argv=argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
