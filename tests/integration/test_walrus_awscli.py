"""Walrus driven by the AWS CLI, with nothing but what the admin's eucarc exports.

The credentials zip comes from ``euca_conf --get-credentials`` against the running CLC;
``eucarc`` is sourced in a clean bash (HOME a fresh directory, so no ~/.aws), and every
``aws`` command runs in exactly that environment: the endpoint is the
``AWS_ENDPOINT_URL_S3`` the CLC wrote (Walrus's ``/services/Walrus`` on the port named by
WALRUS_PORT), the region ``AWS_DEFAULT_REGION``, the key ``AWS_ACCESS_KEY_ID``.
"""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.eucarc import eucarc_environment, get_credentials
from tests.support import BIN, Cloud, Walrus

AWS = BIN / "aws"

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not AWS.exists(), reason="needs the AWS CLI in the venv"),
]


@pytest.fixture(scope="module")
def env(cloud: Cloud, walrus: Walrus, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("awscli")
    creds = get_credentials(cloud, base)
    return eucarc_environment(creds, base / "home")


def aws(
    env: dict[str, str], *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(AWS), *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
    return done


def api(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = aws(env, "s3api", *args, "--output", "json").stdout
    return json.loads(out) if out.strip() else {}


def test_eucarc_names_the_running_walrus(env: dict[str, str], walrus: Walrus) -> None:
    assert env["AWS_ENDPOINT_URL_S3"] == walrus.service_url
    assert env["AWS_DEFAULT_REGION"] == "eucalyptus"
    assert not (Path(env["HOME"]) / ".aws").exists()
    assert aws(env, "s3", "ls").stdout == ""


def test_mb_cp_ls_and_download(env: dict[str, str], tmp_path: Path) -> None:
    aws(env, "s3", "mb", "s3://cli-bucket")
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello from the aws cli\n")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))
    aws(env, "s3", "cp", str(small), "s3://cli-bucket/docs/small.txt")
    aws(env, "s3", "cp", str(big), "s3://cli-bucket/blobs/big.bin")
    head = api(env, "head-object", "--bucket", "cli-bucket", "--key", "blobs/big.bin")
    assert head["ContentLength"] == 20 * 1024 * 1024
    assert head["ETag"].strip('"').endswith("-3")  # 8 MiB parts: uploaded in three

    buckets = aws(env, "s3", "ls").stdout
    assert "cli-bucket" in buckets.split()
    top = aws(env, "s3", "ls", "s3://cli-bucket/").stdout.splitlines()
    assert sorted(line.split()[-1] for line in top) == ["blobs/", "docs/"]
    assert all(line.split()[0] == "PRE" for line in top)
    inside = aws(env, "s3", "ls", "s3://cli-bucket/docs/").stdout.split()
    assert inside[-1] == "small.txt"
    assert inside[-2] == str(small.stat().st_size)
    everything = aws(env, "s3", "ls", "--recursive", "s3://cli-bucket").stdout.splitlines()
    assert sorted(line.split()[-1] for line in everything) == ["blobs/big.bin", "docs/small.txt"]
    summary = aws(
        env, "s3", "ls", "--recursive", "--summarize", "s3://cli-bucket"
    ).stdout.splitlines()
    assert "Total Objects: 2" in [line.strip() for line in summary]

    down = tmp_path / "down"
    aws(env, "s3", "cp", "s3://cli-bucket/docs/small.txt", str(down / "small.txt"))
    aws(env, "s3", "cp", "s3://cli-bucket/blobs/big.bin", str(down / "big.bin"))
    assert (down / "small.txt").read_bytes() == small.read_bytes()
    assert (down / "big.bin").read_bytes() == big.read_bytes()

    removed = aws(env, "s3", "rm", "--recursive", "s3://cli-bucket/").stdout
    assert removed.count("delete:") == 2
    assert aws(env, "s3", "ls", "--recursive", "s3://cli-bucket").stdout == ""
    aws(env, "s3", "rb", "s3://cli-bucket")
    assert "cli-bucket" not in aws(env, "s3", "ls").stdout.split()


def _tree(root: Path) -> None:
    files = {
        "a.txt": b"alpha\n",
        "sub/b.txt": b"bravo\n",
        "sub/deeper/c.bin": os.urandom(70_000),
        "sub/deeper/with space.txt": b"space\n",
        "empty.txt": b"",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _same_trees(left: Path, right: Path) -> None:
    comparison = filecmp.dircmp(left, right)
    pending = [comparison]
    while pending:
        cmp = pending.pop()
        assert not cmp.left_only and not cmp.right_only, (cmp.left_only, cmp.right_only)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        assert not mismatch and not errors, (mismatch, errors)
        pending.extend(cmp.subdirs.values())


def test_sync_up_and_down(env: dict[str, str], tmp_path: Path) -> None:
    up = tmp_path / "up"
    _tree(up)
    aws(env, "s3", "mb", "s3://cli-sync")
    first = aws(env, "s3", "sync", str(up), "s3://cli-sync/tree").stdout
    assert first.count("upload:") == 5
    again = aws(env, "s3", "sync", str(up), "s3://cli-sync/tree").stdout
    assert "upload:" not in again  # nothing changed: sizes and times agree

    down = tmp_path / "down"
    aws(env, "s3", "sync", "s3://cli-sync/tree", str(down))
    _same_trees(up, down)

    (up / "sub/b.txt").write_bytes(b"bravo, longer this time\n")
    (up / "a.txt").unlink()
    changed = aws(env, "s3", "sync", "--delete", str(up), "s3://cli-sync/tree").stdout
    assert "upload: " in changed and "sub/b.txt" in changed
    assert "delete: s3://cli-sync/tree/a.txt" in changed
    aws(env, "s3", "sync", "--delete", "s3://cli-sync/tree", str(down))
    _same_trees(up, down)

    aws(env, "s3", "rb", "--force", "s3://cli-sync")


def test_s3api_object_acl(env: dict[str, str], walrus: Walrus, tmp_path: Path) -> None:
    aws(env, "s3", "mb", "s3://cli-acl")
    body = tmp_path / "body"
    body.write_bytes(b"acl body")
    api(env, "put-object", "--bucket", "cli-acl", "--key", "k", "--body", str(body))
    assert requests.get(f"{walrus.service_url}/cli-acl/k", timeout=10).status_code == 403
    policy = api(env, "get-object-acl", "--bucket", "cli-acl", "--key", "k")
    assert [g["Permission"] for g in policy["Grants"]] == ["FULL_CONTROL"]
    owner_id = policy["Owner"]["ID"]

    api(env, "put-object-acl", "--bucket", "cli-acl", "--key", "k", "--acl", "public-read")
    policy = api(env, "get-object-acl", "--bucket", "cli-acl", "--key", "k")
    grants = {(g["Grantee"].get("URI") or g["Grantee"].get("ID"), g["Permission"])
              for g in policy["Grants"]}  # fmt: skip
    assert grants == {
        (owner_id, "FULL_CONTROL"),
        ("http://acs.amazonaws.com/groups/global/AllUsers", "READ"),
    }
    anonymous = requests.get(f"{walrus.service_url}/cli-acl/k", timeout=10)
    assert (anonymous.status_code, anonymous.content) == (200, b"acl body")

    api(
        env, "put-object-acl", "--bucket", "cli-acl", "--key", "k",
        "--grant-full-control", f"id={owner_id}",
    )  # fmt: skip
    policy = api(env, "get-object-acl", "--bucket", "cli-acl", "--key", "k")
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in policy["Grants"]] == [
        (owner_id, "FULL_CONTROL")
    ]
    assert requests.get(f"{walrus.service_url}/cli-acl/k", timeout=10).status_code == 403


def test_s3api_versioning_and_head(env: dict[str, str], tmp_path: Path) -> None:
    aws(env, "s3", "mb", "s3://cli-versions")
    api(
        env, "put-bucket-versioning", "--bucket", "cli-versions",
        "--versioning-configuration", "Status=Enabled",
    )  # fmt: skip
    assert api(env, "get-bucket-versioning", "--bucket", "cli-versions")["Status"] == "Enabled"
    ids = []
    for text in (b"first", b"second!"):
        body = tmp_path / "v"
        body.write_bytes(text)
        put = api(
            env, "put-object", "--bucket", "cli-versions", "--key", "doc", "--body", str(body),
            "--content-type", "text/plain", "--metadata", "stage=test",
        )  # fmt: skip
        ids.append(put["VersionId"])
    assert len(set(ids)) == 2
    head = api(env, "head-object", "--bucket", "cli-versions", "--key", "doc")
    assert head["ContentLength"] == len(b"second!")
    assert head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"stage": "test"}
    assert head["VersionId"] == ids[1]
    old = api(
        env, "head-object", "--bucket", "cli-versions", "--key", "doc", "--version-id", ids[0]
    )
    assert old["ContentLength"] == len(b"first")

    aws(env, "s3", "rm", "s3://cli-versions/doc")
    listed = api(env, "list-object-versions", "--bucket", "cli-versions")
    versions = listed["Versions"]
    assert [v["VersionId"] for v in versions] == [ids[1], ids[0]]
    assert not any(v["IsLatest"] for v in versions)
    markers = listed["DeleteMarkers"]
    assert len(markers) == 1 and markers[0]["IsLatest"] and markers[0]["Key"] == "doc"
    out = tmp_path / "old"
    api(
        env, "get-object", "--bucket", "cli-versions", "--key", "doc",
        "--version-id", ids[0], str(out),
    )  # fmt: skip
    assert out.read_bytes() == b"first"


def test_copy_move_streams_and_presign(env: dict[str, str], walrus: Walrus, tmp_path: Path) -> None:
    aws(env, "s3", "mb", "s3://cli-copies")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))
    aws(env, "s3", "cp", "--only-show-errors", str(big), "s3://cli-copies/big")
    # over the multipart threshold, an S3-to-S3 copy is UploadPartCopy with ranges
    aws(env, "s3", "cp", "--only-show-errors", "s3://cli-copies/big", "s3://cli-copies/big-copy")
    copy = api(env, "head-object", "--bucket", "cli-copies", "--key", "big-copy")
    assert copy["ContentLength"] == 20 * 1024 * 1024
    assert copy["ETag"].strip('"').endswith("-3")
    out = subprocess.run(
        [str(AWS), "s3", "cp", "s3://cli-copies/big-copy", "-"],
        env=env, capture_output=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert out == big.read_bytes()

    # from standard input: size unknown, so a multipart upload of what arrives
    piped = subprocess.run(
        [str(AWS), "s3", "cp", "-", "s3://cli-copies/piped"],
        input=big.read_bytes()[: 9 * 1024 * 1024], env=env, capture_output=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert (
        api(env, "head-object", "--bucket", "cli-copies", "--key", "piped")["ContentLength"]
        == 9 * 1024 * 1024
    )

    aws(env, "s3", "mv", "s3://cli-copies/piped", "s3://cli-copies/moved/piped")
    keys = aws(env, "s3", "ls", "--recursive", "--page-size", "1", "s3://cli-copies").stdout
    assert sorted(line.split()[-1] for line in keys.splitlines()) == [
        "big",
        "big-copy",
        "moved/piped",
    ]

    small = tmp_path / "note.txt"
    small.write_bytes(b"presigned by the cli")
    aws(env, "s3", "cp", str(small), "s3://cli-copies/note.txt")
    url = aws(env, "s3", "presign", "s3://cli-copies/note.txt", "--expires-in", "300").stdout
    assert url.startswith(walrus.service_url + "/cli-copies/note.txt?")
    got = requests.get(url.strip(), timeout=10)
    assert (got.status_code, got.content) == (200, b"presigned by the cli")
    aws(env, "s3", "rb", "--force", "s3://cli-copies")


def test_errors_print_the_s3_code(env: dict[str, str]) -> None:
    aws(env, "s3", "mb", "s3://cli-errors")
    missing = aws(
        env, "s3api", "get-object", "--bucket", "cli-errors", "--key", "nope", "/dev/null",
        check=False,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "An error occurred (NoSuchKey) when calling the GetObject operation" in missing.stderr
    no_bucket = aws(env, "s3api", "list-objects-v2", "--bucket", "cli-nowhere", check=False)
    assert "(NoSuchBucket)" in no_bucket.stderr
    again = aws(env, "s3api", "create-bucket", "--bucket", "cli-errors", check=False)
    assert "(BucketAlreadyOwnedByYou)" in again.stderr
    head = aws(env, "s3api", "head-object", "--bucket", "cli-errors", "--key", "nope", check=False)
    assert "(404)" in head.stderr
