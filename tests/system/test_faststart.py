"""The README's first command, end to end: ./faststart on a fresh root, then real clients.

Runs the real script with EUCALYPTUS pointing at a temporary root: it creates its own
virtualenv there and installs the package from this checkout (from the package
registry's cache or index), initialises the cloud, starts the CLC and writes the
administrator's credentials. Then it does what the issues' "done when" say with
the credentials alone: source eucarc, create an account, a user in it, and a group
whose policy allows only ec2:Describe*, and fetch that user's credentials zip; and use
Walrus with `aws s3` and s3cmd. It runs faststart a second time to show it is safe
(objects survive), and stops the cloud.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import free_port

REPO = Path(__file__).resolve().parents[2]
AWS = Path(sys.executable).parent / "aws"

pytestmark = pytest.mark.timeout(900)


def _bash(script: str, env: dict[str, str], timeout: int = 600) -> str:
    result = subprocess.run(
        ["bash", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def faststart_env(tmp_path: Path) -> dict[str, str]:
    root = tmp_path / "root"
    conf = root / "etc/eucalyptus/eucalyptus.conf"
    conf.parent.mkdir(parents=True)
    template = (REPO / "etc/eucalyptus/eucalyptus.conf").read_text()
    template = template.replace('CLC_PORT="8773"', f'CLC_PORT="{free_port()}"')
    conf.write_text(template.replace('WALRUS_PORT="8779"', f'WALRUS_PORT="{free_port()}"'))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EC2_", "EUCA"))}
    env.update(EUCALYPTUS=str(root), EUCA_CREDS_DIR=str(tmp_path / "creds"), HOME=str(tmp_path))
    return env


def test_faststart_brings_up_a_cloud_the_admin_can_use(faststart_env: dict[str, str]) -> None:
    env = faststart_env
    creds = Path(env["EUCA_CREDS_DIR"])
    try:
        out = _bash(f"{REPO}/faststart", env, timeout=800)
        assert f"source {creds}/eucarc" in out
        assert (creds / "eucarc").exists() and (creds / "admin.zip").exists()

        # The AWS CLI and boto3 with nothing but the sourced eucarc.
        who = _bash(
            f"source {creds}/eucarc && {AWS} iam get-user --output text --query User.Arn", env
        )
        assert who.strip().endswith(":user/admin")
        script = f"""
source {creds}/eucarc
{sys.executable} - <<'PY'
import boto3
iam = boto3.client("iam")
print(iam.get_user()["User"]["UserName"])
PY
"""
        assert _bash(script, env).strip() == "admin"

        # Walrus with the eucarc alone: the AWS CLI (SigV4) and s3cmd (SigV2, S3CMD_CONFIG).
        s3cmd = Path(sys.executable).parent / "s3cmd"
        walrus = f"""
set -e
source {creds}/eucarc
cd {creds}
echo "first object" > hello.txt
{AWS} s3 mb s3://faststart-bucket
{AWS} s3 cp hello.txt s3://faststart-bucket/dir/hello.txt
{AWS} s3 ls s3://faststart-bucket/dir/
{s3cmd} put hello.txt s3://faststart-bucket/from-s3cmd.txt
{s3cmd} ls s3://faststart-bucket/
{s3cmd} get --force s3://faststart-bucket/dir/hello.txt fetched.txt
cmp hello.txt fetched.txt
"""
        listing = _bash(walrus, env)
        assert "hello.txt" in listing and "s3://faststart-bucket/from-s3cmd.txt" in listing

        # Done-when: an account, a user in it, a group allowing only ec2:Describe*.
        venv_bin = Path(env["EUCALYPTUS"]) / "opt/eucalyptus/venv/bin"
        scenario = f"""
set -e
source {creds}/eucarc
{sys.executable} - <<'PY'
import os, requests
from datetime import datetime, UTC
from eucalyptus.common.auth import sign_v4_headers
url = os.environ["AWS_ENDPOINT_URL_IAM"]
def call(**params):
    body = "&".join(f"{{k}}={{v}}" for k, v in {{"Version": "2010-05-08", **params}}.items())
    headers = sign_v4_headers("POST", url, {{"Content-Type": "application/x-www-form-urlencoded"}},
        body.encode(), os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
        region="eucalyptus", service="iam", now=datetime.now(UTC))
    answer = requests.post(url, data=body, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
call(Action="CreateAccount", AccountName="devs")
call(Action="CreateUser", UserName="alice", DelegateAccount="devs")
call(Action="CreateGroup", GroupName="describers", DelegateAccount="devs")
call(Action="AddUserToGroup", GroupName="describers", UserName="alice", DelegateAccount="devs")
policy = '{{"Statement":[{{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}}]}}'
from urllib.parse import quote
call(Action="PutGroupPolicy", GroupName="describers", PolicyName="describe-only",
     PolicyDocument=quote(policy, safe=""), DelegateAccount="devs")
PY
{venv_bin}/euca_conf --eucalyptus "$EUCALYPTUS" --clc-port "$(grep ^CLC_PORT= \\
    "$EUCALYPTUS/etc/eucalyptus/eucalyptus.conf" | cut -d'"' -f2)" \\
    --cred-account devs --cred-user alice --get-credentials {creds}/alice.zip
"""
        _bash(scenario, env)
        with zipfile.ZipFile(creds / "alice.zip") as archive:
            names = archive.namelist()
            eucarc = archive.read("eucarc").decode()
        assert "eucarc" in names and "cloud-cert.pem" in names
        assert any(n.startswith("euca2-alice-") and n.endswith("-pk.pem") for n in names)
        alice_dir = creds / "alice"
        alice_dir.mkdir()
        with zipfile.ZipFile(creds / "alice.zip") as archive:
            archive.extractall(alice_dir)
        assert "AWS_ACCESS_KEY_ID" in eucarc
        denied = subprocess.run(
            ["bash", "-c", f"source {alice_dir}/eucarc && {AWS} iam list-users"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert denied.returncode != 0 and "AccessDenied" in denied.stderr
        # her group allows only ec2:Describe*: reading even herself is refused
        refused = subprocess.run(
            ["bash", "-c", f"source {alice_dir}/eucarc && {AWS} iam get-user"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert refused.returncode != 0 and "AccessDenied" in refused.stderr

        # Running it again is safe: same cloud, same records, daemons restarted.
        _bash(f"{REPO}/faststart", env, timeout=800)
        again = _bash(
            f"source {creds}/eucarc && {AWS} iam get-user --output text --query User.UserName", env
        )
        assert again.strip() == "admin"
        kept = _bash(f"source {creds}/eucarc && {AWS} s3 ls s3://faststart-bucket/dir/", env)
        assert "hello.txt" in kept
        # alice's key survived the restart: still known (AccessDenied, not InvalidClientTokenId)
        still = subprocess.run(
            ["bash", "-c", f"source {alice_dir}/eucarc && {AWS} iam list-users"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "AccessDenied" in still.stderr
    finally:
        subprocess.run(
            [f"{REPO}/faststart", "stop"], env=env, timeout=120, check=False, capture_output=True
        )
