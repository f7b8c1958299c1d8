"""Authentication of internal SOAP requests with the component keys.

This is our own scheme, not WS-Security; only components of this project speak it.

The sender (holding e.g. ``cluster-cert.pem``/``cluster-pk.pem``) adds to ``soapenv:Header``::

    <euca:Security>
      <euca:Certificate>base64 of its certificate, DER</euca:Certificate>
      <euca:Created>UTC time, ISO 8601, e.g. 2026-11-21T10:00:00.123456Z</euca:Created>
      <euca:MessageID>random, unique per attempt</euca:MessageID>
      <euca:To>the target service path, e.g. /axis2/services/EucalyptusNC</euca:To>
      <euca:Action>the SOAPAction, e.g. EucalyptusNC#ncRunInstance</euca:Action>
      <euca:Signature>base64 RSA-SHA256 (PKCS#1 v1.5) signature</euca:Signature>
    </euca:Security>

The signature covers the UTF-8 bytes of these lines joined by ``\\n``: the scheme name
``EUCA-SOAP-RSA-SHA256``, Created, MessageID, To, Action, the hex SHA-256 of the certificate
DER and the hex SHA-256 of the exclusive C14N (without comments) of the ``soapenv:Body``.

The receiver (:class:`MessageVerifier`, one per served service) refuses, in this order:
no header (:class:`MissingSecurityHeader`); a missing, repeated, unknown or malformed field
(:class:`MalformedSecurityHeader`); a certificate that is not byte for byte one of the pinned
certificates (:class:`UntrustedPeer`); a signature that does not verify
(:class:`InvalidMessageSignature`); a To or Action other than the service path and the
operation's SOAPAction (:class:`MessageTargetMismatch`); a Created further than ``max_skew``
seconds from its clock (:class:`MessageExpired`); a MessageID already accepted from that
certificate within ``2 * max_skew`` seconds (:class:`ReplayedMessage`). Only signed messages
reach the replay cache, so unsigned junk cannot fill it. Responses are not signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from eucalyptus.common.errors import ConfigError
from eucalyptus.common.soap.codec import EUCA_NS, SOAP_ENV_NS, euca
from eucalyptus.common.soap.errors import (
    InvalidMessageSignature,
    MalformedSecurityHeader,
    MessageExpired,
    MessageTargetMismatch,
    MissingSecurityHeader,
    ReplayCacheFull,
    ReplayedMessage,
    UntrustedPeer,
)

SCHEME = "EUCA-SOAP-RSA-SHA256"
DEFAULT_MAX_SKEW = 20.0
DEFAULT_REPLAY_CAPACITY = 100_000
MIN_RSA_BITS = 2048

_SECURITY = euca("Security")
_FIELDS = ("Certificate", "Created", "MessageID", "To", "Action", "Signature")
_TOKEN = re.compile(r"[\x21-\x7e]{1,256}")
_MAX_B64 = 16384

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {os.fspath(path)}: {exc.strerror}") from None


class ComponentKey:
    """A component's RSA key pair: signs outgoing requests.

    Raises :class:`ConfigError` when the key is not RSA of at least 2048 bits or does not
    belong to the certificate.
    """

    def __init__(self, certificate: x509.Certificate, private_key: rsa.RSAPrivateKey) -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ConfigError("component keys must be RSA")
        if private_key.key_size < MIN_RSA_BITS:
            raise ConfigError(f"RSA key of {private_key.key_size} bits; need {MIN_RSA_BITS}")
        public = certificate.public_key()
        if not (
            isinstance(public, rsa.RSAPublicKey)
            and public.public_numbers() == private_key.public_key().public_numbers()
        ):
            raise ConfigError("the private key does not match the certificate")
        self.certificate = certificate
        self.certificate_der = certificate.public_bytes(serialization.Encoding.DER)
        self._private_key = private_key

    @classmethod
    def load(
        cls, cert_path: str | os.PathLike[str], key_path: str | os.PathLike[str]
    ) -> ComponentKey:
        """Read a PEM certificate and an unencrypted PEM private key (blocking; at start-up)."""
        try:
            certificate = x509.load_pem_x509_certificate(_read(cert_path))
        except ValueError as exc:
            raise ConfigError(f"{os.fspath(cert_path)}: not a PEM certificate: {exc}") from None
        try:
            key = serialization.load_pem_private_key(_read(key_path), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{os.fspath(key_path)}: not a PEM private key: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError(f"{os.fspath(key_path)}: not an RSA private key")
        return cls(certificate, key)

    def sign(self, data: bytes) -> bytes:
        """RSA-SHA256, PKCS#1 v1.5."""
        return self._private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


