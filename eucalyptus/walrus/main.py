"""The walrus daemon (``eucalyptus-walrus``): Walrus, the S3 store (see :mod:`.app`)."""

from __future__ import annotations

from eucalyptus.common.daemon import run_daemon
from eucalyptus.walrus.app import build_app

DEFAULT_PORT = 8773


def main(argv: list[str] | None = None) -> int:
    return run_daemon(
        "walrus", build_app, default_port=DEFAULT_PORT, port_key="WALRUS_PORT", argv=argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
