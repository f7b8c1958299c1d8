"""The credentials zip (``euca_conf --get-credentials``, reference 8.5 and the user guide).

Every call mints a NEW RSA key and an X.509 signing certificate issued by the cloud CA and
registers the certificate as one of the user's signing certificates; it hands out the
user's first active access key, creating one when none is active. The zip holds:

=====================================  =================================================
``eucarc``                             shell settings for euca2ools (3.x and older), the
                                       EC2/IAM command-line tools, boto/boto3, AWS CLI
``iamrc``                              ``AWSAccessKeyId=`` / ``AWSSecretKey=``
``s3cfg``                              s3cmd's configuration (``S3CMD_CONFIG``): path
                                       style at the root of Walrus's port, SigV2
``cloud-cert.pem``                     the cloud certificate (``EUCALYPTUS_CERT``)
``euca2-<user>-<8 hex>-pk.pem``        the new private key (``EC2_PRIVATE_KEY``)
``euca2-<user>-<8 hex>-cert.pem``      its certificate (``EC2_CERT``)
=====================================  =================================================

``<8 hex>`` is the start of the SHA-1 of the new public key. Every member is recorded with
mode 0600. ``eucarc`` finds its own directory when sourced from anywhere (bash, zsh, ksh,
dash via ``$0``) and exports absolute paths. The original's ``jssecacerts`` (a Java trust
store) and the URLs of services this cloud does not run (Auto Scaling, CloudWatch, ELB) are
left out.

The work happens in the caller's session: if anything fails, the transaction rolls back
and neither the access key nor the certificate is kept; nothing is written to disk.
"""

from __future__ import annotations

import io
import shlex
import time
import urllib.parse
import zipfile
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from eucalyptus.clc.identity import store
from eucalyptus.clc.initialize import load_cloud_ca
from eucalyptus.common import pki
from eucalyptus.common.paths import EucaPaths

#: the region name the cloud answers to; SigV4 clients put it in their scope
DEFAULT_REGION = "eucalyptus"
MEMBER_MODE = 0o600


class Endpoints(Protocol):
    """The public URLs written into ``eucarc`` (a :class:`ClcContext` is one)."""

    @property
    def ec2_url(self) -> str: ...

    @property
    def s3_url(self) -> str: ...

    @property
    def iam_url(self) -> str: ...

    @property
    def token_url(self) -> str: ...


@dataclass(frozen=True)
class StaticEndpoints:
    """Endpoints given literally (tools, tests)."""

    ec2_url: str
    s3_url: str
    iam_url: str
    token_url: str


@dataclass(frozen=True)
class CredentialSet:
    """What goes into one zip, before it is packed."""

    account_number: str
    user_name: str
    access_key_id: str
    secret_key: str
    key_pem: bytes
    cert_pem: bytes
    cloud_cert_pem: bytes
    base_name: str

    @property
    def key_file(self) -> str:
        return f"{self.base_name}-pk.pem"

    @property
    def cert_file(self) -> str:
        return f"{self.base_name}-cert.pem"


def make_credentials_zip(
    session: Session,
    endpoints: Endpoints,
    paths: EucaPaths,
    account_name: str,
    user_name: str,
    *,
    region: str = DEFAULT_REGION,
) -> bytes:
    """The zip for ``user_name`` of ``account_name`` (account name or number).

    Raises ``NoSuchEntity`` for an unknown account or user, ``LimitExceeded`` when the user
    has two inactive access keys and so cannot get an active one, :class:`pki.PkiError`
    when the cloud keys are missing (the cloud is not initialised).
    """
    ca = load_cloud_ca(paths)
    account = store.get_account(session, account_name)
    user = store.get_user(session, account, user_name)
    access_key = store.active_key_or_new(session, user)
    pair = pki.issue_user_keypair(ca, account.name, user.name)
    cert_pem = pair.cert_pem()
    store.add_signing_certificate(session, user, cert_pem.decode("ascii"), pki.cert_der(pair.cert))
    fingerprint = pki.key_fingerprint(pair.key.public_key())[:8]
    creds = CredentialSet(
        account_number=account.number,
        user_name=user.name,
        access_key_id=access_key.key_id,
        secret_key=access_key.secret,
        key_pem=pair.key_pem(),
        cert_pem=cert_pem,
        cloud_cert_pem=ca.cert_pem(),
        base_name=f"euca2-{user.name}-{fingerprint}",
    )
    return pack_zip(creds, endpoints, region)


