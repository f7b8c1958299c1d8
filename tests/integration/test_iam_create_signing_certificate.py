"""CreateSigningCertificate (euare-usercreatecert): a key pair certified by the cloud CA."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from eucalyptus.common import pki
from eucalyptus.common.auth import sign_v4_headers
from tests.support import Cloud

NS = {"i": "https://iam.amazonaws.com/doc/2010-05-08/"}


def _call(cloud: Cloud, body: bytes) -> requests.Response:
    headers = sign_v4_headers(
        "POST",
        cloud.url(),
        {"Content-Type": "application/x-www-form-urlencoded"},
        body,
        *cloud.admin_key,
        region="eucalyptus",
        service="iam",
        now=datetime.now(UTC),
    )
    return requests.post(cloud.url(), data=body, headers=headers, timeout=10)


def test_new_certificate_is_issued_by_the_cloud_ca_and_matches_its_key(
    cloud: Cloud, admin_iam: Any
) -> None:
    admin_iam.create_user(UserName="certuser")
    response = _call(cloud, b"Action=CreateSigningCertificate&Version=2010-05-08&UserName=certuser")
    assert response.status_code == 200, response.text
    doc = etree.fromstring(response.content)
    body = doc.findtext(".//i:Certificate/i:CertificateBody", namespaces=NS)
    private = doc.findtext(".//i:Certificate/i:PrivateKey", namespaces=NS)
    cert_id = doc.findtext(".//i:Certificate/i:CertificateId", namespaces=NS)
    assert body and private and cert_id
    cert = x509.load_pem_x509_certificate(body.encode())
    key = serialization.load_pem_private_key(private.encode(), password=None)
    ca = pki.load_certificate(cloud.paths.keys_dir / "cloud-cert.pem")
    assert pki.verify_issued_by(cert, ca)
    assert pki.public_keys_match(cert.public_key(), key.public_key())
    listed = admin_iam.list_signing_certificates(UserName="certuser")["Certificates"]
    assert [c["CertificateId"] for c in listed] == [cert_id]
    assert "PRIVATE KEY" not in listed[0]["CertificateBody"]


def test_create_signing_certificate_for_unknown_user_is_no_such_entity(cloud: Cloud) -> None:
    response = _call(cloud, b"Action=CreateSigningCertificate&Version=2010-05-08&UserName=nobody")
    assert response.status_code == 404
    assert b"<Code>NoSuchEntity</Code>" in response.content
