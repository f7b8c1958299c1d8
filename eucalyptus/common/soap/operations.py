"""The operation table: every SOAP operation declared once, as data.

A :class:`ServiceDecl` names a service (``EucalyptusNC``), the HTTP path it is served at and
its operations. Each :class:`Operation` gives the request and response message types, the
timeout a caller allows it and whether it may be retried after a connection failure. The
same declaration builds the client stub (:class:`~.client.SoapClient`) and the server
dispatch (:func:`~.server.make_soap_handler`), which refuses to start when the two disagree.

Wire conventions: the request element is named after the operation (``ncRunInstance``), the
response element is ``<operation>Response``, and the SOAPAction is ``<service>#<operation>``.
Declarations are checked when they are made: a bad one raises at import time.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from eucalyptus.common.errors import InvalidAction
from eucalyptus.common.soap.messages import EucalyptusMessage, check_message_type

ReqT = TypeVar("ReqT", bound=EucalyptusMessage)
RespT = TypeVar("RespT", bound=EucalyptusMessage)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Timeouts:
    """Timeout classes, in seconds, to pick from when declaring an operation."""

    URGENT = 10.0  #: answers from memory (describe, heartbeat)
    FAST = 30.0  #: small changes of state
    NORMAL = 120.0  #: work that touches disks or hypervisors
    SLOW = 900.0  #: bulk data (image download, snapshot)


@dataclass(frozen=True)
class Operation(Generic[ReqT, RespT]):
    """One SOAP operation; raises ``ValueError``/``TypeError`` when declared wrongly."""

    name: str
    request_type: type[ReqT]
    response_type: type[RespT]
    timeout: float
    idempotent: bool

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"operation name {self.name!r} is not an XML-safe identifier")
        if not self.timeout > 0:
            raise ValueError(f"operation {self.name}: timeout must be positive")
        for message_type in (self.request_type, self.response_type):
            if not (isinstance(message_type, type) and issubclass(message_type, EucalyptusMessage)):
                raise TypeError(f"operation {self.name}: {message_type!r} is not a message type")
            check_message_type(message_type)

    @property
    def request_element(self) -> str:
        """Local name of the request's Body element."""
        return self.name

    @property
    def response_element(self) -> str:
        """Local name of the response's Body element."""
        return f"{self.name}Response"


AnyOperation = Operation[Any, Any]


@dataclass(frozen=True)
class ServiceDecl:
    """A SOAP service: its name, HTTP path and operations (names unique)."""

    name: str
    path: str
    operations: tuple[AnyOperation, ...]
    _by_name: Mapping[str, AnyOperation] = field(init=False, repr=False, compare=False)

    def __init__(self, name: str, path: str, operations: Iterable[AnyOperation]) -> None:
        ops = tuple(operations)
        if not _NAME.fullmatch(name):
            raise ValueError(f"service name {name!r} is not an identifier")
        if not path.startswith("/"):
            raise ValueError(f"service path {path!r} must start with '/'")
        by_name: dict[str, AnyOperation] = {}
        for op in ops:
            if op.name in by_name:
                raise ValueError(f"service {name}: operation {op.name} declared twice")
            by_name[op.name] = op
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "operations", ops)
        object.__setattr__(self, "_by_name", types.MappingProxyType(by_name))

    @property
    def operation_names(self) -> frozenset[str]:
        """The names of all declared operations."""
        return frozenset(self._by_name)

    def operation(self, name: str) -> AnyOperation:
        """The operation called ``name``; raises :class:`InvalidAction` when undeclared."""
        try:
            return self._by_name[name]
        except KeyError:
            raise InvalidAction(f"{self.name} has no operation {name!r}") from None

    def soap_action(self, op: AnyOperation | str) -> str:
        """The SOAPAction value ``<service>#<operation>`` (without quotes)."""
        name = op if isinstance(op, str) else op.name
        return f"{self.name}#{self.operation(name).name}"
