"""Euare users and groups through boto3 (and hand-signed requests for the extensions)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.euare import call, client_error, iam_client, iam_error, unique, user_key
from tests.support import Cloud


def test_user_create_get_delete_round_trip(admin_iam: Any) -> None:
    name = unique("alice")
    created = admin_iam.create_user(UserName=name, Path="/team/")["User"]
    assert created["UserName"] == name
    assert created["Path"] == "/team/"
    assert created["UserId"].startswith("AIDA")
    assert created["Arn"].endswith(f":user/team/{name}")
    fetched = admin_iam.get_user(UserName=name)["User"]
    assert fetched == created
    admin_iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.get_user(UserName=name)
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


def test_update_user_renames_and_moves_it(admin_iam: Any) -> None:
    old, new = unique("bob"), unique("robert")
    user_id = admin_iam.create_user(UserName=old, Path="/team_abc/")["User"]["UserId"]
    admin_iam.update_user(UserName=old, NewUserName=new, NewPath="/team_efg/")
    moved = admin_iam.get_user(UserName=new)["User"]
    assert (moved["UserId"], moved["Path"]) == (user_id, "/team_efg/")
    assert moved["Arn"].endswith(f":user/team_efg/{new}")
    with pytest.raises(ClientError) as excinfo:
        admin_iam.get_user(UserName=old)
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


def test_list_users_filters_by_case_sensitive_path_prefix(admin_iam: Any) -> None:
    prefix = f"/{unique('dept')}/"
    inside = sorted(unique("in") for _ in range(3))
    for name in inside:
        admin_iam.create_user(UserName=name, Path=f"{prefix}sub/")
    admin_iam.create_user(UserName=unique("out"), Path=prefix.upper())
    listed = admin_iam.list_users(PathPrefix=prefix)["Users"]
    assert [u["UserName"] for u in listed] == inside
    assert admin_iam.list_users(PathPrefix=f"{prefix}sub/x")["Users"] == []
    everyone = [u["UserName"] for u in admin_iam.list_users(MaxItems=1000)["Users"]]
    assert set(inside) <= set(everyone)


def test_list_users_pages_with_max_items_and_marker(admin_iam: Any) -> None:
    prefix = f"/{unique('page')}/"
    # mixed case and punctuation: the order must be the same on every database
    names = [
        "Zed-" + unique("a"),
        "alpha_" + unique("b"),
        "Beta." + unique("c"),
        "beta" + unique("d"),
        "_x" + unique("e"),
    ]
    for name in names:
        admin_iam.create_user(UserName=name, Path=prefix)
    seen: list[str] = []
    truncations: list[bool] = []
    kwargs: dict[str, Any] = {"PathPrefix": prefix, "MaxItems": 2}
    while True:
        page = admin_iam.list_users(**kwargs)
        assert len(page["Users"]) <= 2
        seen += [u["UserName"] for u in page["Users"]]
        truncations.append(page["IsTruncated"])
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        kwargs["Marker"] = page["Marker"]
    assert seen == sorted(names)
    assert truncations == [True, True, False]


def test_create_existing_user_is_entity_already_exists(admin_iam: Any) -> None:
    name = unique("dup")
    admin_iam.create_user(UserName=name)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.create_user(UserName=name, Path="/elsewhere/")
    assert client_error(excinfo)[:2] == ("EntityAlreadyExists", 409)


def test_concurrent_creates_of_one_name_give_one_user_and_409s(cloud: Cloud) -> None:
    clients = [iam_client(cloud, cloud.admin_key) for _ in range(8)]
    for _ in range(10):
        name = unique("race")

        def create(iam: Any, name: str = name) -> str:
            try:
                iam.create_user(UserName=name)
            except ClientError as error:
                return str(error.response["Error"]["Code"])
            return "ok"

        with ThreadPoolExecutor(len(clients)) as pool:
            outcomes = sorted(pool.map(create, clients))
        assert outcomes == ["EntityAlreadyExists"] * 7 + ["ok"]


def test_missing_user_is_no_such_entity_for_every_verb(admin_iam: Any) -> None:
    ghost = unique("ghost")
    for verb, kwargs in (
        (admin_iam.get_user, {"UserName": ghost}),
        (admin_iam.update_user, {"UserName": ghost, "NewPath": "/x/"}),
        (admin_iam.delete_user, {"UserName": ghost}),
        (admin_iam.list_groups_for_user, {"UserName": ghost}),
    ):
        with pytest.raises(ClientError) as excinfo:
            verb(**kwargs)
        code, status, message = client_error(excinfo)
        assert (code, status) == ("NoSuchEntity", 404)
        assert ghost in message


def test_rename_onto_an_existing_user_is_entity_already_exists(admin_iam: Any) -> None:
    first, second = unique("first"), unique("second")
    admin_iam.create_user(UserName=first)
    admin_iam.create_user(UserName=second)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.update_user(UserName=first, NewUserName=second)
    assert client_error(excinfo)[:2] == ("EntityAlreadyExists", 409)


def test_group_lifecycle_with_members(admin_iam: Any) -> None:
    group, renamed = unique("devs"), unique("engineers")
    created = admin_iam.create_group(GroupName=group, Path="/area_abc/")["Group"]
    assert created["GroupId"].startswith("AGPA")
    assert created["Arn"].endswith(f":group/area_abc/{group}")
    members = sorted(unique("m") for _ in range(2))
    for name in members:
        admin_iam.create_user(UserName=name)
        admin_iam.add_user_to_group(GroupName=group, UserName=name)
    got = admin_iam.get_group(GroupName=group)
    assert got["Group"]["GroupName"] == group
    assert [u["UserName"] for u in got["Users"]] == members
    admin_iam.update_group(GroupName=group, NewGroupName=renamed, NewPath="/area_efg/")
    moved = admin_iam.get_group(GroupName=renamed)
    assert moved["Group"]["Path"] == "/area_efg/"
    assert moved["Group"]["GroupId"] == created["GroupId"]
    assert [u["UserName"] for u in moved["Users"]] == members
    with pytest.raises(ClientError) as excinfo:
        admin_iam.get_group(GroupName=group)
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)
    for name in members:
        admin_iam.remove_user_from_group(GroupName=renamed, UserName=name)
    admin_iam.delete_group(GroupName=renamed)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.get_group(GroupName=renamed)
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


def test_create_existing_group_is_entity_already_exists(admin_iam: Any) -> None:
    group = unique("grp")
    admin_iam.create_group(GroupName=group)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.create_group(GroupName=group)
    assert client_error(excinfo)[:2] == ("EntityAlreadyExists", 409)


def test_membership_shows_in_list_groups_for_user(admin_iam: Any) -> None:
    user = unique("member")
    groups = sorted(unique("g") for _ in range(2))
    admin_iam.create_user(UserName=user)
    for group in groups:
        admin_iam.create_group(GroupName=group)
        admin_iam.add_user_to_group(GroupName=group, UserName=user)
    listed = admin_iam.list_groups_for_user(UserName=user)["Groups"]
    assert [g["GroupName"] for g in listed] == groups
    admin_iam.remove_user_from_group(GroupName=groups[0], UserName=user)
    listed = admin_iam.list_groups_for_user(UserName=user)["Groups"]
    assert [g["GroupName"] for g in listed] == groups[1:]
    with pytest.raises(ClientError) as excinfo:
        admin_iam.remove_user_from_group(GroupName=groups[0], UserName=user)
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


def test_add_missing_user_to_group_is_no_such_entity(admin_iam: Any) -> None:
    group = unique("grp")
    admin_iam.create_group(GroupName=group)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.add_user_to_group(GroupName=group, UserName=unique("nobody"))
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


POLICY = '{"Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}'


@pytest.mark.parametrize("attachment", ["access key", "policy", "group", "login profile"])
def test_delete_user_with_attachments_is_delete_conflict(admin_iam: Any, attachment: str) -> None:
    user = unique("busy")
    admin_iam.create_user(UserName=user)
    if attachment == "access key":
        admin_iam.create_access_key(UserName=user)
    elif attachment == "policy":
        admin_iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=POLICY)
    elif attachment == "group":
        group = unique("grp")
        admin_iam.create_group(GroupName=group)
        admin_iam.add_user_to_group(GroupName=group, UserName=user)
    else:
        admin_iam.create_login_profile(UserName=user, Password="Secret-123")
    with pytest.raises(ClientError) as excinfo:
        admin_iam.delete_user(UserName=user)
    assert client_error(excinfo)[:2] == ("DeleteConflict", 409)
    assert admin_iam.get_user(UserName=user)["User"]["UserName"] == user


@pytest.mark.parametrize("content", ["member", "policy"])
def test_delete_non_empty_group_is_delete_conflict(admin_iam: Any, content: str) -> None:
    group = unique("full")
    admin_iam.create_group(GroupName=group)
    if content == "member":
        user = unique("u")
        admin_iam.create_user(UserName=user)
        admin_iam.add_user_to_group(GroupName=group, UserName=user)
    else:
        admin_iam.put_group_policy(GroupName=group, PolicyName="p", PolicyDocument=POLICY)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.delete_group(GroupName=group)
    assert client_error(excinfo)[:2] == ("DeleteConflict", 409)
    assert admin_iam.get_group(GroupName=group)["Group"]["GroupName"] == group


def test_recursive_delete_user_removes_everything_it_holds(cloud: Cloud, admin_iam: Any) -> None:
    user, group = unique("doomed"), unique("grp")
    admin_iam.create_user(UserName=user)
    admin_iam.create_group(GroupName=group)
    admin_iam.add_user_to_group(GroupName=group, UserName=user)
    admin_iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=POLICY)
    admin_iam.create_login_profile(UserName=user, Password="Secret-123")
    key = user_key(admin_iam, user)
    response = call(cloud, cloud.admin_key, "DeleteUser", {"UserName": user, "IsRecursive": "true"})
    assert response.status_code == 200, response.text
    with pytest.raises(ClientError) as excinfo:
        admin_iam.get_user(UserName=user)
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)
    assert admin_iam.get_group(GroupName=group)["Users"] == []
    with pytest.raises(ClientError) as excinfo:
        iam_client(cloud, key).get_user()
    assert client_error(excinfo)[:2] == ("InvalidClientTokenId", 403)
    # a new user of the same name starts empty
    admin_iam.create_user(UserName=user)
    assert admin_iam.list_user_policies(UserName=user)["PolicyNames"] == []
    assert admin_iam.list_access_keys(UserName=user)["AccessKeyMetadata"] == []


def test_recursive_delete_group_removes_members_and_policies(cloud: Cloud, admin_iam: Any) -> None:
    user, group = unique("stays"), unique("doomed")
    admin_iam.create_user(UserName=user)
    admin_iam.create_group(GroupName=group)
    admin_iam.add_user_to_group(GroupName=group, UserName=user)
    admin_iam.put_group_policy(GroupName=group, PolicyName="p", PolicyDocument=POLICY)
    response = call(
        cloud, cloud.admin_key, "DeleteGroup", {"GroupName": group, "IsRecursive": "true"}
    )
    assert response.status_code == 200, response.text
    assert admin_iam.list_groups_for_user(UserName=user)["Groups"] == []
    admin_iam.create_group(GroupName=group)
    assert admin_iam.list_group_policies(GroupName=group)["PolicyNames"] == []


def test_cloud_admin_user_cannot_be_deleted_even_recursively(cloud: Cloud) -> None:
    response = call(
        cloud, cloud.admin_key, "DeleteUser", {"UserName": "admin", "IsRecursive": "true"}
    )
    assert response.status_code == 409
    assert iam_error(response).code == "DeleteConflict"


@pytest.mark.parametrize(
    "name", ["has space", "slash/name", "x" * 65, "tab\tname", "quote'name", "ünïcode", "newline\n"]
)
def test_bad_user_name_is_validation_error(admin_iam: Any, name: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        admin_iam.create_user(UserName=name)
    assert client_error(excinfo)[:2] == ("ValidationError", 400)


@pytest.mark.parametrize(
    "path",
    ["noslash", "/no-trailing", "missing-leading/", "/sp ace/", "/nl/\n", "/" + "a" * 512 + "/"],
)
def test_bad_path_is_validation_error(admin_iam: Any, path: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        admin_iam.create_user(UserName=unique("pathy"), Path=path)
    assert client_error(excinfo)[:2] == ("ValidationError", 400)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.create_group(GroupName=unique("pathy"), Path=path)
    assert client_error(excinfo)[:2] == ("ValidationError", 400)


def test_bad_new_name_on_update_is_validation_error(admin_iam: Any) -> None:
    user, group = unique("valid"), unique("valid")
    admin_iam.create_user(UserName=user)
    admin_iam.create_group(GroupName=group)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.update_user(UserName=user, NewUserName="bad name")
    assert client_error(excinfo)[:2] == ("ValidationError", 400)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.update_group(GroupName=group, NewPath="bad")
    assert client_error(excinfo)[:2] == ("ValidationError", 400)
    assert admin_iam.get_user(UserName=user)["User"]["Path"] == "/"


@pytest.mark.parametrize("prefix", ["noslash", "/sp ace/", "/tab\t"])
def test_bad_path_prefix_is_validation_error(admin_iam: Any, prefix: str) -> None:
    for verb in (admin_iam.list_users, admin_iam.list_groups):
        with pytest.raises(ClientError) as excinfo:
            verb(PathPrefix=prefix)
        assert client_error(excinfo)[:2] == ("ValidationError", 400)


@pytest.mark.parametrize("change", [{"NewPath": "/moved/"}, {"NewUserName": "root"}])
def test_account_admin_cannot_be_renamed_or_moved(admin_iam: Any, change: dict[str, str]) -> None:
    with pytest.raises(ClientError) as excinfo:
        admin_iam.update_user(UserName="admin", **change)
    assert client_error(excinfo)[:2] == ("DeleteConflict", 409)
    me = admin_iam.get_user()["User"]
    assert (me["UserName"], me["Path"]) == ("admin", "/")
    assert admin_iam.list_users()["Users"]