class TrustedPeers:
    """The certificates a service accepts requests from, pinned byte for byte (DER)."""

    def __init__(self, certificates: Iterable[x509.Certificate]) -> None:
        self._by_der: dict[bytes, x509.Certificate] = {}
        for certificate in certificates:
            if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
                raise ConfigError(f"trusted certificate {certificate.subject} is not RSA")
            self._by_der[certificate.public_bytes(serialization.Encoding.DER)] = certificate
        if not self._by_der:
            raise ConfigError("no trusted certificates: every request would be refused")

    @classmethod
    def load(cls, paths: Iterable[str | os.PathLike[str]]) -> TrustedPeers:
        """Read PEM files, each holding one or more certificates (blocking; at start-up)."""
        certificates: list[x509.Certificate] = []
        for path in paths:
            try:
                certificates.extend(x509.load_pem_x509_certificates(_read(path)))
            except ValueError as exc:
                raise ConfigError(f"{os.fspath(path)}: not a PEM certificate: {exc}") from None
        return cls(certificates)

    def match(self, der: bytes) -> x509.Certificate | None:
        """The pinned certificate whose DER is exactly ``der``, if any."""
        return self._by_der.get(der)


def body_digest(body: etree._Element) -> str:
    """Hex SHA-256 of the exclusive C14N (no comments) of the ``soapenv:Body`` element."""
    c14n = etree.tostring(body, method="c14n", exclusive=True, with_comments=False)
    return hashlib.sha256(c14n).hexdigest()


def _canonical(
    created: str, message_id: str, to: str, action: str, cert_der: bytes, digest: str
) -> bytes:
    cert_hash = hashlib.sha256(cert_der).hexdigest()
    return "\n".join((SCHEME, created, message_id, to, action, cert_hash, digest)).encode()


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def sign_envelope(
    envelope: etree._Element,
    key: ComponentKey,
    *,
    to: str,
    action: str,
    now: datetime | None = None,
    message_id: str | None = None,
) -> str:
    """Add a signed ``euca:Security`` header (first in the Header, made if absent).

    Sign after the Body is final: any later change to it breaks the signature. Returns the
    MessageID. ``now`` and ``message_id`` exist for tests; leave them unset.
    """
    body = envelope.find(f"{{{SOAP_ENV_NS}}}Body")
    if body is None:
        raise ValueError("envelope has no Body")
    created = _format_time(now or _utc_now())
    message_id = message_id or f"urn:uuid:{secrets.token_hex(16)}"
    for value in (created, message_id, to, action):
        if not _TOKEN.fullmatch(value):
            raise ValueError(f"{value!r} cannot be signed (printable ASCII, no spaces)")
    data = _canonical(created, message_id, to, action, key.certificate_der, body_digest(body))
    header = envelope.find(f"{{{SOAP_ENV_NS}}}Header")
    if header is None:
        header = etree.Element(f"{{{SOAP_ENV_NS}}}Header")
        body.addprevious(header)
    security = etree.Element(_SECURITY)
    values = (
        base64.b64encode(key.certificate_der).decode("ascii"),
        created,
        message_id,
        to,
        action,
        base64.b64encode(key.sign(data)).decode("ascii"),
    )
    for name, value in zip(_FIELDS, values, strict=True):
        etree.SubElement(security, euca(name)).text = value
    header.insert(0, security)
    return message_id


@dataclass(frozen=True)
class VerifiedSender:
    """What a verified request proves about its sender."""

    certificate: x509.Certificate
    subject: str
    message_id: str
    created: datetime