def pack_zip(creds: CredentialSet, endpoints: Endpoints, region: str = DEFAULT_REGION) -> bytes:
    """The zip bytes for ``creds`` (pure: no I/O besides memory)."""
    members = [
        ("eucarc", render_eucarc(creds, endpoints, region).encode()),
        ("iamrc", render_iamrc(creds).encode()),
        ("s3cfg", render_s3cfg(creds, endpoints).encode()),
        ("cloud-cert.pem", creds.cloud_cert_pem),
        (creds.key_file, creds.key_pem),
        (creds.cert_file, creds.cert_pem),
    ]
    stamp = time.localtime()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # Unix, so that the mode below is honoured by unzip
            info.external_attr = (0o100000 | MEMBER_MODE) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def render_iamrc(creds: CredentialSet) -> str:
    """The IAM command-line tools' credential file (``AWS_CREDENTIAL_FILE``)."""
    return f"AWSAccessKeyId={creds.access_key_id}\nAWSSecretKey={creds.secret_key}\n"


def render_s3cfg(creds: CredentialSet, endpoints: Endpoints) -> str:
    """s3cmd's configuration: Walrus at the root of its port (s3cmd takes no path prefix)."""
    parsed = urllib.parse.urlsplit(endpoints.s3_url)
    host = parsed.netloc
    return "\n".join(
        [
            "[default]",
            f"access_key = {creds.access_key_id}",
            f"secret_key = {creds.secret_key}",
            f"host_base = {host}",
            f"host_bucket = {host}",
            f"use_https = {'True' if parsed.scheme == 'https' else 'False'}",
            "signature_v2 = True",
            "",
        ]
    )


def render_eucarc(creds: CredentialSet, endpoints: Endpoints, region: str) -> str:
    """The ``eucarc`` shell fragment; every value is shell-quoted."""
    q = shlex.quote
    in_dir = _in_key_dir
    lines = [
        "# Eucalyptus credentials; source this file: . eucarc",
        'EUCA_KEY_DIR=$(cd "$(dirname "${BASH_SOURCE:-$0}")" && pwd -P)',
        "export EUCA_KEY_DIR",
        "",
        "# service endpoints: euca2ools 3.x and older, the EC2/IAM API tools",
        f"export EC2_URL={q(endpoints.ec2_url)}",
        f"export S3_URL={q(endpoints.s3_url)}",
        f"export EUARE_URL={q(endpoints.iam_url)}",
        f"export AWS_IAM_URL={q(endpoints.iam_url)}",
        f"export TOKEN_URL={q(endpoints.token_url)}",
        f"export TOKENS_URL={q(endpoints.token_url)}",
        "",
        "# service endpoints: boto3, botocore and the AWS CLI",
        f"export AWS_DEFAULT_REGION={q(region)}",
        f"export AWS_ENDPOINT_URL_EC2={q(endpoints.ec2_url)}",
        f"export AWS_ENDPOINT_URL_IAM={q(endpoints.iam_url)}",
        f"export AWS_ENDPOINT_URL_S3={q(endpoints.s3_url)}",
        f"export AWS_ENDPOINT_URL_STS={q(endpoints.token_url)}",
        "",
        "# X.509 material for bundling and the EC2 API tools",
        f"export EC2_PRIVATE_KEY={in_dir(creds.key_file)}",
        f"export EC2_CERT={in_dir(creds.cert_file)}",
        f"export EUCALYPTUS_CERT={in_dir('cloud-cert.pem')}",
        f"export EC2_ACCOUNT_NUMBER={q(creds.account_number)}",
        f"export EC2_USER_ID={q(creds.account_number)}",
        "",
        "# access key, under every name the tools of each generation read",
        f"export EC2_ACCESS_KEY={q(creds.access_key_id)}",
        f"export EC2_SECRET_KEY={q(creds.secret_key)}",
        f"export AWS_ACCESS_KEY={q(creds.access_key_id)}",
        f"export AWS_SECRET_KEY={q(creds.secret_key)}",
        f"export AWS_ACCESS_KEY_ID={q(creds.access_key_id)}",
        f"export AWS_SECRET_ACCESS_KEY={q(creds.secret_key)}",
        f"export AWS_CREDENTIAL_FILE={in_dir('iamrc')}",
        f"export S3CMD_CONFIG={in_dir('s3cfg')}",
        "",
        'alias ec2-bundle-image="ec2-bundle-image --cert ${EC2_CERT} '
        "--privatekey ${EC2_PRIVATE_KEY} --user ${EC2_ACCOUNT_NUMBER} "
        '--ec2cert ${EUCALYPTUS_CERT}"',
        'alias ec2-upload-bundle="ec2-upload-bundle -a ${EC2_ACCESS_KEY} '
        '-s ${EC2_SECRET_KEY} --url ${S3_URL}"',
    ]
    return "\n".join(lines) + "\n"


def _in_key_dir(file_name: str) -> str:
    """``"${EUCA_KEY_DIR}/<file>"``; file names are plain (user names allow +=,.@_- only)."""
    if any(ch in file_name for ch in '"$`\\\n'):
        raise ValueError(f"{file_name!r} cannot be written into eucarc")
    return f'"${{EUCA_KEY_DIR}}/{file_name}"'
