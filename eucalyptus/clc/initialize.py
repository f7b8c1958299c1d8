"""``euca_conf --initialize``: the one-time set-up of a cloud controller.

:func:`initialize_cloud` makes, under the ``$EUCALYPTUS`` root:

* the directories ``var/lib/eucalyptus/{db,keys}`` (keys 0700), ``var/log/eucalyptus``,
  ``var/run/eucalyptus``;
* the CLC database (``CLC_DB_URL`` or SQLite ``db/cloud.db``) at the current schema, holding
  the ``eucalyptus`` account and its ``admin`` user (no access key yet: the first
  credentials download makes one, as in the original);
* the cloud CA, ``keys/cloud-cert.pem`` (0644) and ``keys/cloud-pk.pem`` (0600).

It works with the CLC stopped (it talks to the database and the files directly). It
refuses, with :class:`AlreadyInitialized`, when the cloud keys exist or the database already
holds the ``eucalyptus`` account. Nothing is left half-done: if any step fails, the key
files, the SQLite database file and the directories it created are removed again and the
account is rolled back. (On a PostgreSQL database the empty schema tables created by the
migration stay; they are exactly what a start of the CLC would create.) The original's Java
keystore ``euca.p12`` has no use here and is not made.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from eucalyptus.clc.database import clc_database, clc_database_url
from eucalyptus.clc.identity import names, store
from eucalyptus.clc.identity.models import Account
from eucalyptus.clc.migrations import MIGRATIONS
from eucalyptus.common import pki
from eucalyptus.common.config import EucaConf
from eucalyptus.common.db import make_engine
from eucalyptus.common.errors import EucalyptusError
from eucalyptus.common.paths import EucaPaths

log = logging.getLogger(__name__)

CLOUD_CERT = "cloud-cert.pem"
CLOUD_KEY = "cloud-pk.pem"


class AlreadyInitialized(EucalyptusError):
    """The cloud was initialised before; the message says what was found."""


@dataclass(frozen=True)
class InitResult:
    """What :func:`initialize_cloud` made."""

    database_url: str
    account_number: str
    cloud_cert: Path
    cloud_key: Path
    #: SHA-256 (hex) of the cloud certificate
    cloud_fingerprint: str


def cloud_cert_path(paths: EucaPaths) -> Path:
    return paths.keys_dir / CLOUD_CERT


def cloud_key_path(paths: EucaPaths) -> Path:
    return paths.keys_dir / CLOUD_KEY


def load_cloud_ca(paths: EucaPaths) -> pki.KeyPair:
    """The cloud CA from ``keys/``; raises :class:`pki.PkiError` when absent or broken."""
    return pki.KeyPair.load(cloud_cert_path(paths), cloud_key_path(paths))


def initialization_evidence(paths: EucaPaths, conf: EucaConf) -> str | None:
    """Why this root counts as initialised, or None when it does not. Changes nothing.

    Evidence is either cloud key file, or a database that holds the ``eucalyptus``
    account. A SQLite database file that does not exist is not opened (so not created).
    """
    for path in (cloud_cert_path(paths), cloud_key_path(paths)):
        if path.exists():
            return f"{path} already exists"
    url = clc_database_url(paths, conf)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(Account.__tablename__):
                return None
            found = conn.execute(
                select(Account.id).where(Account.name == names.CLOUD_ACCOUNT)
            ).first()
    finally:
        engine.dispose()
    if found is not None:
        return f"the database already holds the {names.CLOUD_ACCOUNT} account"
    return None


def initialize_cloud(
    paths: EucaPaths, conf: EucaConf, *, ca_common_name: str = "www.eucalyptus.com"
) -> InitResult:
    """Initialise the cloud at ``paths.root`` (see the module docstring for the contract).

    Raises :class:`AlreadyInitialized` before changing anything when the cloud was
    initialised; ``ConfigError`` for a bad ``CLC_DB_URL``; anything else a failing step
    raises, after undoing what this call made.
    """
    url = clc_database_url(paths, conf)
    evidence = initialization_evidence(paths, conf)
    if evidence is not None:
        raise AlreadyInitialized(f"the cloud is already initialised: {evidence}")
    undo = _Undo()
    try:
        for directory, mode in (
            (paths.var_lib, 0o755),
            (paths.db_dir, 0o700),
            (paths.keys_dir, 0o700),
            (paths.log_dir, 0o755),
            (paths.run_dir, 0o755),
        ):
            undo.make_dir(directory, mode)
        if url.startswith("sqlite:///"):
            undo.sqlite_file(Path(url.removeprefix("sqlite:///")))
        ca = pki.make_cloud_ca(ca_common_name)
        cert_path, key_path = cloud_cert_path(paths), cloud_key_path(paths)
        db = clc_database(paths, conf)
        try:
            db.migrate(MIGRATIONS)

            def create(session: Session) -> str:
                if (
                    session.scalar(select(Account.id).where(Account.name == names.CLOUD_ACCOUNT))
                    is not None
                ):
                    raise AlreadyInitialized(
                        f"the database already holds the {names.CLOUD_ACCOUNT} account"
                    )
                account, _admin = store.create_account(session, names.CLOUD_ACCOUNT)
                # the files are written inside the transaction: if they fail, the account
                # is rolled back; if the commit fails, the undo list removes them
                undo.file(key_path)
                undo.file(cert_path)
                ca.save(cert_path, key_path)
                return account.number

            number = db.run_sync(create)
        finally:
            db.close()
    except BaseException:
        undo.run()
        raise
    log.info("cloud initialised under %s: account %s", paths.root, number)
    return InitResult(
        database_url=url,
        account_number=number,
        cloud_cert=cert_path,
        cloud_key=key_path,
        cloud_fingerprint=ca.fingerprint,
    )


class _Undo:
    """What this call created, removed in reverse order by :meth:`run`."""

    def __init__(self) -> None:
        self._steps: list[Callable[[], None]] = []

    def make_dir(self, directory: Path, mode: int) -> None:
        """Create ``directory`` and missing parents; only those created are undone."""
        missing: list[Path] = []
        current = directory
        while not current.exists():
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            path.mkdir(mode=mode if path == directory else 0o755)
            os.chmod(path, mode if path == directory else 0o755)  # mkdir's mode meets umask
            self._steps.append(functools.partial(_rmdir_if_empty, path))

    def sqlite_file(self, path: Path) -> None:
        """Remove the database file and its WAL/SHM companions unless it existed before."""
        if path.exists():
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            companion = path.with_name(path.name + suffix)
            self._steps.append(functools.partial(_unlink, companion))

    def file(self, path: Path) -> None:
        """Remove ``path`` on undo unless it existed when this was called."""
        if not path.exists():
            self._steps.append(functools.partial(_unlink, path))

    def run(self) -> None:
        for step in reversed(self._steps):
            try:
                step()
            except OSError as exc:  # keep undoing the rest; say what stays behind
                log.warning("could not undo a step of the initialisation: %s", exc)
        self._steps.clear()


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _rmdir_if_empty(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if not any(path.iterdir()):
            path.rmdir()
