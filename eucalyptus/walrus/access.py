"""The one access decision for every S3 request: IAM policies and ACLs together.

As in Eucalyptus 3 (and AWS for accounts without bucket policies):

* the cloud administrator may do anything;
* an anonymous request is allowed only what the ACL grants to AllUsers;
* an explicit Deny in the caller's policies (or its account's) always wins;
* inside the resource owner's account, the account admin or an IAM Allow suffices
  (the ACL is not consulted);
* from another account, the caller must be allowed by its own account (admin or
  IAM Allow) *and* the ACL must grant the permission to its canonical id,
  AuthenticatedUsers or AllUsers.

:data:`PERMISSION_FOR_ACTION` names the ACL permission that grants each ``s3:*``
action; None marks owner-only actions (bucket configuration and the like), which no
ACL grants. Actions in :data:`OBJECT_ACL_ACTIONS` are checked against the object's
ACL, every other against the bucket's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from eucalyptus.clc.identity.access import decide
from eucalyptus.clc.identity.principal import Principal
from eucalyptus.common.errors import AccessDenied
from eucalyptus.common.policy import Decision
from eucalyptus.walrus.acl import Acl, Permission, grants


@dataclass(frozen=True)
class Requester:
    """An authenticated S3 caller: its IAM principal and its S3 identity."""

    principal: Principal
    canonical_id: str
    #: the account name, shown as DisplayName
    display_name: str


#: the ACL permission that grants each action; None: only the owner's account may
PERMISSION_FOR_ACTION: Mapping[str, Permission | None] = MappingProxyType(
    {
        # bucket READ
        "s3:ListBucket": "READ",
        "s3:ListBucketVersions": "READ",
        "s3:ListBucketMultipartUploads": "READ",
        # bucket WRITE (a writer may also follow and abandon its multipart uploads)
        "s3:PutObject": "WRITE",
        "s3:DeleteObject": "WRITE",
        "s3:ListMultipartUploadParts": "WRITE",
        "s3:AbortMultipartUpload": "WRITE",
        # object READ
        "s3:GetObject": "READ",
        "s3:GetObjectVersion": "READ",
        "s3:GetObjectTorrent": "READ",
        # READ_ACP / WRITE_ACP of the bucket or the object
        "s3:GetBucketAcl": "READ_ACP",
        "s3:PutBucketAcl": "WRITE_ACP",
        "s3:GetObjectAcl": "READ_ACP",
        "s3:PutObjectAcl": "WRITE_ACP",
        "s3:GetObjectVersionAcl": "READ_ACP",
        "s3:PutObjectVersionAcl": "WRITE_ACP",
        # owner only (S3 lets bucket WRITE delete versions only for the bucket owner)
        "s3:DeleteObjectVersion": None,
        "s3:CreateBucket": None,
        "s3:DeleteBucket": None,
        "s3:ListAllMyBuckets": None,
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
        "s3:GetBucketPolicy": None,
        "s3:PutBucketPolicy": None,
        "s3:DeleteBucketPolicy": None,
        "s3:GetBucketWebsite": None,
        "s3:PutBucketWebsite": None,
        "s3:DeleteBucketWebsite": None,
        "s3:GetBucketNotification": None,
        "s3:PutBucketNotification": None,
        "s3:GetBucketRequestPayment": None,
        "s3:PutBucketRequestPayment": None,
    }
)

#: the actions whose permission the object's ACL grants (the rest: the bucket's)
OBJECT_ACL_ACTIONS = frozenset(
    {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetObjectTorrent",
        "s3:GetObjectAcl",
        "s3:PutObjectAcl",
        "s3:GetObjectVersionAcl",
        "s3:PutObjectVersionAcl",
    }
)

_NO_CONDITIONS: Mapping[str, list[str]] = MappingProxyType({})


def s3_arn(bucket: str, key: str | None = None) -> str:
    """``arn:aws:s3:::bucket`` or ``arn:aws:s3:::bucket/key``."""
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


def allowed(
    requester: Requester | None,
    *,
    action: str,
    resource_arn: str,
    acl: Acl | None,
    permission: Permission | None,
    owner_account: str,
    conditions: Mapping[str, list[str]] = _NO_CONDITIONS,
) -> bool:
    """Whether the request may proceed; see the module docstring.

    ``acl`` is the ACL of the resource (None: none applies); ``permission`` the one
    that would grant the action (None: owner-only); ``owner_account`` the number of
    the account owning the resource.
    """
    if requester is None:
        if acl is None or permission is None:
            return False
        return permission in grants(acl, canonical_id=None, authenticated=False)
    principal = requester.principal
    if principal.is_cloud_admin:
        return True
    decision = decide(principal, action, resource_arn, conditions)
    if decision is Decision.EXPLICIT_DENY:
        return False
    own_account_allows = principal.is_account_admin or decision is Decision.ALLOW
    if principal.account_number == owner_account:
        return own_account_allows
    if not own_account_allows or acl is None or permission is None:
        return False
    return permission in grants(acl, canonical_id=requester.canonical_id, authenticated=True)


def check_access(
    requester: Requester | None,
    *,
    action: str,
    resource_arn: str,
    acl: Acl | None,
    permission: Permission | None,
    owner_account: str,
    conditions: Mapping[str, list[str]] = _NO_CONDITIONS,
) -> None:
    """Raise AccessDenied unless :func:`allowed` says the request may proceed."""
    if not allowed(
        requester,
        action=action,
        resource_arn=resource_arn,
        acl=acl,
        permission=permission,
        owner_account=owner_account,
        conditions=conditions,
    ):
        raise AccessDenied("Access Denied")
