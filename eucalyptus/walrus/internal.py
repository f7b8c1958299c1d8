"""The seam for component-only operations (image cache, snapshot store, ...).

As in the original, an internal caller sends an ordinary S3-shaped request with the
header ``EucaOperation: <operation>``. Such a request must be signed with a component
key (the cloud, cluster or node key pairs under ``keys/``), never with a user's access
key; a user who sends ``EucaOperation`` gets AccessDenied.

Scheme (ours, the original's EUCA2-RSA-SHA256 in spirit): headers

``X-Euca-Certificate``  base64 of the signer's certificate, DER
``X-Euca-Date``         UTC, ISO 8601 (``2026-11-21T10:00:00Z``)
``X-Euca-Signature``    base64 RSA-SHA256 (PKCS#1 v1.5)

over the lines ``EUCA2-RSA-SHA256``, method, raw path, raw query, X-Euca-Date,
EucaOperation and the hex SHA-256 of the certificate, joined by ``\\n``. The
certificate must be one of the pinned ones byte for byte; the date within the clock
skew. Bodies are not covered (snapshot uploads stream); operations that need body
integrity check a digest header of their own.

Operations register in :data:`INTERNAL_OPERATIONS`; the images and storage issues add
theirs. One is here now: ``DescribeBucketUsage`` (bytes and objects of a bucket).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eucalyptus.common.errors import AccessDenied
from eucalyptus.common.paths import EucaPaths
from eucalyptus.common.soap.security import ComponentKey, TrustedPeers
from eucalyptus.walrus.context import WalrusContext
from eucalyptus.walrus.errors import InvalidArgument, NotImplementedError_
from eucalyptus.walrus.models import ObjectVersion
from eucalyptus.walrus.objects import get_bucket
from eucalyptus.walrus.routing import Route

SCHEME = "EUCA2-RSA-SHA256"
OPERATION_HEADER = "eucaoperation"
MAX_CERT_B64 = 16384


@dataclass(frozen=True)
class InternalRequest:
    """A verified component request: who signed it and what it asks."""

    http: web.Request
    ctx: WalrusContext
    request_id: str
    route: Route
    operation: str
    signer: x509.Certificate


InternalHandler = Callable[[InternalRequest], Awaitable[web.StreamResponse]]


def string_to_sign(
    method: str, raw_path: str, query: str, date: str, operation: str, cert_der: bytes
) -> bytes:
    lines = (SCHEME, method.upper(), raw_path, query, date, operation)
    return ("\n".join(lines) + "\n" + hashlib.sha256(cert_der).hexdigest()).encode()


def sign_internal(
    key: ComponentKey,
    *,
    method: str,
    raw_path: str,
    query: str,
    operation: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers a component adds to call ``operation`` (the client side)."""
    date = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = key.sign(
        string_to_sign(method, raw_path, query, date, operation, key.certificate_der)
    )
    return {
        "EucaOperation": operation,
        "X-Euca-Certificate": base64.b64encode(key.certificate_der).decode(),
        "X-Euca-Date": date,
        "X-Euca-Signature": base64.b64encode(signature).decode(),
    }


def component_peers(paths: EucaPaths) -> TrustedPeers | None:
    """The cloud certificate and every cluster's and node's certificate under ``keys/``."""
    keys = paths.keys_dir
    files: list[Path] = [keys / "cloud-cert.pem"] if (keys / "cloud-cert.pem").exists() else []
    if keys.is_dir():
        for partition in sorted(p for p in keys.iterdir() if p.is_dir()):
            files += [partition / n for n in ("cluster-cert.pem", "node-cert.pem")]
    files = [f for f in files if f.exists()]
    return TrustedPeers.load(files) if files else None


class PeerCache:
    """The component certificates, re-read (at most every ``interval`` s) when a
    signer is not among them, so a cluster registered after start-up is trusted."""

    def __init__(self, paths: EucaPaths, interval: float = 10.0) -> None:
        self.paths = paths
        self.interval = interval
        self.peers = component_peers(paths)
        self._loaded = time.monotonic()

    def match(self, der: bytes) -> x509.Certificate | None:
        found = None if self.peers is None else self.peers.match(der)
        if found is None and time.monotonic() - self._loaded > self.interval:
            self.peers = component_peers(self.paths)
            self._loaded = time.monotonic()
            found = None if self.peers is None else self.peers.match(der)
        return found


def verify_internal(
    request: web.Request,
    lower: Mapping[str, str],
    raw_path: str,
    query: str,
    peers: PeerCache,
    *,
    now: datetime,
    max_skew: timedelta,
) -> x509.Certificate:
    """The signer's pinned certificate; AccessDenied for anything else."""
    operation = lower.get(OPERATION_HEADER, "")
    cert_b64 = lower.get("x-euca-certificate", "")
    date = lower.get("x-euca-date", "")
    signature_b64 = lower.get("x-euca-signature", "")
    if not (cert_b64 and date and signature_b64):
        raise AccessDenied(f"{operation} is an internal operation: components only")
    if len(cert_b64) > MAX_CERT_B64:
        raise AccessDenied("malformed component certificate")
    try:
        der = base64.b64decode(cert_b64, validate=True)
        signature = base64.b64decode(signature_b64, validate=True)
        signed_at = datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (binascii.Error, ValueError):
        raise AccessDenied("malformed component signature headers") from None
    certificate = peers.match(der)
    if certificate is None:
        raise AccessDenied("the signing certificate is not a component of this cloud")
    public = certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)  # TrustedPeers holds RSA keys only
    try:
        public.verify(
            signature,
            string_to_sign(request.method, raw_path, query, date, operation, der),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise AccessDenied("the component signature does not verify") from None
    if abs(now - signed_at) > max_skew:
        raise AccessDenied("the component signature is outside the allowed clock skew")
    return certificate


# --- operations ----------------------------------------------------------------------------


async def describe_bucket_usage(req: InternalRequest) -> web.StreamResponse:
    """``GET /bucket`` with ``EucaOperation: DescribeBucketUsage``: bytes and objects."""
    name = req.route.bucket
    if name is None or req.route.key is not None:
        raise InvalidArgument("DescribeBucketUsage names a bucket only")

    def work(session: Session) -> tuple[int, int]:
        bucket = get_bucket(session, name)
        count = session.execute(
            select(func.count()).where(
                ObjectVersion.bucket == name, ObjectVersion.delete_marker.is_(False)
            )
        ).scalar_one()
        return bucket.size_bytes, int(count)

    size, count = await req.ctx.db.run(work)
    return web.json_response({"bucket": name, "bytes": size, "objects": count})


INTERNAL_OPERATIONS: dict[str, InternalHandler] = {
    "DescribeBucketUsage": describe_bucket_usage,
}


async def dispatch(req: InternalRequest) -> web.StreamResponse:
    handler = INTERNAL_OPERATIONS.get(req.operation)
    if handler is None:
        raise NotImplementedError_(
            f"Internal operation {req.operation} is not served by this Walrus",
            Header="EucaOperation",
        )
    return await handler(req)
