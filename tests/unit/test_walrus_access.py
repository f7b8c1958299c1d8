"""The S3 access decision: IAM policies and ACLs together, as a matrix of cases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eucalyptus.clc.identity.principal import Principal
from eucalyptus.common.errors import AccessDenied
from eucalyptus.common.ids import canonical_user_id
from eucalyptus.common.policy import Policy, parse_policy
from eucalyptus.walrus.access import (
    OBJECT_ACL_ACTIONS,
    PERMISSION_FOR_ACTION,
    Requester,
    allowed,
    check_access,
    s3_arn,
)
from eucalyptus.walrus.acl import (
    ALL_USERS,
    AUTHENTICATED_USERS,
    PERMISSIONS,
    Acl,
    Grant,
    Grantee,
    Permission,
    canned_acl,
)

CLOUD_NUMBER = "000000000001"
OWNER_NUMBER = "111111111111"
OTHER_NUMBER = "222222222222"
OWNER_ID = canonical_user_id(OWNER_NUMBER)
OTHER_ID = canonical_user_id(OTHER_NUMBER)
CLOUD_ID = canonical_user_id(CLOUD_NUMBER)
OBJECT = s3_arn("photos", "2026/cat.jpg")


def policy(*statements: dict[str, Any]) -> Policy:
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def requester(
    account_number: str,
    account_name: str,
    user_name: str = "admin",
    *,
    policies: tuple[Policy, ...] = (),
    account_policies: tuple[Policy, ...] = (),
) -> Requester:
    principal = Principal(
        account_id=int(account_number),
        account_number=account_number,
        account_name=account_name,
        user_id=1,
        user_name=user_name,
        user_path="/",
        user_unique_id="AIDA" + "X" * 17,
        access_key_id="AKI" + "Y" * 17,
        policies=policies,
        account_policies=account_policies,
    )
    return Requester(principal, canonical_user_id(account_number), account_name)


CLOUD_ADMIN = requester(CLOUD_NUMBER, "eucalyptus")
CLOUD_USER = requester(CLOUD_NUMBER, "eucalyptus", "imaging")
OWNER_ADMIN = requester(OWNER_NUMBER, "alice")
OWNER_USER = requester(OWNER_NUMBER, "alice", "bob")
OWNER_READER = requester(
    OWNER_NUMBER,
    "alice",
    "reader",
    policies=(policy(allow("s3:GetObject", "arn:aws:s3:::photos/*")),),
)
OWNER_DENIED = requester(
    OWNER_NUMBER,
    "alice",
    "denied",
    policies=(policy(allow("s3:*"), deny("s3:GetObject", "arn:aws:s3:::photos/2026/*")),),
)
OWNER_ADMIN_LIMITED = requester(
    OWNER_NUMBER, "alice", account_policies=(policy(deny("s3:GetObject")),)
)
OTHER_ADMIN = requester(OTHER_NUMBER, "carol")
OTHER_USER = requester(OTHER_NUMBER, "carol", "dave")
OTHER_READER = requester(OTHER_NUMBER, "carol", "erin", policies=(policy(allow("s3:Get*")),))
OTHER_DENIED = requester(
    OTHER_NUMBER, "carol", "frank", policies=(policy(allow("s3:*"), deny("s3:GetObject")),)
)

IDS = {
    "owner_id": OWNER_ID,
    "owner_name": "alice",
    "cloud_id": CLOUD_ID,
    "cloud_name": "eucalyptus",
}
PRIVATE = canned_acl("private", **IDS)
PUBLIC_READ = canned_acl("public-read", **IDS)
PUBLIC_READ_WRITE = canned_acl("public-read-write", **IDS)
AUTHENTICATED_READ = canned_acl("authenticated-read", **IDS)
EXEC_READ = canned_acl("aws-exec-read", **IDS)
OTHER_READ = Acl(OWNER_ID, "alice", (Grant(Grantee("CanonicalUser", OTHER_ID), "READ"),))
OTHER_FULL = Acl(OWNER_ID, "alice", (Grant(Grantee("CanonicalUser", OTHER_ID), "FULL_CONTROL"),))
OTHER_WRITE = Acl(OWNER_ID, "alice", (Grant(Grantee("CanonicalUser", OTHER_ID), "WRITE"),))


def case(
    case_id: str,
    who: Requester | None,
    acl: Acl | None,
    expected: bool,
    *,
    action: str = "s3:GetObject",
    permission: Permission | None = "READ",
    resource: str = OBJECT,
) -> Any:
    return pytest.param(who, acl, action, permission, resource, expected, id=case_id)


MATRIX = [
    # the cloud administrator may do anything
    case("cloud-admin-private", CLOUD_ADMIN, PRIVATE, True),
    case("cloud-admin-no-acl", CLOUD_ADMIN, None, True),
    case(
        "cloud-admin-owner-only",
        CLOUD_ADMIN,
        PRIVATE,
        True,
        action="s3:PutBucketVersioning",
        permission=None,
    ),
    # another user of the cloud account is just another account
    case("cloud-user-private", CLOUD_USER, PRIVATE, False),
    case("cloud-user-exec-read-no-iam", CLOUD_USER, EXEC_READ, False),
    # same account: account admin or IAM Allow, ACL not needed
    case("owner-admin-private", OWNER_ADMIN, PRIVATE, True),
    case("owner-admin-no-acl", OWNER_ADMIN, None, True),
    case(
        "owner-admin-owner-only",
        OWNER_ADMIN,
        PRIVATE,
        True,
        action="s3:PutBucketVersioning",
        permission=None,
    ),
    case("owner-admin-account-deny", OWNER_ADMIN_LIMITED, PRIVATE, False),
    case(
        "owner-admin-account-deny-other-action",
        OWNER_ADMIN_LIMITED,
        PRIVATE,
        True,
        action="s3:PutObject",
        permission="WRITE",
    ),
    case("owner-user-no-policy", OWNER_USER, PRIVATE, False),
    case("owner-user-no-policy-public", OWNER_USER, PUBLIC_READ, False),
    case("owner-reader-allowed", OWNER_READER, PRIVATE, True),
    case("owner-reader-no-acl", OWNER_READER, None, True),
    case(
        "owner-reader-other-action",
        OWNER_READER,
        PUBLIC_READ_WRITE,
        False,
        action="s3:PutObject",
        permission="WRITE",
    ),
    case(
        "owner-reader-other-bucket", OWNER_READER, PRIVATE, False, resource=s3_arn("music", "x.mp3")
    ),
    case("owner-explicit-deny", OWNER_DENIED, PUBLIC_READ, False),
    case(
        "owner-explicit-deny-elsewhere",
        OWNER_DENIED,
        PRIVATE,
        True,
        resource=s3_arn("photos", "2025/dog.jpg"),
    ),
    # another account: its own allow AND an ACL grant
    case("other-admin-private", OTHER_ADMIN, PRIVATE, False),
    case("other-admin-no-acl", OTHER_ADMIN, None, False),
    case("other-admin-granted", OTHER_ADMIN, OTHER_READ, True),
    case("other-admin-full-control", OTHER_ADMIN, OTHER_FULL, True),
    case(
        "other-admin-full-control-acp",
        OTHER_ADMIN,
        OTHER_FULL,
        True,
        action="s3:PutObjectAcl",
        permission="WRITE_ACP",
    ),
    case("other-admin-wrong-permission", OTHER_ADMIN, OTHER_WRITE, False),
    case(
        "other-admin-write-granted",
        OTHER_ADMIN,
        OTHER_WRITE,
        True,
        action="s3:PutObject",
        permission="WRITE",
        resource=s3_arn("photos"),
    ),
    case(
        "other-admin-owner-only",
        OTHER_ADMIN,
        OTHER_FULL,
        False,
        action="s3:PutBucketVersioning",
        permission=None,
        resource=s3_arn("photos"),
    ),
    case("other-admin-authenticated-read", OTHER_ADMIN, AUTHENTICATED_READ, True),
    case("other-admin-public-read", OTHER_ADMIN, PUBLIC_READ, True),
    case(
        "other-admin-public-read-no-write",
        OTHER_ADMIN,
        PUBLIC_READ,
        False,
        action="s3:PutObject",
        permission="WRITE",
    ),
    case("other-user-granted-no-iam", OTHER_USER, OTHER_READ, False),
    case("other-user-public-no-iam", OTHER_USER, PUBLIC_READ, False),
    case("other-reader-granted", OTHER_READER, OTHER_READ, True),
    case("other-reader-authenticated", OTHER_READER, AUTHENTICATED_READ, True),
    case("other-reader-not-granted", OTHER_READER, PRIVATE, False),
    case(
        "other-reader-iam-only-get",
        OTHER_READER,
        PUBLIC_READ_WRITE,
        False,
        action="s3:PutObject",
        permission="WRITE",
    ),
    case("other-explicit-deny", OTHER_DENIED, OTHER_FULL, False),
    case(
        "other-explicit-deny-other-action",
        OTHER_DENIED,
        OTHER_FULL,
        True,
        action="s3:GetObjectAcl",
        permission="READ_ACP",
    ),
    # anonymous: only what AllUsers is granted
    case("anonymous-public-read", None, PUBLIC_READ, True),
    case(
        "anonymous-public-read-write",
        None,
        PUBLIC_READ_WRITE,
        True,
        action="s3:PutObject",
        permission="WRITE",
    ),
    case(
        "anonymous-public-read-no-write",
        None,
        PUBLIC_READ,
        False,
        action="s3:PutObject",
        permission="WRITE",
    ),
    case(
        "anonymous-public-read-no-acp",
        None,
        PUBLIC_READ,
        False,
        action="s3:GetObjectAcl",
        permission="READ_ACP",
    ),
    case("anonymous-private", None, PRIVATE, False),
    case("anonymous-authenticated-read", None, AUTHENTICATED_READ, False),
    case("anonymous-no-acl", None, None, False),
    case(
        "anonymous-owner-only",
        None,
        PUBLIC_READ_WRITE,
        False,
        action="s3:GetBucketVersioning",
        permission=None,
    ),
]


@pytest.mark.parametrize(("who", "acl", "action", "permission", "resource", "expected"), MATRIX)
def test_access_matrix(
    who: Requester | None,
    acl: Acl | None,
    action: str,
    permission: Permission | None,
    resource: str,
    expected: bool,
) -> None:
    arguments: dict[str, Any] = {
        "action": action,
        "resource_arn": resource,
        "acl": acl,
        "permission": permission,
        "owner_account": OWNER_NUMBER,
    }
    assert allowed(who, **arguments) is expected
    if expected:
        check_access(who, **arguments)
    else:
        with pytest.raises(AccessDenied) as info:
            check_access(who, **arguments)
        assert info.value.message == "Access Denied"
        assert info.value.code_for("s3") == ("AccessDenied", 403)


def test_conditions_reach_the_policies() -> None:
    who = requester(
        OWNER_NUMBER,
        "alice",
        "lan",
        policies=(
            policy(allow("s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
        ),
    )
    arguments: dict[str, Any] = {
        "action": "s3:GetObject",
        "resource_arn": OBJECT,
        "acl": PRIVATE,
        "permission": "READ",
        "owner_account": OWNER_NUMBER,
    }
    check_access(who, conditions={"aws:SourceIp": ["10.1.2.3"]}, **arguments)
    with pytest.raises(AccessDenied):
        check_access(who, conditions={"aws:SourceIp": ["192.168.0.1"]}, **arguments)
    with pytest.raises(AccessDenied):
        check_access(who, **arguments)


def test_s3_arn() -> None:
    assert s3_arn("photos") == "arn:aws:s3:::photos"
    assert s3_arn("photos", "a/b c.jpg") == "arn:aws:s3:::photos/a/b c.jpg"
    assert s3_arn("photos", "") == "arn:aws:s3:::photos/"


REQUIRED_ACTIONS = {
    "s3:ListBucket": "READ",
    "s3:ListBucketVersions": "READ",
    "s3:ListBucketMultipartUploads": "READ",
    "s3:GetObject": "READ",
    "s3:GetObjectVersion": "READ",
    "s3:PutObject": "WRITE",
    "s3:DeleteObject": "WRITE",
    "s3:GetBucketAcl": "READ_ACP",
    "s3:PutBucketAcl": "WRITE_ACP",
    "s3:GetObjectAcl": "READ_ACP",
    "s3:PutObjectAcl": "WRITE_ACP",
    "s3:GetObjectVersionAcl": "READ_ACP",
    "s3:PutObjectVersionAcl": "WRITE_ACP",
    "s3:GetBucketLocation": None,
    "s3:GetBucketVersioning": None,
    "s3:PutBucketVersioning": None,
    "s3:GetBucketLogging": None,
    "s3:PutBucketLogging": None,
    "s3:GetBucketTagging": None,
    "s3:PutBucketTagging": None,
    "s3:GetBucketCORS": None,
    "s3:PutBucketCORS": None,
    "s3:GetLifecycleConfiguration": None,
    "s3:PutLifecycleConfiguration": None,
    "s3:CreateBucket": None,
    "s3:DeleteBucket": None,
    "s3:ListAllMyBuckets": None,
}


def test_permission_for_action() -> None:
    for action, permission in REQUIRED_ACTIONS.items():
        assert PERMISSION_FOR_ACTION[action] == permission, action
    for action in (
        "s3:DeleteObjectVersion",
        "s3:ListMultipartUploadParts",
        "s3:AbortMultipartUpload",
    ):
        assert action in PERMISSION_FOR_ACTION
    assert all(p is None or p in PERMISSIONS for p in PERMISSION_FOR_ACTION.values())
    assert "FULL_CONTROL" not in PERMISSION_FOR_ACTION.values()
    assert set(PERMISSION_FOR_ACTION) >= OBJECT_ACL_ACTIONS
    assert "s3:PutObject" not in OBJECT_ACL_ACTIONS
    assert "s3:GetObject" in OBJECT_ACL_ACTIONS


def test_all_users_grant_does_not_let_policy_less_users_of_other_accounts_in() -> None:
    everyone = Acl(OWNER_ID, "alice", (Grant(Grantee("Group", ALL_USERS), "FULL_CONTROL"),))
    authenticated = Acl(OWNER_ID, "alice", (Grant(Grantee("Group", AUTHENTICATED_USERS), "WRITE"),))
    for acl, permission in ((everyone, "READ_ACP"), (authenticated, "WRITE")):
        arguments: dict[str, Any] = {
            "action": "s3:PutObject",
            "resource_arn": s3_arn("photos"),
            "acl": acl,
            "permission": permission,
            "owner_account": OWNER_NUMBER,
        }
        assert allowed(OTHER_USER, **arguments) is False
        assert allowed(OTHER_ADMIN, **arguments) is True
