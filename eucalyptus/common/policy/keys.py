"""The Eucalyptus 3 quota keys ("EIAM quotas").

A quota is a Limit statement whose Condition is ``NumericLessThanEquals`` on one of
these keys. The keys, their units and their scope are those listed as "all the quota
keys implemented in Eucalyptus 3" in the Eucalyptus 3 identity-management design
notes, and they agree with the quota constants of the Eucalyptus 3.x
``com.eucalyptus.auth.policy.key.Keys`` class. ``action`` is the request each key is
meant for, as the Eucalyptus management console writes quota statements; it is
advisory (a Limit statement's own Action decides where it applies). Later Eucalyptus
releases added more (``iam:quota-rolenumber``, ...); they are not part of 3.x.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class QuotaKey:
    """A quota key: what it counts, in which unit, and who it may be attached to."""

    name: str
    description: str
    unit: str  # "count", "GB" or "MB"
    action: str
    account_only: bool = False


def _keys(*keys: QuotaKey) -> Mapping[str, QuotaKey]:
    return MappingProxyType({key.name: key for key in keys})


#: every known quota key by its (lower-case) name
QUOTA_KEYS: Mapping[str, QuotaKey] = _keys(
    QuotaKey("ec2:quota-vminstancenumber", "instances", "count", "ec2:RunInstances"),
    QuotaKey("ec2:quota-imagenumber", "registered images", "count", "ec2:RegisterImage"),
    QuotaKey("ec2:quota-volumenumber", "volumes", "count", "ec2:CreateVolume"),
    QuotaKey("ec2:quota-volumetotalsize", "total size of volumes", "GB", "ec2:CreateVolume"),
    QuotaKey("ec2:quota-snapshotnumber", "snapshots", "count", "ec2:CreateSnapshot"),
    QuotaKey("ec2:quota-addressnumber", "elastic IP addresses", "count", "ec2:AllocateAddress"),
    QuotaKey("s3:quota-bucketnumber", "buckets", "count", "s3:CreateBucket"),
    QuotaKey("s3:quota-buckettotalsize", "total size of all buckets", "MB", "s3:PutObject"),
    QuotaKey("s3:quota-bucketobjectnumber", "objects in each bucket", "count", "s3:PutObject"),
    QuotaKey("s3:quota-bucketsize", "size of each bucket", "MB", "s3:PutObject"),
    QuotaKey("iam:quota-usernumber", "users", "count", "iam:CreateUser", account_only=True),
    QuotaKey("iam:quota-groupnumber", "groups", "count", "iam:CreateGroup", account_only=True),
)

#: the only operator a quota key may be used with
QUOTA_OPERATOR = "NumericLessThanEquals"


def quota_key(name: str) -> QuotaKey | None:
    """The quota key called ``name`` (case-insensitive), None when it is not one."""
    return QUOTA_KEYS.get(name.lower())


def looks_like_quota_key(name: str) -> bool:
    """True for any ``vendor:quota-...`` name, known or not."""
    _, _, rest = name.partition(":")
    return rest.lower().startswith("quota-")
