"""What every Euare action shares: the target account, authorisation, paging, rendering."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.identity import store
from eucalyptus.clc.identity.access import authorize, request_conditions
from eucalyptus.clc.identity.models import Account, Group, User
from eucalyptus.clc.identity.principal import Principal, group_arn, user_arn
from eucalyptus.common.api.query_service import ActionRequest
from eucalyptus.common.errors import AccessDenied, InvalidParameterValue

T = TypeVar("T")
Request = ActionRequest[Principal]


@dataclass
class Call:
    """One Euare request inside its database transaction."""

    req: Request
    session: Session

    @property
    def principal(self) -> Principal:
        return self.req.principal

    def param(self, name: str) -> str | None:
        return self.req.params.get(name)

    def require(self, name: str) -> str:
        return self.req.params.require(name)

    def account(self) -> Account:
        """The account acted on: the caller's, or ``DelegateAccount`` for the cloud admin."""
        delegate = self.param("DelegateAccount")
        if delegate:
            if not self.principal.is_cloud_admin:
                raise AccessDenied("Only the cloud administrator may act for another account")
            return store.get_account(self.session, delegate)
        return self.session.get_one(Account, self.principal.account_id)

    def authorize(self, action: str, resource: str, account: Account) -> None:
        conditions = request_conditions(
            self.principal,
            remote=self.req.remote,
            secure=self.req.secure,
            now=self.req.received_at,
        )
        authorize(
            self.principal, f"iam:{action}", resource, conditions, resource_account=account.number
        )

    def target_user(self, account: Account, param: str = "UserName") -> User:
        """The user named by ``param``, or the caller when it is absent (AWS rule)."""
        name = self.param(param)
        if not name:
            if account.id != self.principal.account_id:
                return store.get_user(self.session, account, "admin")
            return self.session.get_one(User, self.principal.user_id)
        return store.get_user(self.session, account, name)

    def authorize_user(self, action: str, account: Account, user: User) -> None:
        self.authorize(action, user_arn(account.number, user.path, user.name), account)

    def authorize_group(self, action: str, account: Account, group: Group) -> None:
        self.authorize(action, group_arn(account.number, group.path, group.name), account)


async def in_transaction(ctx: ClcContext, req: Request, work: Callable[[Call], T]) -> T:
    """Run ``work`` in one database transaction, off the event loop."""
    return await ctx.db.run(lambda session: work(Call(req, session)))


def page(
    items: Sequence[T],
    call: Call,
    key: Callable[[T], str],
    list_name: str,
    render: Callable[[T], Any],
) -> dict[str, Any]:
    """IAM paging: ``Marker`` / ``MaxItems`` in, ``IsTruncated`` / ``Marker`` out."""
    max_items = call.req.params.get_int("MaxItems", 100, minimum=1, maximum=1000) or 100
    marker = call.param("Marker")
    start = 0
    if marker:
        keys = [key(item) for item in items]
        if marker not in keys:
            raise InvalidParameterValue(f"Invalid Marker {marker!r}")
        start = keys.index(marker)
    chosen = items[start : start + max_items]
    result: dict[str, Any] = {list_name: [render(item) for item in chosen]}
    truncated = start + max_items < len(items)
    result["IsTruncated"] = truncated
    if truncated:
        result["Marker"] = key(items[start + max_items])
    return result


def user_data(account: Account, user: User) -> dict[str, Any]:
    return {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.unique_id,
        "Arn": user_arn(account.number, user.path, user.name),
        "CreateDate": user.created,
    }


def group_data(account: Account, group: Group) -> dict[str, Any]:
    return {
        "Path": group.path,
        "GroupName": group.name,
        "GroupId": group.unique_id,
        "Arn": group_arn(account.number, group.path, group.name),
        "CreateDate": group.created,
    }
