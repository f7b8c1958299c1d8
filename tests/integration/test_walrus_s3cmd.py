"""Walrus driven by s3cmd (Signature Version 2) with the ``s3cfg`` of the credentials zip.

``eucarc`` exports ``S3CMD_CONFIG`` naming the zip's ``s3cfg``: path style at the root of
Walrus's port (``host_base`` = ``host_bucket`` = host:port), ``signature_v2 = True``.
Every command runs with only the environment sourcing eucarc gives (HOME a fresh
directory, so no ~/.s3cfg).
"""

from __future__ import annotations

import filecmp
import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.eucarc import eucarc_environment, get_credentials
from tests.support import BIN, Cloud, Walrus

S3CMD = BIN / "s3cmd"

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not S3CMD.exists(), reason="needs s3cmd in the venv"),
]


@pytest.fixture(scope="module")
def env(cloud: Cloud, walrus: Walrus, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("s3cmd")
    creds = get_credentials(cloud, base)
    return eucarc_environment(creds, base / "home")


def s3cmd(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(S3CMD), "--no-progress", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, f"s3cmd {' '.join(args)}: {done.stdout}{done.stderr}"
    return done


def _boto3(env: dict[str, str]) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL_S3"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def test_s3cfg_names_walrus_at_the_root_with_sigv2(env: dict[str, str], walrus: Walrus) -> None:
    config = Path(env["S3CMD_CONFIG"]).read_text().splitlines()
    assert f"host_base = 127.0.0.1:{walrus.port}" in config
    assert f"host_bucket = 127.0.0.1:{walrus.port}" in config
    assert "signature_v2 = True" in config
    assert s3cmd(env, "ls").stdout == ""


def test_mb_put_ls_la_get_info_del_rb(env: dict[str, str], tmp_path: Path) -> None:
    s3cmd(env, "mb", "s3://cmd-bucket")
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello from s3cmd\n")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))
    s3cmd(env, "put", str(small), "s3://cmd-bucket/docs/small.txt")
    s3cmd(env, "put", "--multipart-chunk-size-mb=5", str(big), "s3://cmd-bucket/big.bin")

    buckets = s3cmd(env, "ls").stdout
    assert "s3://cmd-bucket" in buckets.split()
    top = s3cmd(env, "ls", "s3://cmd-bucket").stdout.splitlines()
    assert any(line.split() == ["DIR", "s3://cmd-bucket/docs/"] for line in top), top
    big_line = next(line for line in top if line.endswith("s3://cmd-bucket/big.bin"))
    assert str(20 * 1024 * 1024) in big_line.split()
    recursive = s3cmd(env, "ls", "--recursive", "s3://cmd-bucket").stdout
    assert "s3://cmd-bucket/docs/small.txt" in recursive
    everything = s3cmd(env, "la").stdout
    assert "s3://cmd-bucket/docs/" in everything and "s3://cmd-bucket/big.bin" in everything

    info = s3cmd(env, "info", "s3://cmd-bucket/big.bin").stdout
    fields = {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
        for line in info.splitlines()
        if ":" in line
    }
    assert fields["File size"] == str(20 * 1024 * 1024)
    assert fields["MD5 sum"] == hashlib.md5(big.read_bytes()).hexdigest()  # s3cmd's attribute
    # s3cmd shows its own MD5 attribute: Walrus's ETag says the upload was in 5 MiB parts
    head = _boto3(env).head_object(Bucket="cmd-bucket", Key="big.bin")
    assert head["ETag"].strip('"').endswith("-4")
    bucket_info = s3cmd(env, "info", "s3://cmd-bucket").stdout
    assert "s3://cmd-bucket/ (bucket):" in bucket_info

    down = tmp_path / "down"
    down.mkdir()
    s3cmd(env, "get", "s3://cmd-bucket/docs/small.txt", str(down / "small.txt"))
    s3cmd(env, "get", "s3://cmd-bucket/big.bin", str(down / "big.bin"))
    assert (down / "small.txt").read_bytes() == small.read_bytes()
    assert (down / "big.bin").read_bytes() == big.read_bytes()

    not_empty = s3cmd(env, "rb", "s3://cmd-bucket", check=False)
    assert not_empty.returncode != 0
    assert "BucketNotEmpty" in not_empty.stderr
    s3cmd(env, "del", "s3://cmd-bucket/big.bin")
    s3cmd(env, "del", "--recursive", "--force", "s3://cmd-bucket/docs/")
    assert s3cmd(env, "ls", "--recursive", "s3://cmd-bucket").stdout == ""
    s3cmd(env, "rb", "s3://cmd-bucket")
    assert "s3://cmd-bucket" not in s3cmd(env, "ls").stdout.split()


def test_setacl_public_and_private(env: dict[str, str], walrus: Walrus, tmp_path: Path) -> None:
    s3cmd(env, "mb", "s3://cmd-acl")
    body = tmp_path / "page.html"
    body.write_bytes(b"<p>public</p>")
    s3cmd(env, "put", str(body), "s3://cmd-acl/page.html")
    url = f"{walrus.endpoint}/cmd-acl/page.html"
    assert requests.get(url, timeout=10).status_code == 403

    s3cmd(env, "setacl", "--acl-public", "s3://cmd-acl/page.html")
    anonymous = requests.get(url, timeout=10)
    assert (anonymous.status_code, anonymous.content) == (200, b"<p>public</p>")
    assert "*anon*: READ" in s3cmd(env, "info", "s3://cmd-acl/page.html").stdout

    s3cmd(env, "setacl", "--acl-private", "s3://cmd-acl/page.html")
    assert requests.get(url, timeout=10).status_code == 403
    assert "*anon*: READ" not in s3cmd(env, "info", "s3://cmd-acl/page.html").stdout

    s3cmd(env, "put", "--acl-public", str(body), "s3://cmd-acl/at-once.html")
    assert requests.get(f"{walrus.endpoint}/cmd-acl/at-once.html", timeout=10).status_code == 200
    s3cmd(env, "setacl", "--acl-public", "s3://cmd-acl")
    listing = requests.get(f"{walrus.endpoint}/cmd-acl", timeout=10)
    assert listing.status_code == 200 and b"<Key>page.html</Key>" in listing.content


def test_sync_up_and_down(env: dict[str, str], tmp_path: Path) -> None:
    up = tmp_path / "up"
    for name, data in {
        "one.txt": b"1\n",
        "dir/two.txt": b"22\n",
        "dir/sub/three.bin": os.urandom(50_000),
    }.items():
        (up / name).parent.mkdir(parents=True, exist_ok=True)
        (up / name).write_bytes(data)
    s3cmd(env, "mb", "s3://cmd-sync")
    s3cmd(env, "sync", f"{up}/", "s3://cmd-sync/tree/")
    listed = s3cmd(env, "ls", "--recursive", "s3://cmd-sync").stdout
    for name in ("tree/one.txt", "tree/dir/two.txt", "tree/dir/sub/three.bin"):
        assert f"s3://cmd-sync/{name}" in listed
    again = s3cmd(env, "sync", f"{up}/", "s3://cmd-sync/tree/").stdout
    assert "upload:" not in again

    (up / "dir/two.txt").write_bytes(b"two, changed\n")
    (up / "one.txt").unlink()
    s3cmd(env, "sync", "--delete-removed", f"{up}/", "s3://cmd-sync/tree/")
    down = tmp_path / "down"
    down.mkdir()
    s3cmd(env, "sync", "s3://cmd-sync/tree/", f"{down}/")
    comparison = filecmp.dircmp(up, down)
    assert not comparison.left_only and not comparison.right_only
    for rel in ("dir/two.txt", "dir/sub/three.bin"):
        assert (down / rel).read_bytes() == (up / rel).read_bytes()
    assert not (down / "one.txt").exists()


def test_cp_mv_modify_signurl_du(env: dict[str, str], tmp_path: Path) -> None:
    s3cmd(env, "mb", "s3://cmd-misc")
    body = tmp_path / "a+b c%d.txt"
    body.write_bytes(b"odd name\n")
    s3cmd(env, "put", str(body), "s3://cmd-misc/odd/a+b c%d.txt")
    s3cmd(env, "cp", "s3://cmd-misc/odd/a+b c%d.txt", "s3://cmd-misc/copied.txt")
    s3cmd(env, "mv", "s3://cmd-misc/copied.txt", "s3://cmd-misc/moved.txt")
    listed = s3cmd(env, "ls", "--recursive", "s3://cmd-misc").stdout
    assert "s3://cmd-misc/moved.txt" in listed and "s3://cmd-misc/copied.txt" not in listed
    assert "s3://cmd-misc/odd/a+b c%d.txt" in listed

    s3cmd(
        env, "modify", "--add-header=Cache-Control:max-age=30", "--mime-type=text/x-test",
        "s3://cmd-misc/moved.txt",
    )  # fmt: skip
    head = _boto3(env).head_object(Bucket="cmd-misc", Key="moved.txt")
    assert head["ContentType"] == "text/x-test"
    assert head["CacheControl"] == "max-age=30"
    assert head["ContentLength"] == len(b"odd name\n")

    for target in ("s3://cmd-misc/moved.txt", "s3://cmd-misc/odd/a+b c%d.txt"):
        url = s3cmd(env, "signurl", target, "+300").stdout.strip()
        got = requests.get(url, timeout=10)
        assert (got.status_code, got.content) == (200, b"odd name\n"), (url, got.text)

    usage = s3cmd(env, "du", "s3://cmd-misc").stdout.split()
    assert usage[:3] == [str(2 * len(b"odd name\n")), "2", "objects"]
    s3cmd(env, "setversioning", "s3://cmd-misc", "enable")
    assert "Versioning:Enabled" in s3cmd(env, "info", "s3://cmd-misc").stdout.replace(" ", "")
