"""The IAM JSON policy language: parse, evaluate, and read Eucalyptus quotas.

Pure (no I/O): every EC2, IAM and S3 request is authorised with :func:`evaluate` over
the caller's parsed policies; quota checks read limits with :func:`quota_limit`.
Documents are parsed once with :func:`parse_policy` (which raises
``MalformedPolicyDocument``) and the resulting :class:`Policy` objects are immutable.
"""

from eucalyptus.common.policy.conditions import Condition, Operator, SetQualifier
from eucalyptus.common.policy.document import Effect, Policy, Principal, Statement
from eucalyptus.common.policy.evaluate import (
    Decision,
    RequestContext,
    applying_statements,
    evaluate,
    statement_applies,
)
from eucalyptus.common.policy.keys import QUOTA_KEYS, QuotaKey, quota_key
from eucalyptus.common.policy.parser import parse_policy
from eucalyptus.common.policy.quotas import QuotaLimit, quota_keys, quota_limit

__all__ = [
    "QUOTA_KEYS",
    "Condition",
    "Decision",
    "Effect",
    "Operator",
    "Policy",
    "Principal",
    "QuotaKey",
    "QuotaLimit",
    "RequestContext",
    "SetQualifier",
    "Statement",
    "applying_statements",
    "evaluate",
    "parse_policy",
    "quota_key",
    "quota_keys",
    "quota_limit",
    "statement_applies",
]
