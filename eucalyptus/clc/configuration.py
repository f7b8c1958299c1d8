"""The CLC side of the ``Configuration`` SOAP service (``/services/Configuration``).

The CLC serves ``credentials_msgs.CLC_CONFIGURATION_SERVICE`` (the registration operations
plus ``GetCredentials``). Only the cloud certificate may call it (:func:`trusted_admin_peers`):
``euca_conf`` on the CLC host signs with ``keys/cloud-pk.pem``.

``RegisterComponent``
    validates type, partition, name, host and port; refuses a second component of the
    same type and name, a second cluster or storage controller in one partition, a second
    walrus in the cloud, and nodes (those are registered on their cluster controller);
    for a cluster makes ``keys/<partition>/{cluster,node}-{cert,pk}.pem`` when absent (one
    node pair per partition, shared by all its NCs, as in the original); records the
    component; then tests it with ``DescribeService`` signed with the cloud key and a short
    timeout, recording ENABLED, or NOTREADY with the reason. A component whose daemon does
    not run yet is recorded NOTREADY, not refused. If the record cannot be written, key
    files made by this call are removed again.
``DeregisterComponent``
    ``NoSuchEntity`` when unknown; removes the record; keeps the keys.
``DescribeComponents``
    all records, or those of one type.
``DescribeService``
    the CLC's own heartbeat.
``GetCredentials``
    the credentials zip (:mod:`eucalyptus.clc.credentials`).

Each component answers ``DescribeService`` on the service named in :data:`PROBE_SERVICES`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from sqlalchemy import select
from sqlalchemy.orm import Session

from eucalyptus import __version__
from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.credentials import make_credentials_zip
from eucalyptus.clc.identity.models import Component
from eucalyptus.clc.initialize import cloud_cert_path, cloud_key_path, load_cloud_ca
from eucalyptus.common import pki
from eucalyptus.common.db import utcnow
from eucalyptus.common.errors import (
    ConfigError,
    EntityAlreadyExists,
    InvalidParameterValue,
    NoSuchEntity,
)
from eucalyptus.common.paths import EucaPaths
from eucalyptus.common.soap.client import SoapClient
from eucalyptus.common.soap.configuration_msgs import (
    CONFIGURATION_SERVICE,
    DESCRIBE_SERVICE,
    ComponentRecord,
    DeregisterComponentResponseType,
    DeregisterComponentType,
    DescribeComponentsResponseType,
    DescribeComponentsType,
    DescribeServiceResponseType,
    DescribeServiceType,
    RegisterComponentResponseType,
    RegisterComponentType,
)
from eucalyptus.common.soap.credentials_msgs import (
    GetCredentialsResponseType,
    GetCredentialsType,
)
from eucalyptus.common.soap.operations import ServiceDecl
from eucalyptus.common.soap.security import ComponentKey, TrustedPeers
from eucalyptus.common.soap.server import SoapHandler, SoapRequestContext

log = logging.getLogger(__name__)

#: where each kind of component answers DescribeService: (service name, HTTP path)
PROBE_SERVICES: Mapping[str, tuple[str, str]] = {
    "cluster": ("EucalyptusCC", "/axis2/services/EucalyptusCC"),
    "storage": ("EucalyptusSC", "/services/Storage"),
    "walrus": ("Empyrean", "/services/Empyrean"),
}
PROBE_TIMEOUT = 5.0
#: states a component may report and still be recorded ENABLED
_USABLE_STATES = frozenset({"ENABLED", "DISABLED", "LOADED", "INITIALIZED", "PRIMORDIAL"})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
WALRUS_PARTITION = "walrus"


def trusted_admin_peers(paths: EucaPaths) -> TrustedPeers:
    """Only the cloud certificate; raises ``ConfigError`` when it cannot be read."""
    return TrustedPeers.load([cloud_cert_path(paths)])


def configuration_handlers(
    ctx: ClcContext, service: ServiceDecl = CONFIGURATION_SERVICE
) -> dict[str, SoapHandler]:
    """One handler per operation of ``service``.

    The CLC should serve ``CLC_CONFIGURATION_SERVICE`` (which adds ``GetCredentials``)
    and pass it here; the default is the plain registration service. Reads the cloud key
    pair now (blocking, at start-up); raises ``ConfigError`` when it is missing or broken,
    or when ``service`` declares an operation this module does not implement.
    """
    impl = _ConfigurationService(
        ctx, ComponentKey.load(cloud_cert_path(ctx.paths), cloud_key_path(ctx.paths))
    )
    table: dict[str, SoapHandler] = {
        "RegisterComponent": impl.register,
        "DeregisterComponent": impl.deregister,
        "DescribeComponents": impl.describe_components,
        "DescribeService": impl.describe_service,
        "GetCredentials": impl.get_credentials,
    }
    unknown = sorted(service.operation_names - table.keys())
    if unknown:
        raise ConfigError(f"service {service.name}: no implementation of {unknown}")
    return {name: table[name] for name in service.operation_names}


@dataclass(frozen=True)
class ProbeResult:
    state: str
    detail: str
    seen: bool


class _ConfigurationService:
    def __init__(self, ctx: ClcContext, key: ComponentKey) -> None:
        self._ctx = ctx
        self._key = key

    # --- RegisterComponent ---------------------------------------------------------------
    async def register(
        self, request: RegisterComponentType, context: SoapRequestContext
    ) -> RegisterComponentResponseType:
        kind = request.component_type
        partition = _validated(request, kind)
        await self._ctx.db.run(lambda s: _check_free(s, kind, partition, request.name))
        made: list[Path] = []
        if kind == "cluster":
            made = await asyncio.to_thread(ensure_partition_keys, self._ctx.paths, partition)

        def insert(session: Session) -> int:
            _check_free(session, kind, partition, request.name)
            record = Component(
                kind=kind,
                partition=partition,
                name=request.name,
                host=request.host,
                port=request.port,
                state="NOTREADY",
                state_detail="not yet tested",
            )
            session.add(record)
            session.flush()
            return record.id

        try:
            record_id = await self._ctx.db.run(insert)
        except BaseException:
            for path in made:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            raise
        log.info(
            "registered %s %s in %s at %s:%d (by %s)",
            kind,
            request.name,
            partition,
            request.host,
            request.port,
            context.peer_subject,
        )
        probe = await self.probe(kind, request.host, request.port)
        record = await self._ctx.db.run(lambda s: _record_probe(s, record_id, probe))
        return RegisterComponentResponseType(component=record, status_message=probe.detail or None)

    async def probe(self, kind: str, host: str, port: int) -> ProbeResult:
        """Call the component's DescribeService; never raises for the component's faults."""
        name, path = PROBE_SERVICES[kind]
        service = ServiceDecl(name, path, (DESCRIBE_SERVICE,))
        url = f"http://{_url_host(host)}:{port}"
        session = self._ctx.http
        own_session = session is None or session.closed
        if own_session:
            session = aiohttp.ClientSession()
        assert session is not None
        try:
            client = SoapClient(service, url, self._key, session, retries=0)
            async with asyncio.timeout(PROBE_TIMEOUT):
                answer = await client.call(DESCRIBE_SERVICE, DescribeServiceType())
        except Exception as exc:  # any failure of the peer is a NOTREADY reason
            reason = f"{url}{path}: {type(exc).__name__}: {exc}"
            log.info("%s at %s is not ready: %s", kind, url, reason)
            return ProbeResult("NOTREADY", reason[:500], False)
        finally:
            if own_session:
                await session.close()
        if answer.component_type != kind:
            return ProbeResult(
                "NOTREADY", f"{url}{path} is a {answer.component_type}, not a {kind}", True
            )
        if answer.state not in _USABLE_STATES:
            detail = f"reports {answer.state}" + (f": {answer.details}" if answer.details else "")
            return ProbeResult("NOTREADY", detail[:500], True)
        return ProbeResult("ENABLED", answer.details or "", True)

    # --- the others ----------------------------------------------------------------------
    async def deregister(
        self, request: DeregisterComponentType, context: SoapRequestContext
    ) -> DeregisterComponentResponseType:
        def remove(session: Session) -> None:
            record = session.scalars(
                select(Component).where(
                    Component.kind == request.component_type, Component.name == request.name
                )
            ).first()
            if record is None or (request.partition and record.partition != request.partition):
                where = f" in partition {request.partition}" if request.partition else ""
                raise NoSuchEntity(f"no {request.component_type} named {request.name}{where}")
            session.delete(record)

        await self._ctx.db.run(remove)
        log.info(
            "deregistered %s %s (by %s)", request.component_type, request.name, context.peer_subject
        )
        return DeregisterComponentResponseType()

    async def describe_components(
        self, request: DescribeComponentsType, _context: SoapRequestContext
    ) -> DescribeComponentsResponseType:
        def listing(session: Session) -> list[ComponentRecord]:
            query = select(Component).order_by(Component.kind, Component.partition, Component.name)
            if request.component_type is not None:
                query = query.where(Component.kind == request.component_type)
            return [to_record(row) for row in session.scalars(query)]

        return DescribeComponentsResponseType(components=await self._ctx.db.run(listing))

    async def describe_service(
        self, _request: DescribeServiceType, _context: SoapRequestContext
    ) -> DescribeServiceResponseType:
        return DescribeServiceResponseType(
            component_type="eucalyptus",
            name="eucalyptus",
            state="ENABLED",
            version=__version__,
            local_time=datetime.now(UTC),
        )

    async def get_credentials(
        self, request: GetCredentialsType, context: SoapRequestContext
    ) -> GetCredentialsResponseType:
        ctx = self._ctx
        data = await ctx.db.run(
            lambda s: make_credentials_zip(
                s, ctx, ctx.paths, request.account_name, request.user_name
            )
        )
        log.info(
            "issued credentials of %s/%s (by %s)",
            request.account_name,
            request.user_name,
            context.peer_subject,
        )
        return GetCredentialsResponseType(zip_file=data)


# --- helpers ---------------------------------------------------------------------------------


def ensure_partition_keys(paths: EucaPaths, partition: str) -> list[Path]:
    """Make ``keys/<partition>/{cluster,node}-{cert,pk}.pem`` where a pair is incomplete.

    Returns the files written. A complete pair is kept as it is; a pair with one file
    missing is replaced (half a pair is of no use). On failure the files written by this
    call are removed.
    """
    ca = load_cloud_ca(paths)
    directory = paths.keys_dir / partition
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for kind in ("cluster", "node"):
            cert, key = directory / f"{kind}-cert.pem", directory / f"{kind}-pk.pem"
            if cert.exists() and key.exists():
                continue
            if cert.exists() or key.exists():
                log.warning("replacing the incomplete %s key pair in %s", kind, directory)
            pair = pki.issue_component_keypair(ca, kind, partition)
            written += [p for p in (key, cert) if not p.exists()]
            pair.save(cert, key)
    except BaseException:
        for path in written:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        raise
    return written


def _validated(request: RegisterComponentType, kind: str) -> str:
    """The partition to record; raises InvalidParameterValue for a bad field."""
    if kind not in PROBE_SERVICES:
        raise InvalidParameterValue(
            f"a {kind} cannot be registered with the cloud controller; nodes are registered "
            "on their cluster controller (euca_conf --register-nodes)"
        )
    partition = request.partition or (WALRUS_PARTITION if kind == "walrus" else "")
    for what, value in (("partition", partition), ("name", request.name)):
        if not _NAME.fullmatch(value):
            raise InvalidParameterValue(
                f"{what} {value!r}: 1-64 letters, digits, '_', '.' or '-', starting with a "
                "letter or digit"
            )
    if not _valid_host(request.host):
        raise InvalidParameterValue(f"host {request.host!r} is not a host name or IP address")
    if not 1 <= request.port <= 65535:
        raise InvalidParameterValue(f"port {request.port} is not between 1 and 65535")
    return partition


def _valid_host(host: str) -> bool:
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return True
    labels = host.rstrip(".").split(".")
    return 0 < len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _check_free(session: Session, kind: str, partition: str, name: str) -> None:
    rows = session.scalars(select(Component).where(Component.kind == kind)).all()
    for row in rows:
        if row.name == name:
            raise EntityAlreadyExists(f"{kind} {name} is already registered at {row.host}")
        if kind == "walrus":
            raise EntityAlreadyExists(f"walrus {row.name} is already registered; only one")
        if row.partition == partition:
            raise EntityAlreadyExists(f"partition {partition} already has {kind} {row.name}")


def _record_probe(session: Session, record_id: int, probe: ProbeResult) -> ComponentRecord:
    record = session.get(Component, record_id)
    if record is None:  # deregistered while being tested
        raise NoSuchEntity(f"component {record_id} was deregistered during registration")
    record.state = probe.state
    record.state_detail = probe.detail
    if probe.seen:
        record.last_seen = utcnow()
    return to_record(record)


def to_record(row: Component) -> ComponentRecord:
    """The wire form of a component row (times as UTC)."""
    return ComponentRecord(
        component_type=row.kind,  # type: ignore[arg-type]
        partition=row.partition,
        name=row.name,
        host=row.host,
        port=row.port,
        state=row.state,  # type: ignore[arg-type]
        last_seen=row.last_seen.replace(tzinfo=UTC) if row.last_seen else None,
    )
