"""Decide whether a request is allowed by a set of policies (AWS IAM semantics).

A statement *applies* to a request when its Action/NotAction covers the action, its
Resource/NotResource covers the resource, its Principal/NotPrincipal (resource policies
only) covers the caller, and every condition holds. Then: any applying Deny gives
``EXPLICIT_DENY``; otherwise any applying Allow gives ``ALLOW``; otherwise
``IMPLICIT_DENY``. Limit (quota) statements never take part.

A statement naming specific resources does not apply to a request whose resource is
``"*"`` (an action without resource-level permissions); one with ``Resource: "*"`` does.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from eucalyptus.common.policy.document import Effect, Policy, Statement
from eucalyptus.common.policy.matching import Values


class Decision(enum.Enum):
    """The outcome of :func:`evaluate`."""

    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class RequestContext:
    """What is being asked: the action (``ec2:DescribeInstances``), the resource ARN
    (or ``"*"``), the request's condition values (keys matched case-insensitively; a
    plain string counts as one value) and, for resource policies, the identifiers the
    caller is known by (its ARN, account id, ...).
    """

    action: str
    resource: str
    condition_values: Mapping[str, Sequence[str]] = field(default_factory=dict)
    principals: Sequence[str] = ()
    _values: Values = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values: dict[str, tuple[str, ...]] = {}
        for key, raw in self.condition_values.items():
            items = (raw,) if isinstance(raw, str) else tuple(raw)
            values[key.lower()] = values.get(key.lower(), ()) + items
        object.__setattr__(self, "_values", values)

    @property
    def values(self) -> Values:
        """The condition values by lower-cased key."""
        return self._values


def statement_applies(statement: Statement, ctx: RequestContext) -> bool:
    """Whether ``statement`` covers the request, whatever its effect."""
    return (
        statement.matches_action(ctx.action)
        and statement.matches_resource(ctx.resource, ctx.values)
        and statement.matches_principal(ctx.principals)
        and statement.matches_conditions(ctx.values)
    )


def applying_statements(policies: Iterable[Policy], ctx: RequestContext) -> list[Statement]:
    """Every Allow or Deny statement of ``policies`` that applies to the request."""
    return [
        statement
        for policy in policies
        for statement in policy.statements
        if statement.effect is not Effect.LIMIT and statement_applies(statement, ctx)
    ]


def evaluate(policies: Iterable[Policy], ctx: RequestContext) -> Decision:
    """The decision for the request; see the module docstring."""
    allowed = False
    for policy in policies:
        for statement in policy.statements:
            if statement.effect is Effect.LIMIT or not statement_applies(statement, ctx):
                continue
            if statement.effect is Effect.DENY:
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
