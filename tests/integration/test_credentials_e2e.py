"""End to end, as an administrator does it: ``euca_conf --initialize``, start the CLC,
``euca_conf --get-credentials``, unzip, ``source eucarc``, and call IAM with boto3 and the
AWS CLI using nothing but the environment that eucarc set."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.support import (
    BIN,
    _drop_postgres_database,
    _postgres_database,
    free_port,
    wait_healthy,
)


def _euca_conf(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "euca_conf"), "-d", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def clc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    root = tmp_path_factory.mktemp("euca")
    port = free_port()
    (root / "etc/eucalyptus").mkdir(parents=True)
    conf = f'CLC_PORT="{port}"\n'
    pg = _postgres_database()  # when the run has a PostgreSQL server (./run-tests)
    if pg is not None:
        conf += f'CLC_DB_URL="{pg[0]}"\n'
    (root / "etc/eucalyptus/eucalyptus.conf").write_text(conf)
    init = _euca_conf(root, "--initialize")
    assert init.returncode == 0, init.stderr
    assert "Initialization successful." in init.stdout
    log = (root / "cloud.stderr").open("ab")
    proc = subprocess.Popen(
        [str(BIN / "eucalyptus-cloud"), "--eucalyptus", str(root), "--port", str(port),
         "--log-stderr"],
        stdout=log, stderr=log,
    )  # fmt: skip
    try:
        wait_healthy(port, proc)
        yield root, port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if pg is not None:
            _drop_postgres_database(pg[1])


def test_initializing_again_fails_in_one_line(clc: tuple[Path, int]) -> None:
    again = _euca_conf(clc[0], "--initialize")
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1
    assert "already initialised" in again.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_sourced_eucarc_drives_boto3_and_the_aws_cli(
    clc: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, port = clc
    zip_path = tmp_path / "admin.zip"
    got = _euca_conf(root, "--get-credentials", str(zip_path))
    assert got.returncode == 0, got.stderr
    creds = tmp_path / "creds"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(creds)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(elsewhere)}
    out = subprocess.run(
        ["bash", "-c", "source ../creds/eucarc && env -0"],
        cwd=elsewhere, env=clean, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    env = dict(item.split("=", 1) for item in out.split("\0") if "=" in item)
    assert env["AWS_ENDPOINT_URL_IAM"] == f"http://127.0.0.1:{port}/services/Euare"
    assert Path(env["EC2_CERT"]).is_file()

    aws_env = {k: v for k, v in env.items() if k.startswith("AWS_")}
    aws_env["AWS_CONFIG_FILE"] = aws_env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    for name, value in aws_env.items():
        monkeypatch.setenv(name, value)
    user = boto3.session.Session().client("iam").get_user()["User"]
    assert user["UserName"] == "admin"
    assert f"::{env['EC2_ACCOUNT_NUMBER']}:user/admin" in user["Arn"]

    aws = BIN / "aws"
    if aws.exists():
        cli = subprocess.run(
            [str(aws), "iam", "get-user", "--output", "json"],
            env={**clean, **aws_env}, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["User"]["UserName"] == "admin"
