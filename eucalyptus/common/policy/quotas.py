"""Eucalyptus quotas: the limits carried by Limit statements.

The parser has already checked that every condition of a Limit statement is
``NumericLessThanEquals`` on a known quota key (see :mod:`.keys`) with a single
non-negative integer value, so here a quota is just (key, limit, where it applies).
Quotas from several policies (a user's and its account's) combine by taking the
smallest; no applicable quota means no limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eucalyptus.common.policy.document import Effect, Policy, Statement
from eucalyptus.common.policy.keys import quota_key


@dataclass(frozen=True)
class QuotaLimit:
    """One quota of a policy: ``key`` (lower-case) may reach at most ``limit``, for the
    actions and resources of the statement it came from."""

    key: str
    limit: int
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_action: bool = False
    not_resource: bool = False
    sid: str | None = None


def _limits(statement: Statement) -> list[QuotaLimit]:
    if statement.effect is not Effect.LIMIT:
        return []
    return [
        QuotaLimit(
            key=condition.key.lower(),
            limit=int(condition.values[0]),
            actions=statement.actions,
            resources=statement.resources,
            not_action=statement.not_action,
            not_resource=statement.not_resource,
            sid=statement.sid,
        )
        for condition in statement.conditions
    ]


def quota_keys(policy: Policy) -> list[QuotaLimit]:
    """Every quota of ``policy``, in document order."""
    return [limit for statement in policy.statements for limit in _limits(statement)]


def quota_limit(
    policies: Iterable[Policy],
    key: str,
    action: str | None = None,
    resource: str | None = None,
) -> int | None:
    """The smallest limit on ``key`` among the Limit statements of ``policies`` that
    cover ``action`` and ``resource`` (either left out: not checked); None when there is
    none (unlimited). ValueError when ``key`` is not a known quota key.
    """
    known = quota_key(key)
    if known is None:
        raise ValueError(f"'{key}' is not a known quota key")
    found: int | None = None
    for policy in policies:
        for statement in policy.statements:
            if statement.effect is not Effect.LIMIT:
                continue
            if action is not None and not statement.matches_action(action):
                continue
            if resource is not None and not statement.matches_resource(resource):
                continue
            for limit in _limits(statement):
                if limit.key == known.name and (found is None or limit.limit < found):
                    found = limit.limit
    return found
