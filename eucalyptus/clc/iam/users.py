"""Euare users: CreateUser, GetUser, UpdateUser, DeleteUser, ListUsers."""

from __future__ import annotations

from typing import Any

from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.iam.base import Call, Request, in_transaction, page, user_data
from eucalyptus.clc.identity import names, store
from eucalyptus.clc.identity.principal import user_arn


def actions(ctx: ClcContext) -> dict[str, Any]:
    async def create_user(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            name = names.user_name(call.require("UserName"))
            path = names.path(call.param("Path"))
            call.authorize("CreateUser", user_arn(account.number, path, name), account)
            user = store.create_user(call.session, account, name, path)
            return {"User": user_data(account, user)}

        return await in_transaction(ctx, req, work)

    async def get_user(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            user = call.target_user(account)
            call.authorize_user("GetUser", account, user)
            return {"User": user_data(account, user)}

        return await in_transaction(ctx, req, work)

    async def update_user(req: Request) -> None:
        def work(call: Call) -> None:
            account = call.account()
            user = store.get_user(call.session, account, call.require("UserName"))
            call.authorize_user("UpdateUser", account, user)
            new_name, new_path = call.param("NewUserName"), call.param("NewPath")
            if new_name or new_path:
                # a move needs permission on both sides (the user guide's rule)
                call.authorize(
                    "UpdateUser",
                    user_arn(
                        account.number, names.path(new_path or user.path), new_name or user.name
                    ),
                    account,
                )
            store.update_user(call.session, user, new_name or None, new_path or None)

        await in_transaction(ctx, req, work)
        return None

    async def delete_user(req: Request) -> None:
        def work(call: Call) -> None:
            account = call.account()
            user = store.get_user(call.session, account, call.require("UserName"))
            call.authorize_user("DeleteUser", account, user)
            recursive = call.req.params.get_bool("IsRecursive") or call.req.params.get_bool(
                "Recursive"
            )
            store.delete_user(call.session, user, recursive=recursive)

        await in_transaction(ctx, req, work)
        return None

    async def list_users(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            prefix = names.path_prefix(call.param("PathPrefix"))
            call.authorize("ListUsers", user_arn(account.number, prefix, "*"), account)
            users = store.list_users(call.session, account, prefix)
            return page(users, call, lambda u: u.name, "Users", lambda u: user_data(account, u))

        return await in_transaction(ctx, req, work)

    return {
        "CreateUser": create_user,
        "GetUser": get_user,
        "UpdateUser": update_user,
        "DeleteUser": delete_user,
        "ListUsers": list_users,
    }
