"""Running real daemons for tests: a temporary $EUCALYPTUS root, free ports, subprocesses.

The CLC runs as the real ``eucalyptus-cloud`` program, talked to over HTTP. When
``EUCA_TEST_PG_ADMIN_URL`` is set (``./run-tests`` sets it after starting Debian's
PostgreSQL), every cloud gets its own fresh PostgreSQL database instead of SQLite.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eucalyptus.clc.database import clc_database
from eucalyptus.clc.identity import store
from eucalyptus.clc.initialize import initialize_cloud
from eucalyptus.common.config import EucaConf
from eucalyptus.common.paths import EucaPaths

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"daemon on port {port} not healthy after {timeout}s")


def start_daemon(component: str, root: Path, port: int) -> subprocess.Popen[bytes]:
    """``eucalyptus-<component>`` on ``root`` at 127.0.0.1:``port``, once it is healthy.

    Its stdout and stderr go to ``<root>/<component>.stderr`` (the log file is its own).
    """
    program = "eucalyptus-cloud" if component == "cloud" else f"eucalyptus-{component}"
    log = open(root / f"{component}.stderr", "ab")  # noqa: SIM115 - kept for the process
    proc = subprocess.Popen(
        [str(BIN / program), "--eucalyptus", str(root), "--bind", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=log,
    )
    wait_healthy(port, proc)
    return proc


def stop_daemon(proc: subprocess.Popen[bytes], *, kill: bool = False) -> int:
    """SIGTERM (or SIGKILL) and wait; the exit status."""
    proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    return proc.wait(timeout=20)


def _postgres_database() -> tuple[str, str] | None:
    """(url, name) of a fresh PostgreSQL database, when the test run has a server."""
    admin_url = os.environ.get("EUCA_TEST_PG_ADMIN_URL")
    if not admin_url:
        return None
    import psycopg2

    name = "euca_test_" + secrets.token_hex(6)
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        # a natural-language collation, as production servers have (not "C"), so that
        # any ordering left to the database shows up in the tests
        try:
            cursor.execute(
                f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            )
        except psycopg2.Error:
            cursor.execute(f"CREATE DATABASE {name}")
    conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name, name


def _drop_postgres_database(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(os.environ["EUCA_TEST_PG_ADMIN_URL"])
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    conn.close()


@dataclass
class Cloud:
    """One initialised cloud under a temporary root, with its CLC daemon."""

    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    admin_key: tuple[str, str] = ("", "")
    pg_name: str | None = None
    log_level: str = "DEBUG"
    #: the port the cloud's Walrus listens on: written into eucalyptus.conf (WALRUS_PORT)
    #: before the CLC starts, so that the eucarc and s3cfg it hands out name it
    walrus_port: int = field(default_factory=free_port)

    @property
    def paths(self) -> EucaPaths:
        return EucaPaths(self.root)

    @property
    def conf(self) -> EucaConf:
        return EucaConf.load(self.paths.conf_file)

    def url(self, service: str = "Euare") -> str:
        return f"http://127.0.0.1:{self.port}/services/{service}"

    def initialize(self) -> None:
        self.paths.conf_file.parent.mkdir(parents=True, exist_ok=True)
        lines = [
            f'CLC_PORT="{self.port}"',
            f'LOGLEVEL="{self.log_level}"',
            *self.walrus_conf_lines(),
        ]
        pg = _postgres_database()
        if pg is not None:
            url, self.pg_name = pg
            lines.append(f'CLC_DB_URL="{url}"')
        self.paths.conf_file.write_text("\n".join(lines) + "\n")
        initialize_cloud(self.paths, self.conf)
        db = clc_database(self.paths, self.conf)
        try:

            def admin_key(session):  # type: ignore[no-untyped-def]
                account = store.get_account(session, "eucalyptus")
                key = store.active_key_or_new(session, store.get_user(session, account, "admin"))
                return key.key_id, key.secret

            self.admin_key = db.run_sync(admin_key)
        finally:
            db.close()

    def walrus_conf_lines(self) -> list[str]:
        return ['WALRUS_HOST="127.0.0.1"', f'WALRUS_PORT="{self.walrus_port}"']

    def start(self) -> None:
        self.proc = start_daemon("cloud", self.root, self.port)

    def stop(self, *, kill: bool = False) -> int:
        assert self.proc is not None
        code = stop_daemon(self.proc, kill=kill)
        self.proc = None
        return code

    def close(self) -> None:
        if self.proc is not None:
            self.stop(kill=True)
        if self.pg_name:
            _drop_postgres_database(self.pg_name)

    def log_text(self) -> str:
        path = self.paths.log_file("cloud")
        return path.read_text() if path.exists() else ""


@dataclass
class Walrus:
    """The ``eucalyptus-walrus`` daemon of a :class:`Cloud` (same root, its own port).

    It shares the cloud's eucalyptus.conf (so, under PostgreSQL, the cloud's database
    through WALRUS_DB_URL) and its keys, and asks that cloud's CLC for identities. Its
    port is the cloud's ``walrus_port`` (the one eucarc names) unless given: a second
    Walrus of the same cloud running at the same time needs ``port=free_port()``.
    """

    cloud: Cloud
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    extra_conf: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.port:
            self.port = self.cloud.walrus_port

    @property
    def endpoint(self) -> str:
        """The root of the port (S3 at the root)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/Walrus"

    @property
    def bukkits(self) -> Path:
        return self.cloud.paths.var_lib / "bukkits"

    def configure(self) -> None:
        conf = self.cloud.paths.conf_file
        lines = [
            line
            for line in conf.read_text().splitlines()
            if not line.startswith(("WALRUS_", "CLC_HOST="))
        ]
        lines.append('CLC_HOST="127.0.0.1"')
        lines += self.cloud.walrus_conf_lines()
        for line in list(lines):
            if line.startswith("CLC_DB_URL="):
                lines.append("WALRUS_DB_URL=" + line.split("=", 1)[1])
        lines += [f'{name}="{value}"' for name, value in self.extra_conf.items()]
        conf.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        self.configure()
        self.proc = start_daemon("walrus", self.cloud.root, self.port)

    def stop(self, *, kill: bool = False) -> int:
        assert self.proc is not None
        code = stop_daemon(self.proc, kill=kill)
        self.proc = None
        return code

    def close(self) -> None:
        if self.proc is not None:
            self.stop(kill=True)

    def log_text(self) -> str:
        path = self.cloud.paths.log_file("walrus")
        return path.read_text() if path.exists() else ""


def s3_client(endpoint: str, key: tuple[str, str], **config: Any) -> Any:
    """A boto3 S3 client for Walrus: path style, region ``eucalyptus``, no retries
    (a test sees the first answer); ``config`` adds botocore Config settings."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        region_name="eucalyptus",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
    )
