"""Accounts (Eucalyptus extensions, cloud administrator only) and account aliases.

In Eucalyptus the account alias *is* the account's name: CreateAccountAlias renames
the account, DeleteAccountAlias gives it back its number as its name, and
ListAccountAliases shows the name unless it is just the number.
"""

from __future__ import annotations

from typing import Any

from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.iam.base import Call, Request, in_transaction, page
from eucalyptus.clc.identity import names, store
from eucalyptus.common.errors import AccessDenied, NoSuchEntity


def _cloud_admin_only(call: Call) -> None:
    if not call.principal.is_cloud_admin:
        raise AccessDenied(
            f"User: {call.principal.arn} is not authorized to perform: "
            f"iam:{call.req.action}; only the cloud administrator may"
        )


def actions(ctx: ClcContext) -> dict[str, Any]:
    async def create_account(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            _cloud_admin_only(call)
            account, _ = store.create_account(
                call.session, names.account_name(call.require("AccountName"))
            )
            return {"Account": {"AccountName": account.name, "AccountId": account.number}}

        return await in_transaction(ctx, req, work)

    async def delete_account(req: Request) -> None:
        def work(call: Call) -> None:
            _cloud_admin_only(call)
            account = store.get_account(call.session, call.require("AccountName"))
            store.delete_account(
                call.session, account, recursive=call.req.params.get_bool("Recursive")
            )

        await in_transaction(ctx, req, work)
        return None

    async def list_accounts(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            _cloud_admin_only(call)
            accounts = store.list_accounts(call.session)
            return page(
                accounts,
                call,
                lambda a: a.name,
                "Accounts",
                lambda a: {"AccountName": a.name, "AccountId": a.number},
            )

        return await in_transaction(ctx, req, work)

    async def create_alias(req: Request) -> None:
        def work(call: Call) -> None:
            account = call.account()
            call.authorize("CreateAccountAlias", "*", account)
            store.rename_account(call.session, account, call.require("AccountAlias"))

        await in_transaction(ctx, req, work)
        return None

    async def delete_alias(req: Request) -> None:
        def work(call: Call) -> None:
            account = call.account()
            call.authorize("DeleteAccountAlias", "*", account)
            alias = call.require("AccountAlias")
            if alias != account.name or account.name == account.number:
                raise NoSuchEntity(f"The account alias {alias} cannot be found.")
            store.rename_account(call.session, account, account.number)

        await in_transaction(ctx, req, work)
        return None

    async def list_aliases(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            call.authorize("ListAccountAliases", "*", account)
            aliases = [account.name] if account.name != account.number else []
            return page(aliases, call, lambda a: a, "AccountAliases", lambda a: a)

        return await in_transaction(ctx, req, work)

    return {
        "CreateAccount": create_account,
        "DeleteAccount": delete_account,
        "ListAccounts": list_accounts,
        "CreateAccountAlias": create_alias,
        "DeleteAccountAlias": delete_alias,
        "ListAccountAliases": list_aliases,
    }
