"""Authentication (access key -> principal) and authorisation (the one evaluator).

Authorisation rules, as Eucalyptus 3 has them:

* the cloud administrator (``admin`` of the ``eucalyptus`` account) may do anything;
* an account's ``admin`` may do anything inside its own account, except what a
  Deny in the account's policies (set by the cloud administrator) forbids;
* any other user needs an Allow from its own or its groups' policies, and no Deny
  there or in the account's policies.

Every EC2, IAM and S3 action goes through :func:`authorize`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from eucalyptus.clc.identity.models import AccessKey, Account, User
from eucalyptus.clc.identity.principal import Principal
from eucalyptus.clc.identity.store import documents_governing
from eucalyptus.common.db import Database
from eucalyptus.common.errors import AccessDenied, InvalidClientTokenId
from eucalyptus.common.policy import Decision, Policy, RequestContext, evaluate, parse_policy


class PolicyCache:
    """Parsed policies by document text (documents are validated when stored)."""

    def __init__(self, size: int = 4096) -> None:
        self.parse = functools.lru_cache(maxsize=size)(parse_policy)

    def parse_all(self, documents: Sequence[str]) -> tuple[Policy, ...]:
        return tuple(self.parse(document) for document in documents)


def active_key(session: Session, access_key_id: str) -> tuple[AccessKey, User, Account] | None:
    """The key with its user and account, if the key is Active and its user enabled."""
    row = session.execute(
        select(AccessKey, User, Account)
        .join(User, User.id == AccessKey.user_id)
        .join(Account, Account.id == User.account_id)
        .where(AccessKey.key_id == access_key_id)
    ).first()
    if row is None:
        return None
    key, user, account = row
    if key.status != "Active" or not user.enabled:
        return None
    return key, user, account


class ClcAuthenticator:
    """Resolves access keys from the CLC's own database.

    Resolved keys are remembered for at most ``ttl`` seconds, and all of them are
    forgotten by :meth:`invalidate`, which the Euare service calls after every
    action that changes identity records. Every such change goes through this
    process, so a deactivated or deleted key stops working at the next request; the
    TTL only bounds what a change made behind the CLC's back (a restored database)
    can leave in memory. Failures are never cached, nor is a lookup that an
    invalidation overtook (it may have read the records from before the change).
    """

    def __init__(
        self, db: Database, policies: PolicyCache, *, ttl: float = 10.0, size: int = 10000
    ) -> None:
        self.db = db
        self.policies = policies
        self.ttl = ttl
        self.size = size
        self._cache: dict[str, tuple[float, str, Principal]] = {}
        self._generation = 0

    def invalidate(self) -> None:
        self._generation += 1
        self._cache.clear()

    async def resolve(self, access_key_id: str) -> tuple[str, Principal]:
        now = time.monotonic()
        cached = self._cache.get(access_key_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1], cached[2]
        generation = self._generation
        secret, principal = await self.db.run(
            lambda session: self.resolve_sync(session, access_key_id)
        )
        if generation != self._generation:
            return secret, principal
        if len(self._cache) >= self.size:
            self._cache.clear()
        self._cache[access_key_id] = (now, secret, principal)
        return secret, principal

    def resolve_sync(self, session: Session, access_key_id: str) -> tuple[str, Principal]:
        row = active_key(session, access_key_id)
        if row is None:
            raise InvalidClientTokenId("The security token included in the request is invalid.")
        key, user, account = row
        own, account_docs = documents_governing(session, user)
        principal = Principal(
            account_id=account.id,
            account_number=account.number,
            account_name=account.name,
            user_id=user.id,
            user_name=user.name,
            user_path=user.path,
            user_unique_id=user.unique_id,
            access_key_id=key.key_id,
            policies=self.policies.parse_all(own),
            account_policies=self.policies.parse_all(account_docs),
        )
        return key.secret, principal


def request_conditions(
    principal: Principal, *, remote: str, secure: bool, now: datetime
) -> dict[str, list[str]]:
    """The global condition keys AWS sets on every request."""
    return {
        "aws:sourceip": [remote],
        "aws:securetransport": ["true" if secure else "false"],
        "aws:currenttime": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
        "aws:epochtime": [str(int(now.timestamp()))],
        "aws:username": [principal.user_name],
        "aws:userid": [principal.user_unique_id],
        "aws:principaltype": ["User"],
    }


def decide(
    principal: Principal,
    action: str,
    resource: str,
    conditions: Mapping[str, list[str]],
    *,
    resource_account: str | None = None,
) -> Decision:
    """The decision for ``principal`` doing ``action`` on ``resource`` (an ARN or ``*``)."""
    if principal.is_cloud_admin:
        return Decision.ALLOW
    if resource_account is not None and resource_account != principal.account_number:
        return Decision.IMPLICIT_DENY
    ctx = RequestContext(action=action, resource=resource, condition_values=conditions)
    if (
        principal.account_policies
        and evaluate(principal.account_policies, ctx) is Decision.EXPLICIT_DENY
    ):
        return Decision.EXPLICIT_DENY
    if principal.is_account_admin:
        return Decision.ALLOW
    return evaluate(principal.policies, ctx)


def authorize(
    principal: Principal,
    action: str,
    resource: str,
    conditions: Mapping[str, list[str]],
    *,
    resource_account: str | None = None,
) -> None:
    """Raise AccessDenied unless :func:`decide` allows."""
    decision = decide(principal, action, resource, conditions, resource_account=resource_account)
    if decision is not Decision.ALLOW:
        raise AccessDenied(
            f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource}"
        )
