"""The credentials zip: members, modes, eucarc that works from anywhere, what it records."""

from __future__ import annotations

import io
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eucalyptus.clc.credentials import StaticEndpoints, make_credentials_zip
from eucalyptus.clc.database import clc_database
from eucalyptus.clc.identity import store
from eucalyptus.clc.identity.models import AccessKey, SigningCertificate
from eucalyptus.clc.initialize import initialize_cloud
from eucalyptus.common import pki
from eucalyptus.common.config import EucaConf
from eucalyptus.common.db import Database
from eucalyptus.common.errors import NoSuchEntity
from eucalyptus.common.paths import EucaPaths

ENDPOINTS = StaticEndpoints(
    ec2_url="http://10.9.8.7:8773/services/Eucalyptus",
    s3_url="http://10.9.8.7:8773/services/Walrus",
    iam_url="http://10.9.8.7:8773/services/Euare",
    token_url="http://10.9.8.7:8773/services/Tokens",
)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EucaPaths, Database]]:
    paths = EucaPaths(tmp_path_factory.mktemp("root"))
    initialize_cloud(paths, EucaConf({}))
    db = clc_database(paths, EucaConf({}))

    def add_user(session: Session) -> None:
        account, _admin = store.create_account(session, "acme")
        store.create_user(session, account, "alice", None)

    db.run_sync(add_user)
    try:
        yield paths, db
    finally:
        db.close()


def _zip(cloud: tuple[EucaPaths, Database], account: str, user: str) -> bytes:
    paths, db = cloud
    return db.run_sync(lambda s: make_credentials_zip(s, ENDPOINTS, paths, account, user))


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_the_zip_holds_eucarc_iamrc_s3cfg_the_cloud_cert_and_a_new_pair_all_0600(
    cloud: tuple[EucaPaths, Database],
) -> None:
    data = _zip(cloud, "acme", "alice")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        modes = {
            info.filename: stat.S_IMODE(info.external_attr >> 16) for info in archive.infolist()
        }
    names = sorted(modes)
    assert set(modes.values()) == {0o600}
    members = _members(data)
    cert_name = next(n for n in names if n.endswith("-cert.pem") and n.startswith("euca2-"))
    key_name = cert_name.replace("-cert.pem", "-pk.pem")
    assert sorted(names) == sorted(
        ["eucarc", "iamrc", "s3cfg", "cloud-cert.pem", cert_name, key_name]
    )
    cert = x509.load_pem_x509_certificate(members[cert_name])
    key = serialization.load_pem_private_key(members[key_name], None)
    fingerprint = pki.key_fingerprint(cert.public_key())  # type: ignore[arg-type]
    assert cert_name == f"euca2-alice-{fingerprint[:8]}-cert.pem"
    assert pki.public_keys_match(key.public_key(), cert.public_key())
    cloud_cert = x509.load_pem_x509_certificate(members["cloud-cert.pem"])
    assert pki.verify_issued_by(cert, cloud_cert)


def test_iamrc_and_eucarc_carry_the_users_active_key_and_account(
    cloud: tuple[EucaPaths, Database],
) -> None:
    _paths, db = cloud
    members = _members(_zip(cloud, "acme", "alice"))

    def key_and_number(session: Session) -> tuple[str, str, str]:
        account = store.get_account(session, "acme")
        user = store.get_user(session, account, "alice")
        key = store.active_key_or_new(session, user)
        return key.key_id, key.secret, account.number

    key_id, secret, number = db.run_sync(key_and_number)
    assert members["iamrc"].decode() == f"AWSAccessKeyId={key_id}\nAWSSecretKey={secret}\n"
    s3cfg = members["s3cfg"].decode()
    assert f"access_key = {key_id}\n" in s3cfg
    assert f"secret_key = {secret}\n" in s3cfg
    assert "signature_v2 = True\n" in s3cfg
    eucarc = members["eucarc"].decode()
    assert f"export EC2_ACCOUNT_NUMBER={number}" in eucarc
    assert "export EC2_URL=http://10.9.8.7:8773/services/Eucalyptus" in eucarc


def test_every_call_mints_a_new_certificate_but_reuses_the_active_key(
    cloud: tuple[EucaPaths, Database],
) -> None:
    _paths, db = cloud
    first, second = _members(_zip(cloud, "acme", "alice")), _members(_zip(cloud, "acme", "alice"))
    assert first["iamrc"] == second["iamrc"]
    assert {n for n in first if n.startswith("euca2-")}.isdisjoint(second)

    def counts(session: Session) -> tuple[int, int]:
        user = store.get_user(session, store.get_account(session, "acme"), "alice")
        keys = session.scalar(select(func.count()).where(AccessKey.user_id == user.id))
        certs = session.scalar(select(func.count()).where(SigningCertificate.user_id == user.id))
        return keys or 0, certs or 0

    keys, certs = db.run_sync(counts)
    assert keys == 1
    assert certs >= 2


