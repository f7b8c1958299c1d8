"""The daemon skeleton shared by the five components.

Each component provides one application factory ``build_app(ctx) -> web.Application``
and registers its resources with ``app.cleanup_ctx`` so that shutdown releases
exactly what start-up took. :func:`run_daemon` does the rest: arguments, the
configuration file, logging, the pid file, the listening socket, a health
endpoint, and a graceful stop on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from eucalyptus import __version__
from eucalyptus.common.config import EucaConf
from eucalyptus.common.errors import ConfigError
from eucalyptus.common.logs import level_from_name, setup_logging
from eucalyptus.common.paths import EucaPaths

log = logging.getLogger(__name__)


@dataclass
class DaemonContext:
    """What a component's application factory is given."""

    component: str
    paths: EucaPaths
    conf: EucaConf
    host: str
    port: int
    started_at: float = field(default_factory=time.time)


AppFactory = Callable[[DaemonContext], Awaitable[web.Application]]
CTX_KEY = web.AppKey("daemon_context", DaemonContext)


async def health(request: web.Request) -> web.Response:
    """``GET /healthz``: liveness for operators and tests (no authentication, no secrets)."""
    ctx = request.app[CTX_KEY]
    return web.json_response(
        {
            "component": ctx.component,
            "status": "ok",
            "version": __version__,
            "uptime_seconds": round(time.time() - ctx.started_at, 3),
        }
    )


def add_health(app: web.Application, ctx: DaemonContext) -> None:
    app[CTX_KEY] = ctx
    app.router.add_get("/healthz", health)


class PidFile:
    """``<component>.pid``: refuses to start over a live process, removed on exit."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            other = int(self.path.read_text().strip() or "0")
        except (FileNotFoundError, ValueError):
            other = 0
        if other and other != os.getpid() and _alive(other):
            raise ConfigError(f"{self.path}: already running as pid {other}")
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{os.getpid()}\n")
        tmp.replace(self.path)

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError, ValueError):
            if int(self.path.read_text().strip()) == os.getpid():
                self.path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parse_args(component: str, default_port: int, argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"eucalyptus-{component}")
    parser.add_argument("--eucalyptus", "-e", help="install root ($EUCALYPTUS, default /)")
    parser.add_argument("--bind", default=None, help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=None, help=f"port (default {default_port})")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARN, ERROR, ...")
    parser.add_argument("--log-stderr", action="store_true", help="log to stderr, not the file")
    return parser.parse_args(argv)


def run_daemon(
    component: str,
    factory: AppFactory,
    *,
    default_port: int,
    port_key: str,
    argv: Sequence[str] | None = None,
) -> int:
    """Run one daemon until SIGTERM/SIGINT; returns the process exit code."""
    args = parse_args(component, default_port, argv)
    paths = EucaPaths.from_env(args.eucalyptus)
    try:
        conf = EucaConf.load(paths.conf_file)
        level_name = args.log_level or conf.get_str("LOGLEVEL", "INFO") or "INFO"
        level = level_from_name(level_name)
        port = args.port or conf.get_int(port_key, default_port, minimum=1, maximum=65535)
    except (ConfigError, ValueError) as exc:
        print(f"eucalyptus-{component}: {exc}", file=sys.stderr, flush=True)
        return 2
    paths.make_dirs()
    setup_logging(component, None if args.log_stderr else paths.log_file(component), level)
    ctx = DaemonContext(component, paths, conf, args.bind or "0.0.0.0", port)  # noqa: S104
    pid_file = PidFile(paths.pid_file(component))
    try:
        pid_file.acquire()
    except ConfigError as exc:
        log.error("%s", exc)
        return 1
    try:
        asyncio.run(_serve(ctx, factory))
    except ConfigError as exc:
        log.error("refusing to start: %s", exc)
        return 2
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1
    finally:
        pid_file.release()
    return 0


async def _serve(ctx: DaemonContext, factory: AppFactory) -> None:
    app = await factory(ctx)
    add_health(app, ctx)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, ctx.host, ctx.port, reuse_address=True, backlog=1024)
        await site.start()
        log.info(
            "eucalyptus-%s %s listening on %s:%d (root %s, pid %d)",
            ctx.component,
            __version__,
            ctx.host,
            ctx.port,
            ctx.paths.root,
            os.getpid(),
        )
        await stop.wait()
        log.info("stopping on signal")
    finally:
        await runner.cleanup()
        log.info("stopped")
