"""Access keys, signing certificates and login profiles."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.iam.base import Call, Request, in_transaction, page
from eucalyptus.clc.identity import store
from eucalyptus.clc.identity.models import LoginProfile, SigningCertificate
from eucalyptus.clc.identity.passwords import hash_password
from eucalyptus.clc.initialize import load_cloud_ca
from eucalyptus.common import pki
from eucalyptus.common.db import utcnow
from eucalyptus.common.errors import (
    EntityAlreadyExists,
    MalformedCertificate,
    NoSuchEntity,
    ValidationError,
)

MAX_CERTIFICATE_BYTES = 16384


def _status(call: Call) -> str:
    status = call.require("Status")
    if status not in ("Active", "Inactive"):
        raise ValidationError(
            f"1 validation error detected: Value '{status}' at 'status' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Active, Inactive]"
        )
    return status


def certificate_data(user_name: str, cert: SigningCertificate) -> dict[str, Any]:
    return {
        "UserName": user_name,
        "CertificateId": cert.cert_id,
        "CertificateBody": cert.body,
        "Status": cert.status,
        "UploadDate": cert.created,
    }


def parse_certificate(body: str) -> tuple[str, bytes]:
    """(normalised PEM, DER) of an uploaded certificate, or MalformedCertificate."""
    if len(body) > MAX_CERTIFICATE_BYTES:
        raise MalformedCertificate("The certificate is too large")
    try:
        cert = x509.load_pem_x509_certificate(body.strip().encode())
    except ValueError:
        raise MalformedCertificate("The certificate is not a valid PEM X.509 certificate") from None
    now = utcnow()
    if cert.not_valid_after_utc.replace(tzinfo=None) < now:
        raise MalformedCertificate("The certificate has expired")
    return cert.public_bytes(Encoding.PEM).decode(), cert.public_bytes(Encoding.DER)


def actions(ctx: ClcContext) -> dict[str, Any]:
    async def create_access_key(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            user = call.target_user(account)
            call.authorize_user("CreateAccessKey", account, user)
            key = store.create_access_key(call.session, user)
            return {
                "AccessKey": {
                    "UserName": user.name,
                    "AccessKeyId": key.key_id,
                    "Status": key.status,
                    "SecretAccessKey": key.secret,
                    "CreateDate": key.created,
                }
            }

        return await in_transaction(ctx, req, work)

    async def list_access_keys(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            user = call.target_user(account)
            call.authorize_user("ListAccessKeys", account, user)
            keys = store.list_access_keys(call.session, user)
            return page(
                keys,
                call,
                lambda k: k.key_id,
                "AccessKeyMetadata",
                lambda k: {
                    "UserName": user.name,
                    "AccessKeyId": k.key_id,
                    "Status": k.status,
                    "CreateDate": k.created,
                },
            )

        return await in_transaction(ctx, req, work)

    async def update_access_key(req: Request) -> None:
        def work(call: Call) -> None:
            account = call.account()
            user = call.target_user(account)
            call.authorize_user("UpdateAccessKey", account, user)
            key = store.get_access_key(call.session, user, call.require("AccessKeyId"))
            key.status = _status(call)

        await in_transaction(ctx, req, work)
        return None

    async def delete_access_key(req: Request) -> None:
        def work(call: Call) -> None:
            account = call.account()
            user = call.target_user(account)
            call.authorize_user("DeleteAccessKey", account, user)
            call.session.delete(
                store.get_access_key(call.session, user, call.require("AccessKeyId"))
            )

        await in_transaction(ctx, req, work)
        return None

    async def upload_signing_certificate(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            user = call.target_user(account)
            call.authorize_user("UploadSigningCertificate", account, user)
            pem, der = parse_certificate(call.require("CertificateBody"))
            cert = store.add_signing_certificate(call.session, user, pem, der)
            return {"Certificate": certificate_data(user.name, cert)}

        return await in_transaction(ctx, req, work)

    async def create_signing_certificate(req: Request) -> dict[str, Any]:
        """Eucalyptus extension (euare-usercreatecert): a new key pair, certified by the cloud CA.

        The private key is returned once and never stored.
        """
        ca = load_cloud_ca(ctx.paths)

        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            user = call.target_user(account)
            call.authorize_user("CreateSigningCertificate", account, user)
            pair = pki.issue_user_keypair(ca, account.name, user.name)
            cert = store.add_signing_certificate(
                call.session, user, pair.cert_pem().decode("ascii"), pki.cert_der(pair.cert)
            )
            return {
                "Certificate": {
                    **certificate_data(user.name, cert),
                    "PrivateKey": pair.key_pem().decode("ascii"),
                }
            }

        return await in_transaction(ctx, req, work)

    async def list_signing_certificates(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            user = call.target_user(account)
            call.authorize_user("ListSigningCertificates", account, user)
            certs = store.list_signing_certificates(call.session, user)
            return page(
                certs,
                call,
                lambda c: c.cert_id,
                "Certificates",
                lambda c: certificate_data(user.name, c),
            )

        return await in_transaction(ctx, req, work)

    async def update_signing_certificate(req: Request) -> None:
        def work(call: Call) -> None:
            account = call.account()
            user = call.target_user(account)
            call.authorize_user("UpdateSigningCertificate", account, user)
            cert = store.get_signing_certificate(call.session, user, call.require("CertificateId"))
            cert.status = _status(call)

        await in_transaction(ctx, req, work)
        return None

    async def delete_signing_certificate(req: Request) -> None:
        def work(call: Call) -> None:
            account = call.account()
            user = call.target_user(account)
            call.authorize_user("DeleteSigningCertificate", account, user)
            call.session.delete(
                store.get_signing_certificate(call.session, user, call.require("CertificateId"))
            )

        await in_transaction(ctx, req, work)
        return None

    def login_profile(verb: str) -> Any:
        async def handler(req: Request) -> dict[str, Any] | None:
            def work(call: Call) -> dict[str, Any] | None:
                account = call.account()
                user = call.target_user(account)
                call.authorize_user(f"{verb}LoginProfile", account, user)
                profile = call.session.get(LoginProfile, user.id)
                if verb == "Create":
                    if profile is not None:
                        raise EntityAlreadyExists(
                            f"Login Profile for user {user.name} already exists."
                        )
                    profile = LoginProfile(
                        user_id=user.id,
                        password_hash=hash_password(call.require("Password")),
                        reset_required=call.req.params.get_bool("PasswordResetRequired"),
                    )
                    call.session.add(profile)
                    call.session.flush()
                elif profile is None:
                    raise NoSuchEntity(f"Login Profile for User {user.name} cannot be found.")
                elif verb == "Update":
                    password = call.param("Password")
                    if password:
                        profile.password_hash = hash_password(password)
                    if "PasswordResetRequired" in call.req.params:
                        profile.reset_required = call.req.params.get_bool("PasswordResetRequired")
                    return None
                elif verb == "Delete":
                    call.session.delete(profile)
                    return None
                return {
                    "LoginProfile": {
                        "UserName": user.name,
                        "CreateDate": profile.created,
                        "PasswordResetRequired": profile.reset_required,
                    }
                }

            return await in_transaction(ctx, req, work)

        return handler

    return {
        "CreateAccessKey": create_access_key,
        "ListAccessKeys": list_access_keys,
        "UpdateAccessKey": update_access_key,
        "DeleteAccessKey": delete_access_key,
        "UploadSigningCertificate": upload_signing_certificate,
        "CreateSigningCertificate": create_signing_certificate,
        "ListSigningCertificates": list_signing_certificates,
        "UpdateSigningCertificate": update_signing_certificate,
        "DeleteSigningCertificate": delete_signing_certificate,
        "CreateLoginProfile": login_profile("Create"),
        "GetLoginProfile": login_profile("Get"),
        "UpdateLoginProfile": login_profile("Update"),
        "DeleteLoginProfile": login_profile("Delete"),
    }