class ReplayCache:
    """MessageIDs accepted in the last ``window`` seconds, at most ``capacity`` of them.

    When full of live entries it refuses (:class:`ReplayCacheFull`) rather than forget one.
    """

    def __init__(
        self, window: float, capacity: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if window <= 0 or capacity <= 0:
            raise ValueError("replay window and capacity must be positive")
        self._window = window
        self._capacity = capacity
        self._clock = clock
        # insertion order is expiry order: every entry lives exactly `window` seconds
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    def add(self, key: str) -> None:
        """Remember ``key``; raises :class:`ReplayedMessage` when it is already live."""
        now = self._clock()
        while self._expiry and next(iter(self._expiry.values())) <= now:
            self._expiry.popitem(last=False)
        if key in self._expiry:
            raise ReplayedMessage("this MessageID was already accepted")
        if len(self._expiry) >= self._capacity:
            raise ReplayCacheFull("too many recent messages to check for replays; retry later")
        self._expiry[key] = now + self._window


class MessageVerifier:
    """Checks the ``euca:Security`` header of requests to one service (see module doc)."""

    def __init__(
        self,
        trusted: TrustedPeers,
        *,
        service_path: str,
        max_skew: float = DEFAULT_MAX_SKEW,
        replay_capacity: int = DEFAULT_REPLAY_CAPACITY,
        clock: Clock = _utc_now,
    ) -> None:
        if max_skew <= 0:
            raise ValueError("max_skew must be positive")
        self._trusted = trusted
        self._service_path = service_path
        self._max_skew = max_skew
        self._clock = clock
        self.replay_cache = ReplayCache(2 * max_skew, replay_capacity)

    def verify(
        self, header: etree._Element | None, body_child: etree._Element, action: str
    ) -> VerifiedSender:
        """Verify a request for SOAPAction ``action``; raises a SoapSecurityError subclass.

        On success the MessageID is remembered; on failure nothing is.
        """
        fields = self._fields(header)
        try:
            cert_der = base64.b64decode(fields["Certificate"], validate=True)
            signature = base64.b64decode(fields["Signature"], validate=True)
        except binascii.Error:
            raise MalformedSecurityHeader("Certificate or Signature is not base64") from None
        certificate = self._trusted.match(cert_der)
        if certificate is None:
            raise UntrustedPeer("the signing certificate is not trusted by this service")
        body = body_child.getparent()
        assert body is not None  # a Body child always has its Body
        data = _canonical(
            fields["Created"],
            fields["MessageID"],
            fields["To"],
            fields["Action"],
            cert_der,
            body_digest(body),
        )
        public_key = certificate.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey)  # TrustedPeers admits only RSA
        try:
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise InvalidMessageSignature("the message signature does not verify") from None
        if fields["To"] != self._service_path or fields["Action"] != action:
            raise MessageTargetMismatch(
                f"signed for {fields['To']} {fields['Action']}, delivered to "
                f"{self._service_path} {action}"
            )
        created = self._created(fields["Created"])
        skew = abs((self._clock() - created).total_seconds())
        if skew > self._max_skew:
            raise MessageExpired(f"Created is {skew:.0f} s from now; at most {self._max_skew:g}")
        fingerprint = hashlib.sha256(cert_der).hexdigest()
        self.replay_cache.add(f"{fingerprint} {fields['MessageID']}")
        return VerifiedSender(
            certificate, certificate.subject.rfc4514_string(), fields["MessageID"], created
        )

    @staticmethod
    def _fields(header: etree._Element | None) -> dict[str, str]:
        found = [] if header is None else header.findall(_SECURITY)
        if not found:
            raise MissingSecurityHeader("the request carries no euca:Security header")
        if len(found) > 1:
            raise MalformedSecurityHeader("more than one euca:Security header")
        fields: dict[str, str] = {}
        for child in found[0].iterchildren("*"):
            name = child.tag.removeprefix(f"{{{EUCA_NS}}}")
            if name not in _FIELDS or name in fields:
                raise MalformedSecurityHeader(f"unexpected or repeated element {child.tag}")
            fields[name] = (child.text or "").strip()
        missing = [name for name in _FIELDS if name not in fields]
        if missing:
            raise MalformedSecurityHeader(f"euca:Security lacks {', '.join(missing)}")
        for name in ("Created", "MessageID", "To", "Action"):
            if not _TOKEN.fullmatch(fields[name]):
                raise MalformedSecurityHeader(f"{name} is empty, too long or not printable")
        if len(fields["Certificate"]) > _MAX_B64 or len(fields["Signature"]) > _MAX_B64:
            raise MalformedSecurityHeader("Certificate or Signature is too long")
        return fields

    @staticmethod
    def _created(text: str) -> datetime:
        try:
            created = datetime.fromisoformat(text)
        except ValueError:
            raise MalformedSecurityHeader("Created is not an ISO 8601 time") from None
        if created.tzinfo is None:
            raise MalformedSecurityHeader("Created has no time zone")
        return created
