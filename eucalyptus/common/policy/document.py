"""The data types of a parsed policy: :class:`Policy`, :class:`Statement`, :class:`Effect`.

Everything here is immutable; a Statement precompiles its action and resource
patterns. Parsing JSON text into these is :func:`eucalyptus.common.policy.parser.parse_policy`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from eucalyptus.common.policy.conditions import Condition
from eucalyptus.common.policy.matching import Glob, Values

#: versions that enable policy variables; older documents read ``${...}`` literally
VARIABLES_VERSION = "2012-10-17"


class Effect(enum.Enum):
    """A statement's Effect; ``Limit`` is the Eucalyptus quota effect."""

    ALLOW = "Allow"
    DENY = "Deny"
    LIMIT = "Limit"


@dataclass(frozen=True)
class Principal:
    """One principal of a resource policy: its type (AWS, Service, ...) and identifier.

    The wildcard principal ``"*"`` is ``Principal("*", "*")``.
    """

    type: str
    value: str

    def matches(self, principals: Sequence[str]) -> bool:
        """True when this is ``*`` or names one of the caller's identifiers."""
        return self.value == "*" or self.value in principals


@dataclass(frozen=True)
class Statement:
    """One statement. ``not_action``/``not_resource``/``not_principal`` say which element
    of each pair was written; ``principals`` is None when neither Principal element was.
    ``variables`` is whether policy variables are substituted (Version 2012-10-17).
    """

    effect: Effect
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_action: bool = False
    not_resource: bool = False
    conditions: tuple[Condition, ...] = ()
    sid: str | None = None
    principals: tuple[Principal, ...] | None = None
    not_principal: bool = False
    variables: bool = False
    _action_globs: tuple[Glob, ...] = field(init=False, repr=False, compare=False)
    _resource_globs: tuple[Glob, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        actions = tuple(Glob(action, ignore_case=True) for action in self.actions)
        resources = tuple(Glob(res, variables=self.variables) for res in self.resources)
        object.__setattr__(self, "_action_globs", actions)
        object.__setattr__(self, "_resource_globs", resources)

    def matches_action(self, action: str) -> bool:
        """Whether the statement covers ``action`` (case-insensitive; NotAction inverts)."""
        hit = any(glob.matches(action) for glob in self._action_globs)
        return hit != self.not_action

    def matches_resource(self, resource: str, values: Values | None = None) -> bool:
        """Whether the statement covers ``resource`` (NotResource inverts); ``values``
        resolve policy variables."""
        hit = any(glob.matches(resource, values) for glob in self._resource_globs)
        return hit != self.not_resource

    def matches_principal(self, principals: Sequence[str]) -> bool:
        """Whether the statement covers a caller known by ``principals`` (ARNs, account
        ids, ...); always true for a statement without a Principal element."""
        if self.principals is None:
            return True
        hit = any(principal.matches(principals) for principal in self.principals)
        return hit != self.not_principal

    def matches_conditions(self, values: Values) -> bool:
        """Whether every condition holds for a request with condition values ``values``."""
        return all(condition.matches(values) for condition in self.conditions)


@dataclass(frozen=True)
class Policy:
    """A parsed policy document."""

    statements: tuple[Statement, ...]
    version: str | None = None
    id: str | None = None