def test_an_unknown_account_or_user_gets_no_such_entity(
    cloud: tuple[EucaPaths, Database],
) -> None:
    with pytest.raises(NoSuchEntity, match="bob"):
        _zip(cloud, "acme", "bob")
    with pytest.raises(NoSuchEntity, match="nobody"):
        _zip(cloud, "nobody", "admin")


def test_a_failure_after_the_key_was_made_keeps_neither_key_nor_certificate(
    cloud: tuple[EucaPaths, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    _paths, db = cloud
    db.run_sync(lambda s: store.create_user(s, store.get_account(s, "acme"), "carol", None))

    def refuse(*_args: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(store, "add_signing_certificate", refuse)
    with pytest.raises(RuntimeError, match="went away"):
        _zip(cloud, "acme", "carol")

    def held(session: Session) -> int:
        user = store.get_user(session, store.get_account(session, "acme"), "carol")
        return len(store.list_access_keys(session, user))

    assert db.run_sync(held) == 0


def _source_env(eucarc: Path, cwd: Path) -> dict[str, str]:
    out = subprocess.run(
        ["bash", "-c", f"source {eucarc} && env -0"],
        cwd=cwd,
        capture_output=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    ).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_sourcing_eucarc_from_another_directory_gives_absolute_paths(
    cloud: tuple[EucaPaths, Database], tmp_path: Path
) -> None:
    creds = tmp_path / "my creds"  # a space, to prove the quoting
    creds.mkdir()
    with zipfile.ZipFile(io.BytesIO(_zip(cloud, "eucalyptus", "admin"))) as archive:
        archive.extractall(creds)
    link = tmp_path / "link"
    link.symlink_to(creds)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _source_env(Path("..") / "link" / "eucarc", elsewhere)
    key_dir = creds.resolve()
    assert env["EUCA_KEY_DIR"] == str(key_dir)
    for name in ("EC2_CERT", "EC2_PRIVATE_KEY", "EUCALYPTUS_CERT", "AWS_CREDENTIAL_FILE"):
        assert Path(env[name]).is_absolute()
        assert Path(env[name]).parent == key_dir
        assert Path(env[name]).is_file()
    iamrc = (creds / "iamrc").read_text()
    assert f"AWSAccessKeyId={env['AWS_ACCESS_KEY_ID']}\n" in iamrc
    for alias in ("EC2_ACCESS_KEY", "AWS_ACCESS_KEY"):
        assert env[alias] == env["AWS_ACCESS_KEY_ID"]
    for alias in ("EC2_SECRET_KEY", "AWS_SECRET_KEY"):
        assert env[alias] == env["AWS_SECRET_ACCESS_KEY"]
    assert env["EUARE_URL"] == env["AWS_IAM_URL"] == env["AWS_ENDPOINT_URL_IAM"]
    assert env["TOKEN_URL"] == env["TOKENS_URL"] == env["AWS_ENDPOINT_URL_STS"]
    assert env["S3_URL"] == env["AWS_ENDPOINT_URL_S3"] == ENDPOINTS.s3_url
    assert env["EC2_URL"] == env["AWS_ENDPOINT_URL_EC2"] == ENDPOINTS.ec2_url
    assert env["AWS_DEFAULT_REGION"] == "eucalyptus"
    assert env["EC2_USER_ID"] == env["EC2_ACCOUNT_NUMBER"]


def test_boto3_takes_every_endpoint_and_the_region_from_the_eucarc_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eucalyptus")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    for service, url in (
        ("ec2", ENDPOINTS.ec2_url),
        ("iam", ENDPOINTS.iam_url),
        ("s3", ENDPOINTS.s3_url),
        ("sts", ENDPOINTS.token_url),
    ):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper()}", url)
    session = boto3.session.Session()
    for service, url in (("ec2", ENDPOINTS.ec2_url), ("iam", ENDPOINTS.iam_url)):
        client = session.client(service)
        assert client.meta.endpoint_url == url
        assert client.meta.region_name == "eucalyptus"
    assert session.client("sts").meta.endpoint_url == ENDPOINTS.token_url
    assert session.client("s3").meta.endpoint_url == ENDPOINTS.s3_url
