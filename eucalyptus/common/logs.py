"""Logging in the original's style, with a correlation id on every line that has one.

Each daemon writes ``$EUCALYPTUS/var/log/eucalyptus/<component>.log``::

    2026-11-21 02:41:07 INFO  [cloud-cert] 5f0c...d2 | GetUser for arn:aws:iam::...

The id is the request id (or the SOAP correlation id) of the work the line belongs
to, carried in a context variable so that it follows the request across awaits
and into worker threads started with ``contextvars.copy_context``.
"""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import sys
from pathlib import Path

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")

#: eucalyptus.conf LOGLEVEL / cloud.euca_log_level names, as the original spells them
LEVELS = {
    "ALL": logging.DEBUG,
    "EXTREME": logging.DEBUG,
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
    "OFF": logging.CRITICAL + 10,
}


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        cid = correlation_id.get()
        record.correlation = f" {cid} |" if cid else " |"
        return True


FORMAT = "%(asctime)s %(levelname)-5s [%(name)s]%(correlation)s %(message)s"


def level_from_name(name: str) -> int:
    """A logging level from an original level name; ValueError on an unknown one."""
    try:
        return LEVELS[name.strip().upper()]
    except KeyError:
        raise ValueError(f"unknown log level {name!r}; one of {', '.join(LEVELS)}") from None


def setup_logging(component: str, log_file: Path | None, level: int) -> None:
    """Send the root logger to ``log_file`` (and stderr when it is a terminal)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter(FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = []
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")  # logrotate-safe
        )
    if log_file is None or sys.stderr.isatty():
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(_CorrelationFilter())
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(max(level, logging.WARNING))
    logging.getLogger(component).debug("logging at level %s", logging.getLevelName(level))
