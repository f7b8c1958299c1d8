"""Inline policies, accounts, and who may do what (the Euare authorisation rules)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.exceptions import ClientError

from tests.integration.euare import (
    IAM_NS,
    Key,
    account_admin_key,
    call,
    client_error,
    create_account,
    iam_client,
    iam_error,
    iam_result,
    unique,
    user_key,
)
from tests.support import Cloud

DESCRIBE_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}],
}


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@dataclass(frozen=True)
class Tenant:
    name: str
    number: str
    key: Key
    iam: Any


def _new_tenant(cloud: Cloud) -> Tenant:
    name = unique("tenant")
    number = create_account(cloud, name)
    key = account_admin_key(cloud, name)
    return Tenant(name, number, key, iam_client(cloud, key))


@pytest.fixture(scope="module")
def tenant(cloud: Cloud) -> Iterator[Tenant]:
    yield _new_tenant(cloud)


def _user_in(tenant: Tenant, cloud: Cloud, *, groups: tuple[str, ...] = ()) -> tuple[str, Any]:
    user = unique("user")
    tenant.iam.create_user(UserName=user)
    for group in groups:
        tenant.iam.add_user_to_group(GroupName=group, UserName=user)
    return user, iam_client(cloud, user_key(tenant.iam, user))


def _denied(verb: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as excinfo:
        verb(**kwargs)
    code, status, message = client_error(excinfo)
    assert (code, status) == ("AccessDenied", 403), message
    return message


# --- documents ---------------------------------------------------------------------------------


def test_user_policy_put_get_list_delete_round_trip(admin_iam: Any) -> None:
    user = unique("pol")
    admin_iam.create_user(UserName=user)
    admin_iam.put_user_policy(
        UserName=user, PolicyName="b-describe", PolicyDocument=json.dumps(DESCRIBE_ONLY)
    )
    admin_iam.put_user_policy(
        UserName=user, PolicyName="a-other", PolicyDocument=json.dumps(DESCRIBE_ONLY)
    )
    got = admin_iam.get_user_policy(UserName=user, PolicyName="b-describe")
    assert (got["UserName"], got["PolicyName"]) == (user, "b-describe")
    assert got["PolicyDocument"] == DESCRIBE_ONLY
    assert admin_iam.list_user_policies(UserName=user)["PolicyNames"] == ["a-other", "b-describe"]
    replaced = {**DESCRIBE_ONLY, "Statement": [{**DESCRIBE_ONLY["Statement"][0], "Effect": "Deny"}]}
    admin_iam.put_user_policy(
        UserName=user, PolicyName="b-describe", PolicyDocument=json.dumps(replaced)
    )
    got = admin_iam.get_user_policy(UserName=user, PolicyName="b-describe")
    assert got["PolicyDocument"] == replaced
    admin_iam.delete_user_policy(UserName=user, PolicyName="b-describe")
    assert admin_iam.list_user_policies(UserName=user)["PolicyNames"] == ["a-other"]
    with pytest.raises(ClientError) as excinfo:
        admin_iam.get_user_policy(UserName=user, PolicyName="b-describe")
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


def test_group_policy_put_get_list_delete_round_trip(admin_iam: Any) -> None:
    group = unique("pol")
    admin_iam.create_group(GroupName=group)
    text = json.dumps(
        {"Statement": {"Effect": "Allow", "Action": ["ec2:Describe*", "s3:Get*"], "Resource": "*"}}
    )
    admin_iam.put_group_policy(GroupName=group, PolicyName="read", PolicyDocument=text)
    got = admin_iam.get_group_policy(GroupName=group, PolicyName="read")
    assert (got["GroupName"], got["PolicyDocument"]) == (group, json.loads(text))
    assert admin_iam.list_group_policies(GroupName=group)["PolicyNames"] == ["read"]
    admin_iam.delete_group_policy(GroupName=group, PolicyName="read")
    assert admin_iam.list_group_policies(GroupName=group)["PolicyNames"] == []
    with pytest.raises(ClientError) as excinfo:
        admin_iam.delete_group_policy(GroupName=group, PolicyName="read")
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


def test_get_user_policy_sends_the_stored_text_url_encoded(cloud: Cloud, admin_iam: Any) -> None:
    user = unique("raw")
    text = '{"Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}'
    admin_iam.create_user(UserName=user)
    admin_iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=text)
    result = iam_result(
        call(cloud, cloud.admin_key, "GetUserPolicy", {"UserName": user, "PolicyName": "p"})
    )
    sent = result.findtext("i:PolicyDocument", namespaces=IAM_NS)
    assert sent is not None
    assert sent.startswith("%7B")
    assert unquote(sent) == text


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ('{"Statement": [', "Syntax"),
        ('{"Statement": [{"Effect": "Permit", "Action": "ec2:*", "Resource": "*"}]}', "Effect"),
        ('{"Statement": [{"Action": "ec2:*", "Resource": "*"}]}', "Effect"),
        ('{"Version": "2012-10-17"}', "Statement"),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "RunInstances", "Resource": "*"}]}',
            "Action",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "vol-1"}]}',
            "Resource",
        ),
        ('["Statement"]', "object"),
    ],
)
def test_bad_policy_is_malformed_naming_the_problem(
    admin_iam: Any, document: str, named: str
) -> None:
    user = unique("bad")
    admin_iam.create_user(UserName=user)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=document)
    code, status, message = client_error(excinfo)
    assert (code, status) == ("MalformedPolicyDocument", 400)
    assert named in message
    assert admin_iam.list_user_policies(UserName=user)["PolicyNames"] == []


def test_bad_policy_name_is_validation_error(admin_iam: Any) -> None:
    user = unique("bad")
    admin_iam.create_user(UserName=user)
    with pytest.raises(ClientError) as excinfo:
        admin_iam.put_user_policy(
            UserName=user, PolicyName="no spaces", PolicyDocument=json.dumps(DESCRIBE_ONLY)
        )
    assert client_error(excinfo)[:2] == ("ValidationError", 400)


def test_policy_of_missing_user_is_no_such_entity(admin_iam: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        admin_iam.put_user_policy(
            UserName=unique("ghost"), PolicyName="p", PolicyDocument=json.dumps(DESCRIBE_ONLY)
        )
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


# --- accounts and the done-when scenario -------------------------------------------------------


def test_created_account_is_listed_and_its_admin_acts_in_it(cloud: Cloud, tenant: Tenant) -> None:
    result = iam_result(call(cloud, cloud.admin_key, "ListAccounts"))
    listed = {
        member.findtext("i:AccountName", namespaces=IAM_NS): member.findtext(
            "i:AccountId", namespaces=IAM_NS
        )
        for member in result.iterfind("i:Accounts/i:member", IAM_NS)
    }
    assert listed[tenant.name] == tenant.number
    assert listed["eucalyptus"]
    me = tenant.iam.get_user()["User"]
    assert me["UserName"] == "admin"
    assert me["Arn"] == f"arn:aws:iam::{tenant.number}:user/admin"


def test_existing_account_name_is_entity_already_exists(cloud: Cloud, tenant: Tenant) -> None:
    response = call(cloud, cloud.admin_key, "CreateAccount", {"AccountName": tenant.name})
    assert response.status_code == 409
    assert iam_error(response).code == "EntityAlreadyExists"


def test_account_name_cannot_be_another_accounts_number(cloud: Cloud, tenant: Tenant) -> None:
    response = call(cloud, cloud.admin_key, "CreateAccount", {"AccountName": tenant.number})
    assert (response.status_code, iam_error(response).code) == (409, "EntityAlreadyExists")
    other = _new_tenant(cloud)
    response = call(cloud, other.key, "CreateAccountAlias", {"AccountAlias": tenant.number})
    assert (response.status_code, iam_error(response).code) == (409, "EntityAlreadyExists")
    assert other.iam.list_account_aliases()["AccountAliases"] == [other.name]
    # an account may take back its own number as its name
    response = call(cloud, other.key, "DeleteAccountAlias", {"AccountAlias": other.name})
    assert response.status_code == 200, response.text
    assert other.iam.list_account_aliases()["AccountAliases"] == []


def test_describe_only_group_member_cannot_use_iam(cloud: Cloud, tenant: Tenant) -> None:
    group = unique("viewers")
    tenant.iam.create_group(GroupName=group)
    tenant.iam.put_group_policy(
        GroupName=group, PolicyName="describe", PolicyDocument=json.dumps(DESCRIBE_ONLY)
    )
    user, iam = _user_in(tenant, cloud, groups=(group,))
    assert [u["UserName"] for u in tenant.iam.get_group(GroupName=group)["Users"]] == [user]
    message = _denied(iam.list_users)
    assert f"arn:aws:iam::{tenant.number}:user/{user}" in message
    assert "iam:ListUsers" in message
    intruder = unique("intruder")
    _denied(iam.create_user, UserName=intruder)
    with pytest.raises(ClientError) as excinfo:
        tenant.iam.get_user(UserName=intruder)
    assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)


def test_explicit_user_deny_beats_group_allow(cloud: Cloud, tenant: Tenant) -> None:
    group = unique("admins")
    tenant.iam.create_group(GroupName=group)
    tenant.iam.put_group_policy(
        GroupName=group,
        PolicyName="all-iam",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}),
    )
    user, iam = _user_in(tenant, cloud, groups=(group,))
    assert any(u["UserName"] == user for u in iam.list_users()["Users"])
    made = unique("allowed")
    iam.create_user(UserName=made)
    tenant.iam.put_user_policy(
        UserName=user,
        PolicyName="no-create",
        PolicyDocument=_doc({"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}),
    )
    _denied(iam.create_user, UserName=unique("refused"))
    assert any(u["UserName"] == made for u in iam.list_users()["Users"])


def test_leaving_a_group_drops_its_permissions_at_once(cloud: Cloud, tenant: Tenant) -> None:
    group = unique("listers")
    tenant.iam.create_group(GroupName=group)
    tenant.iam.put_group_policy(
        GroupName=group,
        PolicyName="list",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}),
    )
    user, iam = _user_in(tenant, cloud, groups=(group,))
    assert iam.list_users()["Users"]
    tenant.iam.remove_user_from_group(GroupName=group, UserName=user)
    _denied(iam.list_users)
    tenant.iam.add_user_to_group(GroupName=group, UserName=user)
    assert iam.list_users()["Users"]
    tenant.iam.delete_group_policy(GroupName=group, PolicyName="list")
    _denied(iam.list_users)


def test_username_variable_lets_a_user_manage_only_its_own_keys(
    cloud: Cloud, tenant: Tenant
) -> None:
    self_only = _doc(
        {
            "Effect": "Allow",
            "Action": "iam:*",
            "Resource": f"arn:aws:iam::{tenant.number}:user/${{aws:username}}",
        }
    )
    other, _ = _user_in(tenant, cloud)
    user, iam = _user_in(tenant, cloud)
    tenant.iam.put_user_policy(UserName=user, PolicyName="self", PolicyDocument=self_only)
    second = iam.create_access_key()["AccessKey"]
    assert second["UserName"] == user
    assert len(iam.list_access_keys()["AccessKeyMetadata"]) == 2
    iam.update_access_key(AccessKeyId=second["AccessKeyId"], Status="Inactive")
    iam.delete_access_key(UserName=user, AccessKeyId=second["AccessKeyId"])
    assert len(iam.list_access_keys(UserName=user)["AccessKeyMetadata"]) == 1
    other_key = tenant.iam.list_access_keys(UserName=other)["AccessKeyMetadata"][0]["AccessKeyId"]
    _denied(iam.create_access_key, UserName=other)
    _denied(iam.list_access_keys, UserName=other)
    _denied(iam.update_access_key, UserName=other, AccessKeyId=other_key, Status="Inactive")
    _denied(iam.delete_access_key, UserName=other, AccessKeyId=other_key)
    _denied(iam.list_users)
    assert tenant.iam.list_access_keys(UserName=other)["AccessKeyMetadata"][0]["Status"] == "Active"


def test_account_admin_cannot_see_or_touch_another_accounts_users(
    cloud: Cloud, admin_iam: Any, tenant: Tenant
) -> None:
    stranger = unique("stranger")
    admin_iam.create_user(UserName=stranger)
    assert stranger not in [u["UserName"] for u in tenant.iam.list_users()["Users"]]
    for verb, kwargs in (
        (tenant.iam.get_user, {"UserName": stranger}),
        (tenant.iam.delete_user, {"UserName": stranger}),
        (tenant.iam.create_access_key, {"UserName": stranger}),
        (
            tenant.iam.put_user_policy,
            {"UserName": stranger, "PolicyName": "p", "PolicyDocument": json.dumps(DESCRIBE_ONLY)},
        ),
    ):
        with pytest.raises(ClientError) as excinfo:
            verb(**kwargs)
        assert client_error(excinfo)[:2] == ("NoSuchEntity", 404)
    for action in ("CreateAccessKey", "GetUser", "ListUsers"):
        response = call(
            cloud, tenant.key, action, {"DelegateAccount": "eucalyptus", "UserName": stranger}
        )
        assert (response.status_code, iam_error(response).code) == (403, "AccessDenied")
    assert admin_iam.list_access_keys(UserName=stranger)["AccessKeyMetadata"] == []
    assert admin_iam.list_user_policies(UserName=stranger)["PolicyNames"] == []


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("ListAccounts", {}),
        ("CreateAccount", {"AccountName": "not-allowed"}),
        ("DeleteAccount", {"AccountName": "eucalyptus"}),
        (
            "PutAccountPolicy",
            {
                "AccountName": "eucalyptus",
                "PolicyName": "p",
                "PolicyDocument": json.dumps(DESCRIBE_ONLY),
            },
        ),
    ],
)
def test_cloud_admin_actions_are_refused_to_others(
    cloud: Cloud, admin_iam: Any, tenant: Tenant, action: str, params: dict[str, str]
) -> None:
    # an account admin, and a user of the eucalyptus account allowed everything
    power = unique("power")
    admin_iam.create_user(UserName=power)
    admin_iam.put_user_policy(
        UserName=power,
        PolicyName="all",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    )
    for key in (tenant.key, user_key(admin_iam, power)):
        response = call(cloud, key, action, params)
        assert (response.status_code, iam_error(response).code) == (403, "AccessDenied")
    result = iam_result(call(cloud, cloud.admin_key, "ListAccounts"))
    names = [
        m.findtext("i:AccountName", namespaces=IAM_NS)
        for m in result.iterfind("i:Accounts/i:member", IAM_NS)
    ]
    assert "not-allowed" not in names


def test_account_policy_deny_binds_even_the_account_admin(cloud: Cloud) -> None:
    tenant = _new_tenant(cloud)
    deny = _doc({"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"})
    put = {"AccountName": tenant.name, "PolicyName": "no-users", "PolicyDocument": deny}
    response = call(cloud, tenant.key, "PutAccountPolicy", put)
    assert (response.status_code, iam_error(response).code) == (403, "AccessDenied")
    tenant.iam.create_user(UserName=unique("before"))
    assert call(cloud, cloud.admin_key, "PutAccountPolicy", put).status_code == 200
    _denied(tenant.iam.create_user, UserName=unique("after"))
    tenant.iam.create_group(GroupName=unique("still-fine"))
    listed = iam_result(
        call(cloud, cloud.admin_key, "ListAccountPolicies", {"AccountName": tenant.name})
    )
    assert [m.text for m in listed.iterfind("i:PolicyNames/i:member", IAM_NS)] == ["no-users"]
    response = call(
        cloud,
        cloud.admin_key,
        "DeleteAccountPolicy",
        {"AccountName": tenant.name, "PolicyName": "no-users"},
    )
    assert response.status_code == 200, response.text
    tenant.iam.create_user(UserName=unique("again"))


def test_limit_statements_are_accepted_in_account_policies(cloud: Cloud, tenant: Tenant) -> None:
    quota = _doc(
        {
            "Effect": "Limit",
            "Action": "ec2:RunInstances",
            "Resource": "*",
            "Condition": {"NumericLessThanEquals": {"ec2:quota-vminstancenumber": "5"}},
        },
        {
            "Effect": "Limit",
            "Action": "iam:CreateUser",
            "Resource": "*",
            "Condition": {"NumericLessThanEquals": {"iam:quota-usernumber": "100"}},
        },
    )
    put = {"AccountName": tenant.name, "PolicyName": "quota", "PolicyDocument": quota}
    response = call(cloud, cloud.admin_key, "PutAccountPolicy", put)
    assert response.status_code == 200, response.text
    got = iam_result(
        call(
            cloud,
            cloud.admin_key,
            "GetAccountPolicy",
            {"AccountName": tenant.name, "PolicyName": "quota"},
        )
    )
    assert json.loads(
        unquote(got.findtext("i:PolicyDocument", namespaces=IAM_NS) or "")
    ) == json.loads(quota)
    bad = quota.replace("ec2:quota-vminstancenumber", "ec2:quota-nonsense")
    response = call(cloud, cloud.admin_key, "PutAccountPolicy", {**put, "PolicyDocument": bad})
    assert response.status_code == 400
    error = iam_error(response)
    assert error.code == "MalformedPolicyDocument"
    assert "quota-nonsense" in error.message


def test_delete_account_refuses_while_it_has_users_unless_recursive(cloud: Cloud) -> None:
    tenant = _new_tenant(cloud)
    tenant.iam.create_user(UserName=unique("resident"))
    response = call(cloud, cloud.admin_key, "DeleteAccount", {"AccountName": tenant.name})
    assert (response.status_code, iam_error(response).code) == (409, "DeleteConflict")
    response = call(
        cloud, cloud.admin_key, "DeleteAccount", {"AccountName": tenant.name, "Recursive": "true"}
    )
    assert response.status_code == 200, response.text
    with pytest.raises(ClientError) as excinfo:
        tenant.iam.get_user()
    assert client_error(excinfo)[:2] == ("InvalidClientTokenId", 403)
    response = call(cloud, cloud.admin_key, "DeleteAccount", {"AccountName": tenant.name})
    assert (response.status_code, iam_error(response).code) == (404, "NoSuchEntity")
