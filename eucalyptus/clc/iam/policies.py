"""Inline policies of users, groups and (a Eucalyptus extension) whole accounts.

A policy is validated by the one policy parser before it is stored, so what is in
the database always parses. Account policies (``PutAccountPolicy``, used for the
EIAM quotas and account-wide denies) are for the cloud administrator only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.iam.base import Call, Request, in_transaction, page
from eucalyptus.clc.identity import names, store
from eucalyptus.clc.identity.models import Account
from eucalyptus.common.errors import AccessDenied
from eucalyptus.common.policy import parse_policy

MAX_POLICY_BYTES = 16384


def _owner(call: Call, kind: str, verb: str) -> tuple[Account, int, str]:
    """(account, owner id, owner name) for ``kind`` after authorising ``verb``."""
    action = f"{verb}{kind.capitalize()}Polic{'ies' if verb == 'List' else 'y'}"
    if kind == "account":
        if not call.principal.is_cloud_admin:
            raise AccessDenied("Only the cloud administrator manages account policies")
        account = store.get_account(call.session, call.require("AccountName"))
        return account, account.id, account.name
    account = call.account()
    if kind == "user":
        user = store.get_user(call.session, account, call.require("UserName"))
        call.authorize_user(action, account, user)
        return account, user.id, user.name
    group = store.get_group(call.session, account, call.require("GroupName"))
    call.authorize_group(action, account, group)
    return account, group.id, group.name


def _name_key(kind: str) -> str:
    return {"user": "UserName", "group": "GroupName", "account": "AccountName"}[kind]


def actions(ctx: ClcContext) -> dict[str, Any]:
    def put(kind: str) -> Any:
        async def handler(req: Request) -> None:
            def work(call: Call) -> None:
                name = names.policy_name(call.require("PolicyName"))
                document = call.require("PolicyDocument")
                parse_policy(document, max_length=MAX_POLICY_BYTES)
                account, owner_id, _ = _owner(call, kind, "Put")
                store.put_policy(call.session, kind, owner_id, account.id, name, document)

            await in_transaction(ctx, req, work)
            return None

        return handler

    def get(kind: str) -> Any:
        async def handler(req: Request) -> dict[str, Any]:
            def work(call: Call) -> dict[str, Any]:
                _, owner_id, owner_name = _owner(call, kind, "Get")
                policy = store.get_policy(call.session, kind, owner_id, call.require("PolicyName"))
                return {
                    _name_key(kind): owner_name,
                    "PolicyName": policy.name,
                    "PolicyDocument": quote(policy.document, safe=""),
                }

            return await in_transaction(ctx, req, work)

        return handler

    def list_(kind: str) -> Any:
        async def handler(req: Request) -> dict[str, Any]:
            def work(call: Call) -> dict[str, Any]:
                _, owner_id, _ = _owner(call, kind, "List")
                policy_names = [p.name for p in store.list_policies(call.session, kind, owner_id)]
                return page(policy_names, call, lambda n: n, "PolicyNames", lambda n: n)

            return await in_transaction(ctx, req, work)

        return handler

    def delete(kind: str) -> Any:
        async def handler(req: Request) -> None:
            def work(call: Call) -> None:
                _, owner_id, _ = _owner(call, kind, "Delete")
                store.delete_policy(call.session, kind, owner_id, call.require("PolicyName"))

            await in_transaction(ctx, req, work)
            return None

        return handler

    table: dict[str, Any] = {}
    for kind in ("user", "group", "account"):
        title = kind.capitalize()
        table[f"Put{title}Policy"] = put(kind)
        table[f"Get{title}Policy"] = get(kind)
        table[f"List{title}Policies"] = list_(kind)
        table[f"Delete{title}Policy"] = delete(kind)
    return table
