"""The cloud's public-key infrastructure: RSA keys, the cloud CA and what it issues.

``euca_conf --initialize`` makes one self-signed certificate authority, the *cloud
certificate* (``keys/cloud-cert.pem`` + ``keys/cloud-pk.pem``). It identifies the CLC,
signs the CLC's SOAP requests, and issues every other certificate of the cloud:

* component certificates (``cluster``, ``node``, ``walrus``, ``storage``), subject
  ``O=Eucalyptus, OU=<kind>, CN=<name>``;
* user signing certificates handed out in credentials zips, subject
  ``O=Eucalyptus, OU=<account>, CN=<user>``.

Keys are RSA 2048 and signatures SHA-256. Private keys are written PEM (PKCS#8,
unencrypted: daemons read them unattended) with mode 0600; certificates with 0644.
Every write is atomic (a temporary file in the same directory, fsync, rename, fsync of
the directory): a crash leaves either the old file, the new file, or no file, never a
truncated one, and a failed write removes its temporary file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from eucalyptus.common.errors import ConfigError

KEY_BITS = 2048
CA_DAYS = 3650
LEAF_DAYS = 5 * 365
#: how far back a new certificate's validity starts, for peers whose clocks lag a little
BACKDATE = timedelta(minutes=10)
ORGANIZATION = "Eucalyptus"

ComponentKind = Literal["cluster", "node", "walrus", "storage"]
COMPONENT_KINDS: tuple[ComponentKind, ...] = ("cluster", "node", "walrus", "storage")


class PkiError(ConfigError):
    """A key or certificate file is missing, unreadable or does not match its partner."""


@dataclass(frozen=True)
class KeyPair:
    """A private key and the certificate of its public half."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    def key_pem(self) -> bytes:
        return private_key_pem(self.key)

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate (hex), the form used to pin and to deduplicate."""
        return cert_fingerprint(self.cert)

    def save(self, cert_path: Path, key_path: Path) -> None:
        """Write both files atomically, the key first (0600), then the certificate (0644).

        If the certificate cannot be written, the key file written here is removed again
        when it did not exist before; an existing key file that was replaced stays replaced.
        """
        key_existed = key_path.exists()
        write_private_key(key_path, self.key)
        try:
            write_certificate(cert_path, self.cert)
        except BaseException:
            if not key_existed:
                with contextlib.suppress(FileNotFoundError):
                    key_path.unlink()
            raise

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> KeyPair:
        """Read a pair; raises :class:`PkiError` if a file is unreadable or they do not match."""
        pair = cls(load_private_key(key_path), load_certificate(cert_path))
        if not public_keys_match(pair.key.public_key(), pair.cert.public_key()):
            raise PkiError(f"{key_path} is not the private key of {cert_path}")
        return pair


# --- keys and names -------------------------------------------------------------------------


def new_private_key(bits: int = KEY_BITS) -> rsa.RSAPrivateKey:
    """A fresh RSA key (public exponent 65537)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def subject(org_unit: str, common_name: str) -> x509.Name:
    """``O=Eucalyptus, OU=<org_unit>, CN=<common_name>``."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, org_unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def name_field(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    """The first value of one attribute of a name, or "" when absent."""
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


# --- issuing --------------------------------------------------------------------------------


def make_cloud_ca(common_name: str = "www.eucalyptus.com", days: int = CA_DAYS) -> KeyPair:
    """A new self-signed CA: ``O=Eucalyptus, OU=Cloud, CN=<common_name>``, ``days`` long.

    The CA's key also does ordinary work (signing SOAP requests, decrypting image keys
    encrypted to the cloud certificate), so its key usage allows that besides signing
    certificates.
    """
    key = new_private_key()
    name = subject("Cloud", common_name)
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(key, cert)


def issue_certificate(
    ca: KeyPair,
    name: x509.Name,
    public_key: rsa.RSAPublicKey,
    *,
    days: int = LEAF_DAYS,
    client: bool = True,
    server: bool = False,
) -> x509.Certificate:
    """A leaf certificate for ``public_key`` signed by ``ca``; never outlives the CA."""
    now = datetime.now(UTC)
    not_after = min(now + timedelta(days=days), ca.cert.not_valid_after_utc)
    usages = []
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def issue_user_keypair(ca: KeyPair, account: str, user: str) -> KeyPair:
    """A new key and a signing certificate ``OU=<account>, CN=<user>`` issued by ``ca``."""
    key = new_private_key()
    return KeyPair(key, issue_certificate(ca, subject(account, user), key.public_key()))


def issue_component_keypair(ca: KeyPair, kind: ComponentKind, name: str) -> KeyPair:
    """A new key and certificate ``OU=<kind>, CN=<name>`` for a component (client + server)."""
    if kind not in COMPONENT_KINDS:
        raise ValueError(f"unknown component kind {kind!r}")
    key = new_private_key()
    cert = issue_certificate(ca, subject(kind, name), key.public_key(), client=True, server=True)
    return KeyPair(key, cert)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=True,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


# --- checking -------------------------------------------------------------------------------


def verify_issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """True when ``cert`` names ``ca_cert`` as issuer and its signature verifies with it."""
    if cert.issuer != ca_cert.subject:
        return False
    ca_key = ca_cert.public_key()
    if not isinstance(ca_key, rsa.RSAPublicKey) or cert.signature_hash_algorithm is None:
        return False
    try:
        ca_key.verify(
            cert.signature,
            cert.tbs_certificate_bytes,
            padding.PKCS1v15(),
            cert.signature_hash_algorithm,
        )
    except InvalidSignature:
        return False
    return True


def public_keys_match(a: object, b: object) -> bool:
    """True when two public keys are the same RSA key."""
    if not isinstance(a, rsa.RSAPublicKey) or not isinstance(b, rsa.RSAPublicKey):
        return False
    return a.public_numbers() == b.public_numbers()


def cert_fingerprint(cert: x509.Certificate, algorithm: str = "sha256") -> str:
    """Lower-case hex digest of the certificate's DER form."""
    return hashlib.new(algorithm, cert_der(cert)).hexdigest()


def key_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """Lower-case hex SHA-1 of the key's SubjectPublicKeyInfo (DER)."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha1(spki, usedforsecurity=False).hexdigest()


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


# --- files ----------------------------------------------------------------------------------


def atomic_write(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` atomically; the file never exists with other contents
    or wider permissions than ``mode``. On failure the temporary file is removed and
    ``path`` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot fsync a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_private_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    """``path`` := the key in PEM, mode 0600, atomically."""
    atomic_write(path, private_key_pem(key), 0o600)


def write_certificate(path: Path, cert: x509.Certificate) -> None:
    """``path`` := the certificate in PEM, mode 0644, atomically."""
    atomic_write(path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def load_certificate(path: Path) -> x509.Certificate:
    """A PEM certificate from ``path``; :class:`PkiError` when missing or malformed."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise PkiError(f"{path}: no such certificate file") from None
    except (OSError, ValueError) as exc:
        raise PkiError(f"{path}: not a readable PEM certificate ({exc})") from None


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """A PEM RSA private key from ``path``; :class:`PkiError` when missing or malformed."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise PkiError(f"{path}: no such private key file") from None
    except (OSError, ValueError, TypeError) as exc:
        raise PkiError(f"{path}: not a readable unencrypted PEM private key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PkiError(f"{path}: not an RSA private key")
    return key
