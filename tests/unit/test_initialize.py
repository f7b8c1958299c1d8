"""``initialize_cloud``: makes the account and keys once, refuses twice, undoes a failure."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from eucalyptus.clc import initialize
from eucalyptus.clc.database import clc_database
from eucalyptus.clc.identity import store
from eucalyptus.clc.initialize import AlreadyInitialized, initialize_cloud
from eucalyptus.common import pki
from eucalyptus.common.config import EucaConf
from eucalyptus.common.paths import EucaPaths


def _tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def _admin(paths: EucaPaths) -> tuple[str, str, str]:
    db = clc_database(paths, EucaConf({}))
    try:

        def read(session: Session) -> tuple[str, str, str]:
            account = store.get_account(session, "eucalyptus")
            user = store.get_user(session, account, "admin")
            return account.name, account.number, user.name

        return db.run_sync(read)
    finally:
        db.close()


def test_initialize_makes_the_cloud_account_admin_and_cloud_keys(tmp_path: Path) -> None:
    paths = EucaPaths(tmp_path)
    result = initialize_cloud(paths, EucaConf({}))
    assert _admin(paths) == ("eucalyptus", result.account_number, "admin")
    assert stat.S_IMODE(result.cloud_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.keys_dir.stat().st_mode) == 0o700
    ca = pki.KeyPair.load(result.cloud_cert, result.cloud_key)
    assert ca.fingerprint == result.cloud_fingerprint
    assert pki.verify_issued_by(ca.cert, ca.cert)
    for directory in (paths.db_dir, paths.log_dir, paths.run_dir):
        assert directory.is_dir()


def test_initializing_twice_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    paths = EucaPaths(tmp_path)
    initialize_cloud(paths, EucaConf({}))
    key_before = (paths.keys_dir / "cloud-pk.pem").read_bytes()
    with pytest.raises(AlreadyInitialized, match=r"cloud-cert\.pem already exists"):
        initialize_cloud(paths, EucaConf({}))
    assert (paths.keys_dir / "cloud-pk.pem").read_bytes() == key_before


def test_a_database_holding_the_cloud_account_counts_as_initialised(tmp_path: Path) -> None:
    paths = EucaPaths(tmp_path)
    initialize_cloud(paths, EucaConf({}))
    for name in ("cloud-cert.pem", "cloud-pk.pem"):
        (paths.keys_dir / name).unlink()
    with pytest.raises(AlreadyInitialized, match="already holds the eucalyptus account"):
        initialize_cloud(paths, EucaConf({}))
    assert not (paths.keys_dir / "cloud-pk.pem").exists()


def test_checking_a_fresh_root_creates_nothing(tmp_path: Path) -> None:
    paths = EucaPaths(tmp_path / "root")
    assert initialize.initialization_evidence(paths, EucaConf({})) is None
    assert not (tmp_path / "root").exists()


def test_a_failure_writing_the_keys_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    (root / "etc/eucalyptus").mkdir(parents=True)
    (root / "etc/eucalyptus/eucalyptus.conf").write_text('LOGLEVEL="INFO"\n')
    before = _tree(root)

    def no_space(_path: Path, _cert: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pki, "write_certificate", no_space)
    with pytest.raises(OSError, match="No space"):
        initialize_cloud(EucaPaths(root), EucaConf({}))
    assert _tree(root) == before
    monkeypatch.undo()
    initialize_cloud(EucaPaths(root), EucaConf({}))  # and a retry then works


def test_a_failure_in_the_database_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(store, "create_account", broken)
    with pytest.raises(RuntimeError, match="disk I/O"):
        initialize_cloud(EucaPaths(tmp_path / "root"), EucaConf({}))
    assert not (tmp_path / "root").exists()
