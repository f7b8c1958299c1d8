"""Euare groups and membership."""

from __future__ import annotations

from typing import Any

from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.iam.base import Call, Request, group_data, in_transaction, page, user_data
from eucalyptus.clc.identity import names, store
from eucalyptus.clc.identity.principal import group_arn


def actions(ctx: ClcContext) -> dict[str, Any]:
    async def create_group(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            name = names.group_name(call.require("GroupName"))
            path = names.path(call.param("Path"))
            call.authorize("CreateGroup", group_arn(account.number, path, name), account)
            return {
                "Group": group_data(account, store.create_group(call.session, account, name, path))
            }

        return await in_transaction(ctx, req, work)

    async def get_group(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            group = store.get_group(call.session, account, call.require("GroupName"))
            call.authorize_group("GetGroup", account, group)
            members = store.group_members(call.session, group)
            result = page(members, call, lambda u: u.name, "Users", lambda u: user_data(account, u))
            return {"Group": group_data(account, group), **result}

        return await in_transaction(ctx, req, work)

    async def update_group(req: Request) -> None:
        def work(call: Call) -> None:
            account = call.account()
            group = store.get_group(call.session, account, call.require("GroupName"))
            call.authorize_group("UpdateGroup", account, group)
            new_name, new_path = call.param("NewGroupName"), call.param("NewPath")
            if new_name or new_path:
                call.authorize(
                    "UpdateGroup",
                    group_arn(
                        account.number, names.path(new_path or group.path), new_name or group.name
                    ),
                    account,
                )
            store.update_group(call.session, account, group, new_name or None, new_path or None)

        await in_transaction(ctx, req, work)
        return None

    async def delete_group(req: Request) -> None:
        def work(call: Call) -> None:
            account = call.account()
            group = store.get_group(call.session, account, call.require("GroupName"))
            call.authorize_group("DeleteGroup", account, group)
            recursive = call.req.params.get_bool("IsRecursive") or call.req.params.get_bool(
                "Recursive"
            )
            store.delete_group(call.session, group, recursive=recursive)

        await in_transaction(ctx, req, work)
        return None

    async def list_groups(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            prefix = names.path_prefix(call.param("PathPrefix"))
            call.authorize("ListGroups", group_arn(account.number, prefix, "*"), account)
            groups = store.list_groups(call.session, account, prefix)
            return page(groups, call, lambda g: g.name, "Groups", lambda g: group_data(account, g))

        return await in_transaction(ctx, req, work)

    async def change_membership(req: Request) -> None:
        adding = req.action == "AddUserToGroup"

        def work(call: Call) -> None:
            account = call.account()
            group = store.get_group(call.session, account, call.require("GroupName"))
            user = store.get_user(call.session, account, call.require("UserName"))
            call.authorize_group(req.action, account, group)
            if adding:
                store.add_user_to_group(call.session, group, user)
            else:
                store.remove_user_from_group(call.session, group, user)

        await in_transaction(ctx, req, work)
        return None

    async def list_groups_for_user(req: Request) -> dict[str, Any]:
        def work(call: Call) -> dict[str, Any]:
            account = call.account()
            user = store.get_user(call.session, account, call.require("UserName"))
            call.authorize_user("ListGroupsForUser", account, user)
            groups = store.groups_for_user(call.session, user)
            return page(groups, call, lambda g: g.name, "Groups", lambda g: group_data(account, g))

        return await in_transaction(ctx, req, work)

    return {
        "CreateGroup": create_group,
        "GetGroup": get_group,
        "UpdateGroup": update_group,
        "DeleteGroup": delete_group,
        "ListGroups": list_groups,
        "AddUserToGroup": change_membership,
        "RemoveUserFromGroup": change_membership,
        "ListGroupsForUser": list_groups_for_user,
    }
