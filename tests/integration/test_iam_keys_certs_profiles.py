"""Access keys, signing certificates and login profiles through boto3."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from eucalyptus.clc.database import clc_database
from eucalyptus.clc.identity.models import LoginProfile, User
from eucalyptus.clc.identity.passwords import verify_password
from tests.integration.euare import Key, client_error, iam_client, unique, user_key
from tests.support import Cloud

SELF_SERVICE = json.dumps(
    {"Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}
)


def _user_with_policy(admin_iam: Any) -> str:
    user = unique("keyed")
    admin_iam.create_user(UserName=user)
    admin_iam.put_user_policy(UserName=user, PolicyName="self", PolicyDocument=SELF_SERVICE)
    return user


def _works(cloud: Cloud, key: Key, user: str) -> None:
    assert iam_client(cloud, key).get_user()["User"]["UserName"] == user


def _refused(cloud: Cloud, key: Key) -> None:
    with pytest.raises(ClientError) as excinfo:
        iam_client(cloud, key).get_user()
    assert client_error(excinfo)[:2] == ("InvalidClientTokenId", 403)


def test_access_key_is_created_listed_and_works(cloud: Cloud, admin_iam: Any) -> None:
    user = _user_with_policy(admin_iam)
    created = admin_iam.create_access_key(UserName=user)["AccessKey"]
    assert created["Status"] == "Active"
    assert len(created["AccessKeyId"]) == 20
    assert len(created["SecretAccessKey"]) == 40
    listed = admin_iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in listed] == [(created["AccessKeyId"], "Active")]
    assert "SecretAccessKey" not in listed[0]
    _works(cloud, (created["AccessKeyId"], created["SecretAccessKey"]), user)


def test_inactive_key_is_refused_until_reactivated(cloud: Cloud, admin_iam: Any) -> None:
    user = _user_with_policy(admin_iam)
    key = user_key(admin_iam, user)
    _works(cloud, key, user)
    admin_iam.update_access_key(UserName=user, AccessKeyId=key[0], Status="Inactive")
    listed = admin_iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert listed[0]["Status"] == "Inactive"
    _refused(cloud, key)
    admin_iam.update_access_key(UserName=user, AccessKeyId=key[0], Status="Active")
    _works(cloud, key, user)


def test_deleted_key_is_refused(cloud: Cloud, admin_iam: Any) -> None:
    user = _user_with_policy(admin_iam)
    key = user_key(admin_iam, user)
    _works(cloud, key, user)
    admin_iam.delete_access_key(UserName=user, AccessKeyId=key[0])
    _refused(cloud, key)
    assert admin_iam.list_access_keys(UserName=user)["AccessKeyMetadata"] == []
    with pytest.raises(ClientError) as excinfo:
        admin_iam.delete_access_key(UserName=user, AccessKeyId=key[0])
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


def test_key_deactivated_while_in_use_is_refused_at_once(cloud: Cloud, admin_iam: Any) -> None:
    user = _user_with_policy(admin_iam)
    key = user_key(admin_iam, user)
    stop = threading.Event()

    def keep_calling() -> None:
        iam = iam_client(cloud, key)
        while not stop.is_set():
            with contextlib.suppress(ClientError):
                iam.get_user()

    def keep_changing() -> None:  # other changes keep the key cache cold
        iam = iam_client(cloud, cloud.admin_key)
        while not stop.is_set():
            iam.put_user_policy(UserName=user, PolicyName="churn", PolicyDocument=SELF_SERVICE)

    users = [threading.Thread(target=keep_calling) for _ in range(6)]
    users += [threading.Thread(target=keep_changing) for _ in range(2)]
    for thread in users:
        thread.start()
    try:
        for _ in range(15):
            time.sleep(0.05)
            admin_iam.update_access_key(UserName=user, AccessKeyId=key[0], Status="Inactive")
            _refused(cloud, key)
            admin_iam.update_access_key(UserName=user, AccessKeyId=key[0], Status="Active")
            _works(cloud, key, user)
    finally:
        stop.set()
        for thread in users:
            thread.join()


def test_third_access_key_is_limit_exceeded(admin_iam: Any) -> None:
    user = unique("twokeys")
    admin_iam.create_user(UserName=user)
    admin_iam.create_access_key(UserName=user)
    second = admin_iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    with pytest.raises(ClientError) as excinfo:
        admin_iam.create_access_key(UserName=user)
    assert client_error(excinfo)[:2] == ("LimitExceeded", 409)
    assert len(admin_iam.list_access_keys(UserName=user)["AccessKeyMetadata"]) == 2
    admin_iam.delete_access_key(UserName=user, AccessKeyId=second)
    admin_iam.create_access_key(UserName=user)


def test_key_of_another_user_is_no_such_entity(admin_iam: Any) -> None:
    owner, other = unique("owner"), unique("other")
    admin_iam.create_user(UserName=owner)
    admin_iam.create_user(UserName=other)
    key_id = admin_iam.create_access_key(UserName=owner)["AccessKey"]["AccessKeyId"]
    for verb, extra in (
        (admin_iam.update_access_key, {"Status": "Inactive"}),
        (admin_iam.delete_access_key, {}),
    ):
        with pytest.raises(ClientError) as excinfo:
            verb(UserName=other, AccessKeyId=key_id, **extra)
        assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)
    assert admin_iam.list_access_keys(UserName=owner)["AccessKeyMetadata"][0]["Status"] == "Active"


def test_bad_key_status_is_validation_error(admin_iam: Any) -> None:
    user = unique("status")
    admin_iam.create_user(UserName=user)
    key_id = admin_iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    with pytest.raises(ClientError) as excinfo:
        admin_iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Dormant")
    assert client_error(excinfo)[:2] == ("ValidationError", 400)


def _certificate(common_name: str, *, days: int = 30) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_signing_certificate_upload_list_update_delete(admin_iam: Any) -> None:
    user = unique("signer")
    admin_iam.create_user(UserName=user)
    body = _certificate(user)
    uploaded = admin_iam.upload_signing_certificate(UserName=user, CertificateBody=body)
    cert = uploaded["Certificate"]
    assert (cert["UserName"], cert["Status"]) == (user, "Active")
    assert cert["CertificateBody"].strip() == body.strip()
    listed = admin_iam.list_signing_certificates(UserName=user)["Certificates"]
    assert [c["CertificateId"] for c in listed] == [cert["CertificateId"]]
    admin_iam.update_signing_certificate(
        UserName=user, CertificateId=cert["CertificateId"], Status="Inactive"
    )
    listed = admin_iam.list_signing_certificates(UserName=user)["Certificates"]
    assert listed[0]["Status"] == "Inactive"
    admin_iam.delete_signing_certificate(UserName=user, CertificateId=cert["CertificateId"])
    assert admin_iam.list_signing_certificates(UserName=user)["Certificates"] == []
    with pytest.raises(ClientError) as excinfo:
        admin_iam.delete_signing_certificate(UserName=user, CertificateId=cert["CertificateId"])
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


def test_same_certificate_twice_is_duplicate_certificate(admin_iam: Any) -> None:
    first, second = unique("cert1"), unique("cert2")
    admin_iam.create_user(UserName=first)
    admin_iam.create_user(UserName=second)
    body = _certificate(first)
    admin_iam.upload_signing_certificate(UserName=first, CertificateBody=body)
    for user in (first, second):
        with pytest.raises(ClientError) as excinfo:
            admin_iam.upload_signing_certificate(UserName=user, CertificateBody=body)
        assert client_error(excinfo)[:2] == ("DuplicateCertificate", 409)
    assert admin_iam.list_signing_certificates(UserName=second)["Certificates"] == []


@pytest.mark.parametrize(
    "body",
    [
        "garbage",
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        "expired",
    ],
)
def test_bad_certificate_is_malformed_certificate(admin_iam: Any, body: str) -> None:
    user = unique("badcert")
    admin_iam.create_user(UserName=user)
    if body == "expired":
        body = _certificate(user, days=-1)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.upload_signing_certificate(UserName=user, CertificateBody=body)
    assert client_error(excinfo)[:2] == ("MalformedCertificate", 400)
    assert admin_iam.list_signing_certificates(UserName=user)["Certificates"] == []


def _stored_hash(cloud: Cloud, user: str) -> str:
    db = clc_database(cloud.paths, cloud.conf)
    try:
        return db.run_sync(
            lambda session: session.scalars(
                select(LoginProfile.password_hash)
                .join(User, User.id == LoginProfile.user_id)
                .where(User.name == user)
            ).one()
        )
    finally:
        db.close()


def _assert_nowhere_on_disk(cloud: Cloud, password: str) -> None:
    secret = password.encode()
    for path in cloud.paths.db_dir.glob("*"):
        assert secret not in path.read_bytes(), f"password in clear in {path}"
    assert password not in cloud.log_text()


def test_login_profile_lifecycle_stores_only_a_hash(cloud: Cloud, admin_iam: Any) -> None:
    user = unique("dash")
    password, changed = "Clear-Text-" + unique("pw"), "Changed-" + unique("pw")
    admin_iam.create_user(UserName=user)
    created = admin_iam.create_login_profile(
        UserName=user, Password=password, PasswordResetRequired=True
    )["LoginProfile"]
    assert (created["UserName"], created["PasswordResetRequired"]) == (user, True)
    got = admin_iam.get_login_profile(UserName=user)["LoginProfile"]
    assert got["UserName"] == user
    stored = _stored_hash(cloud, user)
    assert password not in stored
    assert verify_password(password, stored)
    _assert_nowhere_on_disk(cloud, password)

    admin_iam.update_login_profile(UserName=user, Password=changed, PasswordResetRequired=False)
    stored = _stored_hash(cloud, user)
    assert verify_password(changed, stored)
    assert not verify_password(password, stored)
    assert (
        admin_iam.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is False
    )
    _assert_nowhere_on_disk(cloud, changed)

    admin_iam.delete_login_profile(UserName=user)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.get_login_profile(UserName=user)
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


def test_second_login_profile_is_entity_already_exists(admin_iam: Any) -> None:
    user = unique("dash")
    admin_iam.create_user(UserName=user)
    admin_iam.create_login_profile(UserName=user, Password="First-Password-1")
    with pytest.raises(ClientError) as excinfo:
        admin_iam.create_login_profile(UserName=user, Password="Second-Password-2")
    assert client_error(excinfo)[:2] == ("EntityAlreadyExists", 409)


def test_login_profile_of_missing_user_is_no_such_entity(admin_iam: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        admin_iam.create_login_profile(UserName=unique("ghost"), Password="Password-1")
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)
