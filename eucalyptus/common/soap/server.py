"""The SOAP server dispatch, driven by a :class:`ServiceDecl`.

:func:`make_soap_handler` turns a service declaration and one handler per operation into an
aiohttp request handler. It raises :class:`ConfigError` at construction when an operation
has no handler or a handler names an undeclared operation, so a daemon with an incomplete
table refuses to start.

Each request goes through, in order: the size bound (``Content-Length`` above
``max_body_bytes`` is refused before reading; a body without one is read up to the bound),
safe parsing (:mod:`.codec`), operation resolution (the Body element names the operation; a
SOAPAction header, when present and not empty, must be ``<service>#<that operation>``),
the security check (:mod:`.security`), decoding into the request type, the handler, and the
encoding of its result, which must be an instance of the response type.

Faults: a deliberate :class:`AwsError` becomes a fault with a typed ``euca:error`` detail
(``soapenv:Client`` below status 500, ``soapenv:Server`` from 500), security refusals are
logged as warnings with the peer address; any other exception is logged with its traceback
and correlation id and becomes a ``soapenv:Server`` fault ``InternalError`` that carries
only the correlation id. Faults are sent with HTTP 500 as SOAP 1.1 requires, except an
oversized request, which gets 413 and a closed connection.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from cryptography import x509
from lxml import etree

from eucalyptus.common.bodies import read_limited
from eucalyptus.common.errors import (
    AwsError,
    ConfigError,
    InvalidAction,
    RequestEntityTooLarge,
)
from eucalyptus.common.soap.codec import (
    DEFAULT_MAX_BYTES,
    EUCA_NS,
    Fault,
    decode_envelope,
    encode_envelope,
    encode_fault,
)
from eucalyptus.common.soap.errors import SoapSecurityError
from eucalyptus.common.soap.messages import EucalyptusMessage, from_xml, to_xml
from eucalyptus.common.soap.operations import AnyOperation, ServiceDecl
from eucalyptus.common.soap.security import (
    DEFAULT_MAX_SKEW,
    DEFAULT_REPLAY_CAPACITY,
    MessageVerifier,
    TrustedPeers,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SoapRequestContext:
    """What a handler knows about the request besides its message."""

    operation: AnyOperation
    peer_subject: str
    peer_certificate: x509.Certificate
    remote: str | None
    correlation_id: str
    message_id: str


SoapHandler = Callable[[Any, SoapRequestContext], Awaitable[Any]]
AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_soap_handler(
    service: ServiceDecl,
    handlers: Mapping[str, SoapHandler],
    *,
    trusted: TrustedPeers,
    max_body_bytes: int = DEFAULT_MAX_BYTES,
    max_skew: float = DEFAULT_MAX_SKEW,
    replay_capacity: int = DEFAULT_REPLAY_CAPACITY,
) -> AiohttpHandler:
    """An aiohttp handler serving ``service``; each handler gets (request message, context).

    The returned handler owns its own replay cache. Raises :class:`ConfigError` when the
    handlers do not match the declared operations one to one.
    """
    declared = service.operation_names
    missing = sorted(declared - handlers.keys())
    undeclared = sorted(handlers.keys() - declared)
    if missing or undeclared:
        raise ConfigError(
            f"service {service.name}: no handler for {missing or 'none'}; "
            f"handlers for undeclared operations {undeclared or 'none'}"
        )
    not_callable = sorted(name for name, handler in handlers.items() if not callable(handler))
    if not_callable:
        raise ConfigError(f"service {service.name}: handlers {not_callable} are not callable")
    if max_body_bytes <= 0:
        raise ConfigError("max_body_bytes must be positive")
    verifier = MessageVerifier(
        trusted, service_path=service.path, max_skew=max_skew, replay_capacity=replay_capacity
    )
    return _Dispatcher(service, dict(handlers), verifier, max_body_bytes).handle


def add_soap_service(
    app: web.Application,
    service: ServiceDecl,
    handlers: Mapping[str, SoapHandler],
    trusted: TrustedPeers,
    **options: Any,
) -> None:
    """Route ``POST service.path`` of ``app`` to :func:`make_soap_handler` (same errors)."""
    app.router.add_post(
        service.path, make_soap_handler(service, handlers, trusted=trusted, **options)
    )


def _fault_response(fault: Fault, status: int = 500) -> web.Response:
    response = web.Response(
        body=encode_fault(fault), status=status, content_type="text/xml", charset="utf-8"
    )
    if status == 413:
        response.force_close()
    return response


class _Dispatcher:
    def __init__(
        self,
        service: ServiceDecl,
        handlers: dict[str, SoapHandler],
        verifier: MessageVerifier,
        max_body_bytes: int,
    ) -> None:
        self._service = service
        self._handlers = handlers
        self._verifier = verifier
        self._max_body_bytes = max_body_bytes

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            data = await self._read_body(request)
            header, child = decode_envelope(data, self._max_body_bytes)
            operation = self._resolve(child, request.headers.get("SOAPAction"))
            action = self._service.soap_action(operation)
            sender = self._verifier.verify(header, child, action)
            message = from_xml(operation.request_type, child)
        except SoapSecurityError as exc:
            log.warning(
                "refused %s request from %s: %s: %s",
                self._service.name,
                request.remote,
                exc.code,
                exc.message,
            )
            return _fault_response(Fault.from_error(exc))
        except AwsError as exc:
            log.info(
                "bad %s request from %s: %s: %s",
                self._service.name,
                request.remote,
                exc.code,
                exc.message,
            )
            status = 413 if isinstance(exc, RequestEntityTooLarge) else 500
            return _fault_response(Fault.from_error(exc), status)
        correlation_id = message.correlation_id or str(uuid.uuid4())
        message.correlation_id = correlation_id
        context = SoapRequestContext(
            operation=operation,
            peer_subject=sender.subject,
            peer_certificate=sender.certificate,
            remote=request.remote,
            correlation_id=correlation_id,
            message_id=sender.message_id,
        )
        return await self._invoke(message, context)

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self._max_body_bytes
        return await read_limited(
            request.content,
            request.content_length,
            limit,
            lambda: RequestEntityTooLarge(f"request body exceeds {limit} bytes"),
        )

    def _resolve(self, child: etree._Element, soap_action: str | None) -> AnyOperation:
        namespace, _, local = child.tag[1:].partition("}") if child.tag[:1] == "{" else ("", "", "")
        if namespace != EUCA_NS:
            raise InvalidAction(f"the Body element {child.tag} is not in {EUCA_NS}")
        operation = self._service.operation(local)
        if local != operation.request_element:
            raise InvalidAction(f"{local} is not the request element of an operation")
        declared = (soap_action or "").strip().strip('"').strip()
        if declared and declared != self._service.soap_action(operation):
            raise InvalidAction(f"SOAPAction {declared!r} does not match the Body element {local}")
        return operation

    async def _invoke(
        self, message: EucalyptusMessage, context: SoapRequestContext
    ) -> web.StreamResponse:
        operation = context.operation
        try:
            result = await self._handlers[operation.name](message, context)
            if not isinstance(result, operation.response_type):
                raise TypeError(
                    f"handler returned {type(result).__name__}, "
                    f"not {operation.response_type.__name__}"
                )
            if result.correlation_id is None:
                result.correlation_id = context.correlation_id
            body = encode_envelope([], to_xml(result, operation.response_element))
        except AwsError as exc:
            log.info(
                "%s from %s (correlation id %s) failed: %s: %s",
                operation.name,
                context.remote,
                context.correlation_id,
                exc.code,
                exc.message,
            )
            return _fault_response(Fault.from_error(exc))
        except Exception:
            log.exception(
                "%s from %s (correlation id %s) failed unexpectedly",
                operation.name,
                context.remote,
                context.correlation_id,
            )
            text = f"internal error (correlation id {context.correlation_id})"
            return _fault_response(Fault("Server", text, "InternalError", 500, text))
        return web.Response(body=body, content_type="text/xml", charset="utf-8")
