"""Signed SOAP calls over real HTTP on 127.0.0.1: what is accepted, what is refused and how."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from eucalyptus.common.errors import (
    ConfigError,
    EntityAlreadyExists,
    InternalError,
    InvalidAction,
    InvalidParameterValue,
    RequestEntityTooLarge,
    SoapFault,
)
from eucalyptus.common.soap.client import SoapClient, error_from_fault
from eucalyptus.common.soap.codec import (
    Fault,
    build_envelope,
    decode_envelope,
    encode_envelope,
    encode_fault,
    is_fault,
    serialize,
)
from eucalyptus.common.soap.configuration_msgs import (
    CONFIGURATION_SERVICE,
    DESCRIBE_COMPONENTS,
    DESCRIBE_SERVICE,
    REGISTER_COMPONENT,
    ComponentRecord,
    DeregisterComponentResponseType,
    DescribeComponentsResponseType,
    DescribeComponentsType,
    DescribeServiceResponseType,
    DescribeServiceType,
    RegisterComponentResponseType,
    RegisterComponentType,
)
from eucalyptus.common.soap.errors import (
    ComponentTimeout,
    ComponentUnreachable,
    InvalidMessageSignature,
    MessageExpired,
    MessageTargetMismatch,
    MissingSecurityHeader,
    ReplayCacheFull,
    ReplayedMessage,
    UntrustedPeer,
)
from eucalyptus.common.soap.messages import to_xml
from eucalyptus.common.soap.operations import Operation, ServiceDecl
from eucalyptus.common.soap.security import ComponentKey, ReplayCache, TrustedPeers, sign_envelope
from eucalyptus.common.soap.server import SoapRequestContext, add_soap_service, make_soap_handler

pytestmark = pytest.mark.timeout(60)


# --- keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    clc: ComponentKey
    rogue: ComponentKey
    clc_cert: Path
    clc_key: Path
    rogue_cert: Path
    rogue_key: Path


def _write_pair(directory: Path, name: str) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}-cert.pem", directory / f"{name}-pk.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("keys")
    clc_cert, clc_key = _write_pair(directory, "cloud")
    rogue_cert, rogue_key = _write_pair(directory, "rogue")
    return Pki(
        ComponentKey.load(clc_cert, clc_key),
        ComponentKey.load(rogue_cert, rogue_key),
        clc_cert,
        clc_key,
        rogue_cert,
        rogue_key,
    )


# --- a Configuration service to call ------------------------------------------------------


class Registry:
    """Handlers that record what they were given; some partitions make them fail."""

    def __init__(self) -> None:
        self.contexts: list[SoapRequestContext] = []

    async def register(
        self, request: RegisterComponentType, context: SoapRequestContext
    ) -> RegisterComponentResponseType:
        self.contexts.append(context)
        if request.partition == "bad":
            raise InvalidParameterValue("partition 'bad' is not known")
        if request.partition == "taken":
            raise EntityAlreadyExists("node nc-1 is already registered")
        if request.partition == "boom":
            raise RuntimeError("secret detail from /etc/shadow")
        record = ComponentRecord(
            component_type=request.component_type,
            partition=request.partition,
            name=request.name,
            host=request.host,
            port=request.port,
            state="NOTREADY",
        )
        return RegisterComponentResponseType(component=record)

    async def deregister(self, request: Any, context: SoapRequestContext) -> Any:
        return DeregisterComponentResponseType()

    async def describe(
        self, request: DescribeComponentsType, context: SoapRequestContext
    ) -> DescribeComponentsResponseType:
        self.contexts.append(context)
        return DescribeComponentsResponseType()

    async def describe_service(
        self, request: DescribeServiceType, context: SoapRequestContext
    ) -> DescribeServiceResponseType:
        return DescribeServiceResponseType(
            component_type="eucalyptus",
            name="clc",
            state="ENABLED",
            version="test",
            local_time=datetime.now(UTC),
        )

    def table(self) -> dict[str, Callable[[Any, SoapRequestContext], Awaitable[Any]]]:
        return {
            "RegisterComponent": self.register,
            "DeregisterComponent": self.deregister,
            "DescribeComponents": self.describe,
            "DescribeService": self.describe_service,
        }


def _register(partition: str = "cluster01", name: str = "nc-1") -> RegisterComponentType:
    return RegisterComponentType(
        component_type="node", partition=partition, name=name, host="10.0.0.5", port=8775
    )


@asynccontextmanager
async def serving(
    registry: Registry, pki: Pki, **options: Any
) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    app = web.Application()
    trusted = TrustedPeers.load([pki.clc_cert])
    add_soap_service(app, CONFIGURATION_SERVICE, registry.table(), trusted, **options)
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        yield str(server.make_url("/")), session


def _signed(
    key: ComponentKey,
    request: Any,
    operation: Operation[Any, Any] = REGISTER_COMPONENT,
    *,
    now: datetime | None = None,
    action: str | None = None,
    to: str = CONFIGURATION_SERVICE.path,
) -> bytes:
    envelope = build_envelope([], to_xml(request, operation.request_element))
    action = action or CONFIGURATION_SERVICE.soap_action(operation)
    sign_envelope(envelope, key, to=to, action=action, now=now)
    return serialize(envelope)


@dataclass
class RawAnswer:
    status: int
    text: str
    fault: Fault | None


async def _post(
    session: aiohttp.ClientSession, base: str, data: Any, soap_action: str | None = None
) -> RawAnswer:
    headers = {"Content-Type": "text/xml"}
    if soap_action is not None:
        headers["SOAPAction"] = soap_action
    url = base.rstrip("/") + CONFIGURATION_SERVICE.path
    async with session.post(url, data=data, headers=headers) as response:
        body = await response.read()
    _header, child = decode_envelope(body, 1 << 20)
    return RawAnswer(
        response.status, body.decode(), Fault.from_element(child) if is_fault(child) else None
    )


# --- the happy path -----------------------------------------------------------------------


def test_signed_call_works_end_to_end(pki: Pki) -> None:
    registry = Registry()

    async def scenario() -> None:
        async with serving(registry, pki) as (base, session):
            client = SoapClient(CONFIGURATION_SERVICE, base, pki.clc, session)
            request = _register()
            response = await client.call(REGISTER_COMPONENT, request)
            assert response.component.name == "nc-1" and response.component.port == 8775
            assert response.return_ is True
            assert request.correlation_id  # set by the client before sending
            assert response.correlation_id == request.correlation_id
            context = registry.contexts[0]
            assert context.correlation_id == request.correlation_id
            assert context.peer_subject == "CN=cloud"
            assert context.remote == "127.0.0.1"
            listing = await client.call("DescribeComponents", DescribeComponentsType())
            assert isinstance(listing, DescribeComponentsResponseType)
            probe = await client.call(DESCRIBE_SERVICE, DescribeServiceType(correlation_id="c-7"))
            assert probe.state == "ENABLED" and probe.correlation_id == "c-7"

    asyncio.run(scenario())


# --- security refusals --------------------------------------------------------------------


@pytest.mark.parametrize("field", ["MessageID", "Created", "To"])
def test_a_security_field_altered_after_signing_is_refused(pki: Pki, field: str) -> None:
    registry = Registry()

    async def scenario() -> None:
        async with serving(registry, pki) as (base, session):
            # signed for another service at another path: only To differs from a good one
            data = _signed(pki.clc, _register(), to="/services/Other")
            first = await _post(session, base, data)
            assert first.fault is not None and first.fault.error_code == "MessageTargetMismatch"
            old = re.search(rf"<euca:{field}>([^<]*)<".encode(), data)
            assert old is not None
            replacement = {
                "MessageID": b"urn:uuid:fresh-id-to-dodge-the-replay-cache",
                "Created": datetime.now(UTC).isoformat().replace("+00:00", "Z").encode(),
                "To": CONFIGURATION_SERVICE.path.encode(),
            }[field]
            altered = data.replace(old.group(1), replacement)
            if field != "To":  # make the message otherwise deliverable here
                altered = altered.replace(b"/services/Other", CONFIGURATION_SERVICE.path.encode())
            answer = await _post(session, base, altered)
            assert answer.fault is not None
            assert answer.fault.error_code == "InvalidMessageSignature"
            assert registry.contexts == []

    asyncio.run(scenario())


def test_untrusted_certificate_is_refused_and_logged(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry()

    async def scenario() -> None:
        async with serving(registry, pki) as (base, session):
            client = SoapClient(CONFIGURATION_SERVICE, base, pki.rogue, session)
            with pytest.raises(UntrustedPeer):
                await client.call(REGISTER_COMPONENT, _register())

    with caplog.at_level(logging.WARNING, logger="eucalyptus.common.soap.server"):
        asyncio.run(scenario())
    assert registry.contexts == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("127.0.0.1" in w and "UntrustedPeer" in w for w in warnings), warnings


def test_tampered_body_is_refused_and_the_original_accepted(pki: Pki) -> None:
    registry = Registry()

    async def scenario() -> None:
        async with serving(registry, pki) as (base, session):
            original = _signed(pki.clc, _register())
            tampered = original.replace(b">8775<", b">8774<")
            assert tampered != original
            answer = await _post(session, base, tampered)
            assert answer.fault is not None
            assert answer.fault.error_code == "InvalidMessageSignature"
            assert isinstance(error_from_fault(answer.fault), InvalidMessageSignature)
            assert registry.contexts == []
            accepted = await _post(session, base, original)  # the refusal remembered nothing
            assert accepted.status == 200 and accepted.fault is None

    asyncio.run(scenario())


@pytest.mark.parametrize("offset", [-60.0, 60.0], ids=["stale", "future"])
def test_timestamps_outside_the_skew_are_refused(pki: Pki, offset: float) -> None:
    async def scenario() -> None:
        async with serving(Registry(), pki) as (base, session):
            now = datetime.now(UTC) + timedelta(seconds=offset)
            answer = await _post(session, base, _signed(pki.clc, _register(), now=now))
            assert answer.fault is not None and answer.fault.error_code == "MessageExpired"
            assert isinstance(error_from_fault(answer.fault), MessageExpired)
            near = datetime.now(UTC) + timedelta(seconds=offset / 6)
            assert (
                await _post(session, base, _signed(pki.clc, _register(), now=near))
            ).fault is None

    asyncio.run(scenario())


def test_the_allowed_skew_is_configurable(pki: Pki) -> None:
    async def scenario() -> None:
        async with serving(Registry(), pki, max_skew=5.0) as (base, session):
            ten_ago = datetime.now(UTC) - timedelta(seconds=10)
            answer = await _post(session, base, _signed(pki.clc, _register(), now=ten_ago))
            assert answer.fault is not None and answer.fault.error_code == "MessageExpired"

    asyncio.run(scenario())


def test_replayed_message_is_refused(pki: Pki) -> None:
    registry = Registry()

    async def scenario() -> None:
        async with serving(registry, pki) as (base, session):
            data = _signed(pki.clc, _register())
            first = await _post(session, base, data)
            second = await _post(session, base, data)
            assert first.status == 200 and first.fault is None
            assert second.fault is not None and second.fault.error_code == "ReplayedMessage"
            assert isinstance(error_from_fault(second.fault), ReplayedMessage)
            assert len(registry.contexts) == 1

    asyncio.run(scenario())


def test_unsigned_request_is_refused(pki: Pki) -> None:
    async def scenario() -> None:
        async with serving(Registry(), pki) as (base, session):
            unsigned = encode_envelope([], to_xml(_register(), "RegisterComponent"))
            answer = await _post(session, base, unsigned)
            assert answer.fault is not None and answer.fault.code == "Client"
            assert isinstance(error_from_fault(answer.fault), MissingSecurityHeader)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "signed_for",
    [{"action": "Configuration#DeregisterComponent"}, {"to": "/services/Other"}],
    ids=["other-action", "other-path"],
)
def test_a_signature_for_another_target_is_refused(pki: Pki, signed_for: dict[str, str]) -> None:
    async def scenario() -> None:
        async with serving(Registry(), pki) as (base, session):
            data = _signed(
                pki.clc,
                _register(),
                action=signed_for.get("action"),
                to=signed_for.get("to", CONFIGURATION_SERVICE.path),
            )
            answer = await _post(session, base, data)
            assert answer.fault is not None
            assert isinstance(error_from_fault(answer.fault), MessageTargetMismatch)

    asyncio.run(scenario())


def test_soap_action_must_agree_with_the_body(pki: Pki) -> None:
    async def scenario() -> None:
        async with serving(Registry(), pki) as (base, session):
            data = _signed(pki.clc, _register())
            wrong = await _post(session, base, data, '"Configuration#DescribeComponents"')
            assert wrong.fault is not None
            assert isinstance(error_from_fault(wrong.fault), InvalidAction)
            right = await _post(session, base, data, '"Configuration#RegisterComponent"')
            assert right.status == 200 and right.fault is None

    asyncio.run(scenario())


def test_replay_cache_is_bounded_and_forgets_after_its_window() -> None:
    now = [0.0]
    cache = ReplayCache(window=40.0, capacity=2, clock=lambda: now[0])
    cache.add("a")
    cache.add("b")
    with pytest.raises(ReplayedMessage):
        cache.add("a")
    with pytest.raises(ReplayCacheFull):
        cache.add("c")
    now[0] = 40.0
    cache.add("a")  # expired entries were dropped
    assert len(cache) == 1


def test_keys_that_do_not_match_or_trust_nobody_are_configuration_errors(pki: Pki) -> None:
    with pytest.raises(ConfigError, match="does not match"):
        ComponentKey.load(pki.clc_cert, pki.rogue_key)
    with pytest.raises(ConfigError, match="no trusted"):
        TrustedPeers.load([])
    with pytest.raises(ConfigError, match="cannot read"):
        TrustedPeers.load([pki.clc_cert.parent / "absent.pem"])


# --- errors across the wire ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("partition", "error", "message"),
    [
        ("bad", InvalidParameterValue, "partition 'bad' is not known"),
        ("taken", EntityAlreadyExists, "node nc-1 is already registered"),
    ],
)
def test_a_handler_error_arrives_as_the_same_class_and_message(
    pki: Pki, partition: str, error: type[Exception], message: str
) -> None:
    async def scenario() -> None:
        async with serving(Registry(), pki) as (base, session):
            client = SoapClient(CONFIGURATION_SERVICE, base, pki.clc, session)
            with pytest.raises(error) as caught:
                await client.call(REGISTER_COMPONENT, _register(partition))
            assert type(caught.value) is error
            assert str(caught.value) == message

    asyncio.run(scenario())


def test_an_unexpected_exception_is_a_server_fault_without_its_traceback(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with serving(Registry(), pki) as (base, session):
            client = SoapClient(CONFIGURATION_SERVICE, base, pki.clc, session)
            request = _register("boom")
            with pytest.raises(InternalError) as caught:
                await client.call(REGISTER_COMPONENT, request)
            assert "secret" not in str(caught.value)
            assert str(request.correlation_id) in str(caught.value)
            raw = await _post(session, base, _signed(pki.clc, _register("boom")))
            assert raw.status == 500 and raw.fault is not None
            assert raw.fault.faultcode == "soapenv:Server"
            assert raw.fault.error_code == "InternalError"
            for leak in ("Traceback", "secret", "RuntimeError", "shadow"):
                assert leak not in raw.text

    with caplog.at_level(logging.ERROR, logger="eucalyptus.common.soap.server"):
        asyncio.run(scenario())
    assert any(r.exc_info and "correlation id" in r.getMessage() for r in caplog.records)


def test_a_fault_with_an_unknown_code_becomes_a_soap_fault(pki: Pki) -> None:
    faults = [
        Fault("Client", "odd", "NoSuchThingAnywhere", 400, "odd"),
        Fault("Server", "plain"),
    ]

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=encode_fault(faults.pop(0)), status=500, content_type="text/xml")

    async def scenario() -> None:
        app = web.Application()
        app.router.add_post(CONFIGURATION_SERVICE.path, answer)
        async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as s:
            client = SoapClient(CONFIGURATION_SERVICE, str(server.make_url("/")), pki.clc, s)
            with pytest.raises(SoapFault) as first:
                await client.call(DESCRIBE_COMPONENTS, DescribeComponentsType())
            assert (first.value.code, first.value.message) == ("NoSuchThingAnywhere", "odd")
            with pytest.raises(SoapFault) as second:
                await client.call(DESCRIBE_COMPONENTS, DescribeComponentsType())
            assert second.value.code == "soapenv:Server"

    asyncio.run(scenario())


# --- construction, size, retries, timeouts ------------------------------------------------


def test_a_server_with_a_missing_or_undeclared_handler_refuses_to_construct(pki: Pki) -> None:
    trusted = TrustedPeers.load([pki.clc_cert])
    table = Registry().table()
    del table["DescribeService"]
    with pytest.raises(ConfigError, match="DescribeService"):
        make_soap_handler(CONFIGURATION_SERVICE, table, trusted=trusted)
    table = Registry().table()
    table["ncRunInstance"] = table["DescribeService"]
    with pytest.raises(ConfigError, match="ncRunInstance"):
        make_soap_handler(CONFIGURATION_SERVICE, table, trusted=trusted)
    assert callable(make_soap_handler(CONFIGURATION_SERVICE, Registry().table(), trusted=trusted))


def test_oversized_requests_are_refused(pki: Pki) -> None:
    registry = Registry()

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]

    async def scenario() -> None:
        async with serving(registry, pki, max_body_bytes=4096) as (base, session):
            client = SoapClient(CONFIGURATION_SERVICE, base, pki.clc, session)
            with pytest.raises(RequestEntityTooLarge):
                await client.call(REGISTER_COMPONENT, _register(name="n" * 5000))
            big = _signed(pki.clc, _register(name="n" * 5000))
            chunked = await _post(session, base, chunks(big))  # no Content-Length
            assert chunked.status == 413 and chunked.fault is not None
            assert chunked.fault.error_code == "RequestEntityTooLarge"
            assert registry.contexts == []
            assert (await client.call(REGISTER_COMPONENT, _register())).component.name == "nc-1"

    asyncio.run(scenario())


def test_a_declared_oversized_body_is_refused_without_reading_it(pki: Pki) -> None:
    async def scenario() -> None:
        async with serving(Registry(), pki, max_body_bytes=4096) as (base, _session):
            port = int(base.rstrip("/").rsplit(":", 1)[1])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"POST {CONFIGURATION_SERVICE.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: text/xml\r\nContent-Length: 1000000000\r\n\r\n<x>".encode()
            )
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), timeout=5)
            writer.close()
            assert status_line.split()[1] == b"413"

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("operation", "request_factory", "expected_attempts"),
    [
        (REGISTER_COMPONENT, _register, 1),
        (DESCRIBE_COMPONENTS, DescribeComponentsType, 3),
    ],
    ids=["non-idempotent", "idempotent"],
)
def test_only_idempotent_operations_are_retried_after_a_dropped_connection(
    pki: Pki,
    operation: Operation[Any, Any],
    request_factory: Callable[[], Any],
    expected_attempts: int,
) -> None:
    connections = 0

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read(1)  # the request has started to arrive
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(drop, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with aiohttp.ClientSession() as session:
                client = SoapClient(
                    CONFIGURATION_SERVICE,
                    f"http://127.0.0.1:{port}",
                    pki.clc,
                    session,
                    retries=2,
                    backoff=0.01,
                )
                with pytest.raises(ComponentUnreachable):
                    await client.call(operation, request_factory())
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
    assert connections == expected_attempts


def test_the_operation_timeout_applies_and_is_not_retried(pki: Pki) -> None:
    quick = Operation(
        "DescribeService",
        DescribeServiceType,
        DescribeServiceResponseType,
        timeout=0.3,
        idempotent=True,
    )
    service = ServiceDecl("Slow", "/services/Slow", [quick])
    calls = 0

    async def slow(request: DescribeServiceType, context: SoapRequestContext) -> Any:
        nonlocal calls
        calls += 1
        await asyncio.sleep(5)

    async def scenario() -> None:
        app = web.Application()
        add_soap_service(app, service, {"DescribeService": slow}, TrustedPeers.load([pki.clc_cert]))
        async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as s:
            client = SoapClient(service, str(server.make_url("/")), pki.clc, s)
            started = asyncio.get_running_loop().time()
            with pytest.raises(ComponentTimeout):
                await client.call(quick, DescribeServiceType())
            assert asyncio.get_running_loop().time() - started < 3

    asyncio.run(scenario())
    assert calls == 1
