"""Messages of the CLC's component registration service, and the per-component probe.

``Configuration`` (served by the CLC at ``/services/Configuration``) records the walrus,
cluster, storage and node components of the cloud: ``RegisterComponent``,
``DeregisterComponent``, ``DescribeComponents``.

``DescribeService`` is served by every component on its own service (add
:data:`DESCRIBE_SERVICE` to the component's :class:`ServiceDecl`); the CLC calls it to test
a registered component, so that a component whose daemon does not exist yet can still be
recorded and tested with the CLC alone.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import Literal

from eucalyptus.common.soap.messages import EucalyptusMessage, message
from eucalyptus.common.soap.operations import Operation, ServiceDecl, Timeouts

ComponentType = Literal["walrus", "cluster", "storage", "node"]
#: every component type a DescribeService answer may name (the CLC is "eucalyptus")
ServiceType = Literal["eucalyptus", "walrus", "cluster", "storage", "node"]
#: the component life cycle of Eucalyptus 3.x
ComponentState = Literal[
    "PRIMORDIAL", "INITIALIZED", "LOADED", "NOTREADY", "DISABLED", "ENABLED", "STOPPED", "BROKEN"
]


@message
class ComponentRecord:
    """A registered component as the CLC records it."""

    component_type: ComponentType = field(metadata={"wire": "type"})
    partition: str
    name: str
    host: str
    port: int
    state: ComponentState
    last_seen: datetime | None = None


@message
class RegisterComponentType(EucalyptusMessage):
    """Register a component at host:port in a partition (walrus uses its own name)."""

    component_type: ComponentType = field(metadata={"wire": "type"})
    partition: str
    name: str
    host: str
    port: int


@message
class RegisterComponentResponseType(EucalyptusMessage):
    """The record as stored."""

    component: ComponentRecord


@message
class DeregisterComponentType(EucalyptusMessage):
    """Forget a registered component."""

    component_type: ComponentType = field(metadata={"wire": "type"})
    partition: str
    name: str


@message
class DeregisterComponentResponseType(EucalyptusMessage):
    """``return`` says whether the component was removed."""


@message
class DescribeComponentsType(EucalyptusMessage):
    """List registered components, all of them or those of one type."""

    component_type: ComponentType | None = field(default=None, metadata={"wire": "type"})


@message
class DescribeComponentsResponseType(EucalyptusMessage):
    """The matching records."""

    components: list[ComponentRecord] = field(default_factory=list)


@message
class DescribeServiceType(EucalyptusMessage):
    """Ask a component who and how it is."""


@message
class DescribeServiceResponseType(EucalyptusMessage):
    """A component's own view of itself; ``local_time`` lets the caller spot clock skew."""

    component_type: ServiceType = field(metadata={"wire": "type"})
    name: str
    partition: str | None = None
    state: ComponentState
    version: str
    local_time: datetime
    details: str | None = None


DESCRIBE_SERVICE = Operation(
    "DescribeService",
    DescribeServiceType,
    DescribeServiceResponseType,
    timeout=Timeouts.URGENT,
    idempotent=True,
)

REGISTER_COMPONENT = Operation(
    "RegisterComponent",
    RegisterComponentType,
    RegisterComponentResponseType,
    timeout=Timeouts.FAST,
    idempotent=False,
)
DEREGISTER_COMPONENT = Operation(
    "DeregisterComponent",
    DeregisterComponentType,
    DeregisterComponentResponseType,
    timeout=Timeouts.FAST,
    idempotent=False,
)
DESCRIBE_COMPONENTS = Operation(
    "DescribeComponents",
    DescribeComponentsType,
    DescribeComponentsResponseType,
    timeout=Timeouts.URGENT,
    idempotent=True,
)

CONFIGURATION_SERVICE = ServiceDecl(
    name="Configuration",
    path="/services/Configuration",
    operations=(REGISTER_COMPONENT, DEREGISTER_COMPONENT, DESCRIBE_COMPONENTS, DESCRIBE_SERVICE),
)
