"""The SOAP client stub, driven by a :class:`ServiceDecl`.

``await client.call(OPERATION, request)`` signs the request with the component key, POSTs it
to ``base_url + service.path`` within the operation's timeout and returns the decoded
response. Failures arrive as exceptions:

* a fault whose ``euca:error`` code names a known :class:`AwsError` class is raised as that
  class with the peer's message; any other fault as :class:`SoapFault`;
* the peer cannot be reached or drops the connection: :class:`ComponentUnreachable`, after
  ``retries`` further attempts (small exponential backoff) only when the operation is
  declared idempotent; a non-idempotent request is sent at most once;
* no answer within the operation's timeout: :class:`ComponentTimeout`, never retried;
* an answer that is not a well-formed response of the expected type:
  :class:`MalformedSoapMessage`.

Each attempt carries a fresh Created time and MessageID, so a retry is not mistaken for a
replay. A request without ``correlation_id`` gets a new UUID in place before it is sent, so
the caller can log the same id the server logs.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, overload

import aiohttp

from eucalyptus.common.bodies import read_limited
from eucalyptus.common.errors import (
    AwsError,
    InternalError,
    InvalidParameterValue,
    SoapFault,
    known_errors,
)
from eucalyptus.common.soap.codec import (
    DEFAULT_MAX_BYTES,
    Fault,
    build_envelope,
    decode_envelope,
    euca,
    is_fault,
    serialize,
)
from eucalyptus.common.soap.errors import (
    ComponentTimeout,
    ComponentUnreachable,
    MalformedSoapMessage,
)
from eucalyptus.common.soap.messages import EucalyptusMessage, from_xml, to_xml
from eucalyptus.common.soap.operations import AnyOperation, Operation, ReqT, RespT, ServiceDecl
from eucalyptus.common.soap.security import ComponentKey, sign_envelope

log = logging.getLogger(__name__)

MAX_RETRIES = 5


def error_from_fault(fault: Fault) -> Exception:
    """The exception a received fault stands for (see the module docstring)."""
    if fault.error_code:
        classes: dict[str, type[AwsError]] = known_errors()
        classes[InternalError.code] = InternalError  # not the AwsError base of the same code
        error_class = classes.get(fault.error_code)
        if error_class is not None:
            try:
                return error_class(fault.error_message or fault.string)
            except TypeError:  # a class whose constructor takes other arguments
                pass
        return SoapFault(fault.error_code, fault.error_message or fault.string)
    return SoapFault(fault.faultcode, fault.string)


class SoapClient:
    """Calls the operations of one service at one peer; share the aiohttp session."""

    def __init__(
        self,
        service: ServiceDecl,
        base_url: str,
        key: ComponentKey,
        session: aiohttp.ClientSession,
        *,
        max_response_bytes: int = DEFAULT_MAX_BYTES,
        retries: int = 2,
        backoff: float = 0.1,
    ) -> None:
        if not 0 <= retries <= MAX_RETRIES:
            raise ValueError(f"retries must be between 0 and {MAX_RETRIES}")
        self.service = service
        self.url = base_url.rstrip("/") + service.path
        self._key = key
        self._session = session
        self._max_response_bytes = max_response_bytes
        self._retries = retries
        self._backoff = backoff

    @overload
    async def call(self, op: Operation[ReqT, RespT], request: ReqT) -> RespT: ...

    @overload
    async def call(self, op: str, request: EucalyptusMessage) -> EucalyptusMessage: ...

    async def call(self, op: AnyOperation | str, request: EucalyptusMessage) -> Any:
        """Send ``request`` as operation ``op`` and return the response (module docstring).

        Raises ``TypeError``/``ValueError`` before sending anything when ``op`` is not an
        operation of this service or ``request`` does not match its declaration.
        """
        operation = self.service.operation(op if isinstance(op, str) else op.name)
        if not isinstance(op, str) and op != operation:
            raise ValueError(f"{op.name} is not the operation {self.service.name} declares")
        if not isinstance(request, operation.request_type):
            raise TypeError(f"{operation.name} takes {operation.request_type.__name__}")
        if request.correlation_id is None:
            request.correlation_id = str(uuid.uuid4())
        action = self.service.soap_action(operation)
        attempts = 1 + (self._retries if operation.idempotent else 0)
        for attempt in range(attempts):
            payload = self._signed_payload(operation, request, action)
            try:
                status, data = await self._post(operation, payload, action)
                break
            except TimeoutError:
                raise ComponentTimeout(
                    f"{action} at {self.url}: no answer within {operation.timeout:g} s"
                ) from None
            except aiohttp.ClientConnectionError as exc:
                log.warning(
                    "%s to %s failed (attempt %d of %d, correlation id %s): %s",
                    action,
                    self.url,
                    attempt + 1,
                    attempts,
                    request.correlation_id,
                    exc,
                )
                if attempt + 1 == attempts:
                    raise ComponentUnreachable(f"{action} at {self.url}: {exc}") from exc
                await asyncio.sleep(self._backoff * 2**attempt)
            except aiohttp.ClientError as exc:
                raise ComponentUnreachable(f"{action} at {self.url}: {exc}") from exc
        return self._decode(operation, status, data, request.correlation_id)

    def _signed_payload(
        self, operation: AnyOperation, request: EucalyptusMessage, action: str
    ) -> bytes:
        envelope = build_envelope([], to_xml(request, operation.request_element))
        sign_envelope(envelope, self._key, to=self.service.path, action=action)
        return serialize(envelope)

    async def _post(
        self, operation: AnyOperation, payload: bytes, action: str
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
        timeout = aiohttp.ClientTimeout(total=operation.timeout)
        async with self._session.post(
            self.url, data=payload, headers=headers, timeout=timeout
        ) as response:
            limit = self._max_response_bytes
            data = await read_limited(
                response.content,
                response.content_length,
                limit,
                lambda: MalformedSoapMessage(f"{action} response exceeds {limit} bytes"),
            )
            return response.status, data

    def _decode(
        self, operation: AnyOperation, status: int, data: bytes, correlation_id: str | None
    ) -> Any:
        try:
            _header, child = decode_envelope(data, self._max_response_bytes)
        except AwsError as exc:
            if status != 200:
                raise SoapFault(f"HTTP {status}", "the answer is not a SOAP envelope") from None
            raise MalformedSoapMessage(f"bad answer from {self.url}: {exc.message}") from None
        if is_fault(child):
            fault = Fault.from_element(child)
            log.debug(
                "%s fault %s (correlation id %s)", operation.name, fault.faultcode, correlation_id
            )
            raise error_from_fault(fault)
        if status != 200:
            raise SoapFault(f"HTTP {status}", "a non-fault answer with an error status")
        if child.tag != euca(operation.response_element):
            raise MalformedSoapMessage(f"expected {operation.response_element}, got {child.tag}")
        try:
            return from_xml(operation.response_type, child)
        except InvalidParameterValue as exc:
            raise MalformedSoapMessage(
                f"bad {operation.response_element} from {self.url}: {exc.message}"
            ) from None
