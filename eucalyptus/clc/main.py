"""``eucalyptus-cloud``: the cloud controller daemon."""

from __future__ import annotations

from eucalyptus.clc.app import DEFAULT_PORT, build_app
from eucalyptus.common.daemon import run_daemon


def main(argv: list[str] | None = None) -> int:
    return run_daemon("cloud", build_app, default_port=DEFAULT_PORT, port_key="CLC_PORT", argv=argv)


if __name__ == "__main__":
    raise SystemExit(main())
