"""Evaluation of IAM policies: a table of (policies, request) -> exact decision, and quotas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eucalyptus.common.policy import (
    QUOTA_KEYS,
    Decision,
    Policy,
    QuotaLimit,
    RequestContext,
    applying_statements,
    evaluate,
    parse_policy,
    quota_keys,
    quota_limit,
)

ALLOW = Decision.ALLOW
DENY = Decision.EXPLICIT_DENY
IMPLICIT = Decision.IMPLICIT_DENY
USER_ARN = "arn:aws:iam::123456789012:user/division/alice"


def st(effect: str = "Allow", action: Any = "*", resource: Any = "*", **extra: Any) -> dict:
    """A statement; NotAction / NotResource / Condition via keyword arguments."""
    body: dict[str, Any] = {"Effect": effect}
    if "NotAction" not in extra:
        body["Action"] = action
    if "NotResource" not in extra:
        body["Resource"] = resource
    body.update(extra)
    return body


def pol(*statements: dict, version: str | None = "2012-10-17") -> Policy:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return parse_policy(json.dumps(document))


def case(
    case_id: str,
    policies: list[Policy],
    action: str,
    expected: Decision,
    values: dict[str, Any] | None = None,
    resource: str = "*",
) -> Any:
    """One row of the table: the request is (action, resource, condition values)."""
    ctx = RequestContext(action, resource, values or {})
    return pytest.param(policies, ctx, expected, id=case_id)


ALLOW_ALL = pol(st())
RUN = pol(st(action="ec2:RunInstances"))
TERMINATE_DENIED = pol(st("Deny", action="ec2:TerminateInstances"))
DESCRIBE = pol(st(action="ec2:Describe*"))
OBJECTS = pol(st(action="s3:*Object"))
NOT_IAM = pol(st(NotAction="iam:*"))
READ_ONLY_IAM = pol(st("Deny", NotAction=["iam:Get*", "iam:List*"]))
NOT_SECRET = pol(st(action="s3:*", NotResource="arn:aws:s3:::secret/*"))
SELF_ARN = "arn:aws:iam::123456789012:user/${aws:username}"
USER_SELF = pol(st(action="iam:*", resource=SELF_ARN))
USER_SELF_2008 = pol(st(action="iam:*", resource=SELF_ARN), version="2008-10-17")
HOME = pol(st(Condition={"StringLike": {"s3:prefix": "home/${aws:userid}/*"}}))
DENY_INSECURE = pol(st(), st("Deny", Condition={"Bool": {"aws:SecureTransport": "false"}}))
DENY_OUTSIDE = pol(
    st(),
    st("Deny", Condition={"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}),
)
LIMIT_ONLY = pol(
    st(
        "Limit",
        action="ec2:RunInstances",
        Condition={"NumericLessThanEquals": {"ec2:quota-vminstancenumber": "10"}},
    )
)
TWO_KEYS = pol(st(Condition={"StringEquals": {"aws:username": "alice", "s3:prefix": "a"}}))
TWO_OPERATORS = pol(
    st(
        Condition={
            "StringEquals": {"aws:username": "alice"},
            "Bool": {"aws:SecureTransport": "true"},
        }
    )
)
EXPIRY = "2013-06-30T00:00:00Z"
INSTANCE_ARNS = "arn:aws:ec2:*:123456789012:instance/*"
TOPIC = "arn:aws:sns:east:123456789012:topic"
TAGS_AB = ["a", "b"]


def cond(operator: str, key: str, value: Any) -> list[Policy]:
    """One policy allowing everything under one condition."""
    return [pol(st(Condition={operator: {key: value}}))]


def user(name: str) -> str:
    return f"arn:aws:iam::123456789012:user/{name}"


A, D, I = ALLOW, DENY, IMPLICIT  # noqa: E741

# One row per line: id, policies, action, decision, condition values, resource.
# fmt: off
EVALUATION_CASES = [
    # --- effects ---------------------------------------------------------------------------
    case("allow", [RUN], "ec2:RunInstances", A),
    case("implicit-deny-other-action", [RUN], "ec2:StopInstances", I),
    case("implicit-deny-no-policies", [], "ec2:RunInstances", I),
    case("deny-beats-allow-across-policies", [ALLOW_ALL, TERMINATE_DENIED],
         "ec2:TerminateInstances", D),
    case("deny-first-still-wins", [TERMINATE_DENIED, ALLOW_ALL], "ec2:TerminateInstances", D),
    case("deny-elsewhere-allows", [ALLOW_ALL, TERMINATE_DENIED], "ec2:RunInstances", A),
    case("deny-alone-is-not-allow", [TERMINATE_DENIED], "ec2:RunInstances", I),
    case("limit-statement-ignored", [LIMIT_ONLY], "ec2:RunInstances", I),
    # --- actions ---------------------------------------------------------------------------
    case("wildcard-describe-images", [DESCRIBE], "ec2:DescribeImages", A),
    case("wildcard-describe-not-run", [DESCRIBE], "ec2:RunInstances", I),
    case("wildcard-vendor-matters", [DESCRIBE], "iam:DescribeImages", I),
    case("wildcard-infix-get-object", [OBJECTS], "s3:GetObject", A),
    case("wildcard-infix-not-acl", [OBJECTS], "s3:GetBucketAcl", I),
    case("action-case-insensitive", [pol(st(action="EC2:describeinstances"))],
         "ec2:DescribeInstances", A),
    case("action-case-insensitive-upper", [DESCRIBE], "EC2:DESCRIBEVOLUMES", A),
    case("action-question-mark", [pol(st(action="ec2:?escribeImages"))], "ec2:DescribeImages", A),
    case("action-question-mark-one-char", [pol(st(action="ec2:?escribeImages"))],
         "ec2:XXescribeImages", I),
    case("action-list", [pol(st(action=["iam:GetUser", "iam:ListUsers"]))], "iam:ListUsers", A),
    case("not-action-allows-ec2", [NOT_IAM], "ec2:RunInstances", A),
    case("not-action-excludes-iam", [NOT_IAM], "iam:CreateUser", I),
    case("deny-not-action", [ALLOW_ALL, READ_ONLY_IAM], "iam:CreateUser", D),
    case("deny-not-action-spares-listed", [ALLOW_ALL, READ_ONLY_IAM], "iam:GetUser", A),
    # --- resources -------------------------------------------------------------------------
    case("resource-prefix", [pol(st(resource=user("division/*")))], "iam:GetUser", A,
         resource=USER_ARN),
    case("resource-other-path", [pol(st(resource=user("sales/*")))], "iam:GetUser", I,
         resource=USER_ARN),
    case("resource-case-sensitive", [pol(st(resource=user("division/Alice")))], "iam:GetUser", I,
         resource=USER_ARN),
    case("resource-question-mark", [pol(st(resource=user("user?")))], "iam:GetUser", A,
         resource=user("user1")),
    case("resource-question-mark-one-char", [pol(st(resource=user("user?")))], "iam:GetUser", I,
         resource=user("user10")),
    case("specific-resource-vs-star-request", [pol(st(resource="arn:aws:ec2:::instance/*"))],
         "ec2:DescribeInstances", I),
    case("not-resource-other-bucket", [NOT_SECRET], "s3:GetObject", A,
         resource="arn:aws:s3:::public/a.txt"),
    case("not-resource-excluded", [NOT_SECRET], "s3:GetObject", I,
         resource="arn:aws:s3:::secret/a.txt"),
    # --- policy variables ------------------------------------------------------------------
    case("variable-username-self", [USER_SELF], "iam:GetUser", A, {"aws:username": "alice"},
         resource=user("alice")),
    case("variable-username-other", [USER_SELF], "iam:GetUser", I, {"aws:username": "alice"},
         resource=user("bob")),
    case("variable-key-case-insensitive", [USER_SELF], "iam:GetUser", A,
         {"AWS:UserName": "alice"}, resource=user("alice")),
    case("variable-missing-matches-nothing", [USER_SELF], "iam:GetUser", I,
         resource=user("alice")),
    case("variable-value-is-literal", [USER_SELF], "iam:GetUser", I, {"aws:username": "*"},
         resource=user("alice")),
    case("variable-default", [pol(st(resource="arn:aws:s3:::b/${aws:username, 'anon'}/*"))],
         "s3:GetObject", A, resource="arn:aws:s3:::b/anon/x"),
    case("variable-2008-is-literal", [USER_SELF_2008], "iam:GetUser", I,
         {"aws:username": "alice"}, resource=user("alice")),
    case("variable-2008-literal-text", [USER_SELF_2008], "iam:GetUser", A,
         {"aws:username": "alice"}, resource=user("${aws:username}")),
    case("variable-literal-star", [pol(st(resource="arn:aws:s3:::b/${*}"))], "s3:GetObject", A,
         resource="arn:aws:s3:::b/*"),
    case("variable-literal-star-no-wildcard", [pol(st(resource="arn:aws:s3:::b/${*}"))],
         "s3:GetObject", I, resource="arn:aws:s3:::b/x"),
    case("variable-literal-question-dollar", [pol(st(resource="arn:aws:s3:::b/${?}${$}"))],
         "s3:GetObject", A, resource="arn:aws:s3:::b/?$"),
    case("variable-in-condition", [HOME], "s3:ListBucket", A,
         {"aws:userid": "AIDAEXAMPLE", "s3:prefix": "home/AIDAEXAMPLE/docs"}),
    case("variable-in-condition-other-home", [HOME], "s3:ListBucket", I,
         {"aws:userid": "AIDAEXAMPLE", "s3:prefix": "home/AIDAOTHER/docs"}),
    # --- string conditions -----------------------------------------------------------------
    case("string-equals", cond("StringEquals", "aws:username", "alice"), "iam:GetUser", A,
         {"aws:username": "alice"}),
    case("string-equals-case-sensitive", cond("StringEquals", "aws:username", "alice"),
         "iam:GetUser", I, {"aws:username": "Alice"}),
    case("string-equals-values-ored", cond("StringEquals", "aws:username", ["alice", "bob"]),
         "iam:GetUser", A, {"aws:username": "bob"}),
    case("string-equals-missing-key", cond("StringEquals", "aws:username", "alice"),
         "iam:GetUser", I),
    case("condition-key-case-insensitive", cond("StringEquals", "AWS:USERNAME", "alice"),
         "iam:GetUser", A, {"aws:UserName": "alice"}),
    case("string-not-equals", cond("StringNotEquals", "aws:username", "alice"), "iam:GetUser", A,
         {"aws:username": "bob"}),
    case("string-not-equals-same", cond("StringNotEquals", "aws:username", "alice"),
         "iam:GetUser", I, {"aws:username": "alice"}),
    case("string-not-equals-missing-key-false", cond("StringNotEquals", "aws:username", "alice"),
         "iam:GetUser", I),
    case("string-not-equals-multi-none-may-match", cond("StringNotEquals", "aws:TagKeys", "b"),
         "ec2:CreateTags", I, {"aws:TagKeys": TAGS_AB}),
    case("string-equals-ignore-case", cond("StringEqualsIgnoreCase", "aws:username", "ALICE"),
         "iam:GetUser", A, {"aws:username": "alice"}),
    case("string-not-equals-ignore-case",
         cond("StringNotEqualsIgnoreCase", "aws:username", "ALICE"), "iam:GetUser", I,
         {"aws:username": "alice"}),
    case("string-like", cond("StringLike", "s3:prefix", "home/*/docs"), "s3:ListBucket", A,
         {"s3:prefix": "home/alice/docs"}),
    case("string-like-mismatch", cond("StringLike", "s3:prefix", "home/*/docs"),
         "s3:ListBucket", I, {"s3:prefix": "home/alice/pics"}),
    case("string-not-like", cond("StringNotLike", "s3:prefix", "private/*"), "s3:ListBucket", A,
         {"s3:prefix": "public/x"}),
    case("string-not-like-match", cond("StringNotLike", "s3:prefix", "private/*"),
         "s3:ListBucket", I, {"s3:prefix": "private/x"}),
    case("all-keys-must-match", [TWO_KEYS], "s3:ListBucket", I,
         {"aws:username": "alice", "s3:prefix": "b"}),
    case("all-keys-match", [TWO_KEYS], "s3:ListBucket", A,
         {"aws:username": "alice", "s3:prefix": "a"}),
    case("all-operators-must-match", [TWO_OPERATORS], "s3:ListBucket", I,
         {"aws:username": "alice", "aws:SecureTransport": "false"}),
    # --- numeric ---------------------------------------------------------------------------
    case("numeric-less-than", cond("NumericLessThan", "s3:max-keys", "10"), "s3:ListBucket", A,
         {"s3:max-keys": "9"}),
    case("numeric-less-than-boundary", cond("NumericLessThan", "s3:max-keys", 10),
         "s3:ListBucket", I, {"s3:max-keys": "10"}),
    case("numeric-less-than-equals", cond("NumericLessThanEquals", "s3:max-keys", 10),
         "s3:ListBucket", A, {"s3:max-keys": "10"}),
    case("numeric-greater-than", cond("NumericGreaterThan", "s3:max-keys", "10"),
         "s3:ListBucket", I, {"s3:max-keys": "10"}),
    case("numeric-greater-than-equals", cond("NumericGreaterThanEquals", "s3:max-keys", "10"),
         "s3:ListBucket", A, {"s3:max-keys": "10"}),
    case("numeric-equals-decimal", cond("NumericEquals", "s3:max-keys", "10"), "s3:ListBucket",
         A, {"s3:max-keys": "10.0"}),
    case("numeric-not-equals", cond("NumericNotEquals", "s3:max-keys", "10"), "s3:ListBucket",
         A, {"s3:max-keys": "11"}),
    case("numeric-request-not-a-number", cond("NumericLessThan", "s3:max-keys", "10"),
         "s3:ListBucket", I, {"s3:max-keys": "ten"}),
    # --- dates -----------------------------------------------------------------------------
    case("date-less-than-current-time", cond("DateLessThan", "aws:CurrentTime", EXPIRY),
         "ec2:RunInstances", A, {"aws:CurrentTime": "2013-06-29T23:59:59Z"}),
    case("date-less-than-after-expiry", cond("DateLessThan", "aws:CurrentTime", EXPIRY),
         "ec2:RunInstances", I, {"aws:CurrentTime": EXPIRY}),
    case("date-less-than-equals", cond("DateLessThanEquals", "aws:CurrentTime", EXPIRY),
         "ec2:RunInstances", A, {"aws:CurrentTime": EXPIRY}),
    case("date-greater-than-epoch", cond("DateGreaterThan", "aws:CurrentTime", 1372550400),
         "ec2:RunInstances", A, {"aws:CurrentTime": "2013-06-30T00:00:01Z"}),
    case("date-greater-than-equals-epoch-request",
         cond("DateGreaterThanEquals", "aws:CurrentTime", EXPIRY), "ec2:RunInstances", A,
         {"aws:CurrentTime": "1372550400"}),
    case("date-equals-other-zone", cond("DateEquals", "aws:CurrentTime", EXPIRY),
         "ec2:RunInstances", A, {"aws:CurrentTime": "2013-06-30T02:00:00+02:00"}),
    case("date-not-equals-date-only", cond("DateNotEquals", "aws:CurrentTime", "2013-06-30"),
         "ec2:RunInstances", I, {"aws:CurrentTime": EXPIRY}),
    # --- bool, binary ----------------------------------------------------------------------
    case("bool-secure-transport", cond("Bool", "aws:SecureTransport", True), "s3:GetObject", A,
         {"aws:SecureTransport": "true"}),
    case("bool-insecure", cond("Bool", "aws:SecureTransport", "true"), "s3:GetObject", I,
         {"aws:SecureTransport": "false"}),
    case("deny-insecure-transport", [DENY_INSECURE], "s3:GetObject", D,
         {"aws:SecureTransport": "False"}),
    case("deny-insecure-transport-secure", [DENY_INSECURE], "s3:GetObject", A,
         {"aws:SecureTransport": "true"}),
    case("binary-equals", cond("BinaryEquals", "s3:x-amz-meta-k", "QmluYXJ5"), "s3:PutObject",
         A, {"s3:x-amz-meta-k": "QmluYXJ5"}),
    case("binary-differs", cond("BinaryEquals", "s3:x-amz-meta-k", "QmluYXJ5"), "s3:PutObject",
         I, {"s3:x-amz-meta-k": "T3RoZXI="}),
    # --- addresses -------------------------------------------------------------------------
    case("ip-v4-inside", cond("IpAddress", "aws:SourceIp", "10.0.0.0/8"), "ec2:RunInstances", A,
         {"aws:SourceIp": "10.1.2.3"}),
    case("ip-v4-outside", cond("IpAddress", "aws:SourceIp", "10.0.0.0/8"), "ec2:RunInstances",
         I, {"aws:SourceIp": "192.168.1.1"}),
    case("ip-v4-single-address", cond("IpAddress", "aws:SourceIp", "203.0.113.7"),
         "ec2:RunInstances", A, {"aws:SourceIp": "203.0.113.7"}),
    case("ip-v6-inside", cond("IpAddress", "aws:SourceIp", "2001:db8::/32"), "ec2:RunInstances",
         A, {"aws:SourceIp": "2001:db8:1::7"}),
    case("ip-v6-outside", cond("IpAddress", "aws:SourceIp", "2001:db8::/32"),
         "ec2:RunInstances", I, {"aws:SourceIp": "2001:db9::1"}),
    case("ip-v4-against-v6-block", cond("IpAddress", "aws:SourceIp", "::/0"), "ec2:RunInstances",
         I, {"aws:SourceIp": "10.1.2.3"}),
    case("ip-garbage-request", cond("IpAddress", "aws:SourceIp", "0.0.0.0/0"), "ec2:RunInstances",
         I, {"aws:SourceIp": "not-an-ip"}),
    case("not-ip-deny-outside", [DENY_OUTSIDE], "ec2:RunInstances", D,
         {"aws:SourceIp": "192.168.1.1"}),
    case("not-ip-inside-v4", [DENY_OUTSIDE], "ec2:RunInstances", A, {"aws:SourceIp": "10.9.9.9"}),
    case("not-ip-inside-v6", [DENY_OUTSIDE], "ec2:RunInstances", A,
         {"aws:SourceIp": "2001:db8::1"}),
    # --- ARNs ------------------------------------------------------------------------------
    case("arn-like", cond("ArnLike", "aws:SourceArn", INSTANCE_ARNS), "s3:PutObject", A,
         {"aws:SourceArn": "arn:aws:ec2:euca:123456789012:instance/i-1"}),
    case("arn-like-wildcard-stays-in-segment", cond("ArnLike", "aws:SourceArn", INSTANCE_ARNS),
         "s3:PutObject", I, {"aws:SourceArn": "arn:aws:ec2:eu:west:123456789012:instance/i-1"}),
    case("string-like-crosses-segments", cond("StringLike", "aws:SourceArn", INSTANCE_ARNS),
         "s3:PutObject", A, {"aws:SourceArn": "arn:aws:ec2:eu:west:123456789012:instance/i-1"}),
    case("arn-equals", cond("ArnEquals", "aws:SourceArn", TOPIC), "s3:PutObject", A,
         {"aws:SourceArn": TOPIC}),
    case("arn-not-equals", cond("ArnNotEquals", "aws:SourceArn", TOPIC), "s3:PutObject", I,
         {"aws:SourceArn": TOPIC}),
    case("arn-not-like", cond("ArnNotLike", "aws:SourceArn", "arn:aws:sns:*:123456789012:*"),
         "s3:PutObject", A, {"aws:SourceArn": "arn:aws:sns:east:999999999999:topic"}),
    # --- Null, IfExists, set qualifiers ----------------------------------------------------
    case("null-true-absent", cond("Null", "aws:TokenIssueTime", "true"), "ec2:RunInstances", A),
    case("null-true-present", cond("Null", "aws:TokenIssueTime", True), "ec2:RunInstances", I,
         {"aws:TokenIssueTime": EXPIRY}),
    case("null-false-present", cond("Null", "aws:TokenIssueTime", "false"), "ec2:RunInstances",
         A, {"aws:TokenIssueTime": EXPIRY}),
    case("null-false-absent", cond("Null", "aws:TokenIssueTime", "false"), "ec2:RunInstances",
         I),
    case("if-exists-missing", cond("StringEqualsIfExists", "ec2:InstanceType", "m1.small"),
         "ec2:RunInstances", A),
    case("if-exists-present-match",
         cond("StringEqualsIfExists", "ec2:InstanceType", "m1.small"), "ec2:RunInstances", A,
         {"ec2:InstanceType": "m1.small"}),
    case("if-exists-present-mismatch",
         cond("StringEqualsIfExists", "ec2:InstanceType", "m1.small"), "ec2:RunInstances", I,
         {"ec2:InstanceType": "m1.large"}),
    case("numeric-if-exists-missing", cond("NumericLessThanIfExists", "s3:max-keys", 5),
         "s3:ListBucket", A),
    case("ip-if-exists-missing", cond("IpAddressIfExists", "aws:SourceIp", "10.0.0.0/8"),
         "s3:ListBucket", A),
    case("not-ip-if-exists-missing", cond("NotIpAddressIfExists", "aws:SourceIp", "10.0.0.0/8"),
         "s3:ListBucket", A),
    case("for-any-value-one-matches", cond("ForAnyValue:StringEquals", "aws:TagKeys", TAGS_AB),
         "ec2:CreateTags", A, {"aws:TagKeys": ["c", "a"]}),
    case("for-any-value-none-matches", cond("ForAnyValue:StringEquals", "aws:TagKeys", TAGS_AB),
         "ec2:CreateTags", I, {"aws:TagKeys": ["c", "d"]}),
    case("for-any-value-missing", cond("ForAnyValue:StringEquals", "aws:TagKeys", TAGS_AB),
         "ec2:CreateTags", I),
    case("for-all-values-subset", cond("ForAllValues:StringEquals", "aws:TagKeys", TAGS_AB),
         "ec2:CreateTags", A, {"aws:TagKeys": ["b", "a"]}),
    case("for-all-values-extra", cond("ForAllValues:StringEquals", "aws:TagKeys", TAGS_AB),
         "ec2:CreateTags", I, {"aws:TagKeys": ["a", "c"]}),
    case("for-all-values-missing-is-true",
         cond("ForAllValues:StringEquals", "aws:TagKeys", TAGS_AB), "ec2:CreateTags", A),
    case("for-all-values-not-equals",
         cond("ForAllValues:StringNotEquals", "aws:TagKeys", ["secret"]), "ec2:CreateTags", I,
         {"aws:TagKeys": ["a", "secret"]}),
    case("for-all-values-not-equals-none-listed",
         cond("ForAllValues:StringNotEquals", "aws:TagKeys", ["secret"]), "ec2:CreateTags", A,
         {"aws:TagKeys": ["a", "b"]}),
    case("for-any-value-not-equals",
         cond("ForAnyValue:StringNotEquals", "aws:TagKeys", ["secret"]), "ec2:CreateTags", A,
         {"aws:TagKeys": ["a", "secret"]}),
    case("for-any-value-like-if-exists-missing",
         cond("ForAnyValue:StringLikeIfExists", "aws:TagKeys", "team-*"), "ec2:CreateTags", A),
]
# fmt: on


@pytest.mark.parametrize(("policies", "ctx", "expected"), EVALUATION_CASES)
def test_evaluate(policies: list[Policy], ctx: RequestContext, expected: Decision) -> None:
    assert evaluate(policies, ctx) is expected


def test_request_values_normalised() -> None:
    ctx = RequestContext("s3:GetObject", "*", {"AWS:UserName": "alice", "s3:Prefix": ["a", "b"]})
    assert ctx.values == {"aws:username": ("alice",), "s3:prefix": ("a", "b")}


def test_applying_statements_names_the_deny() -> None:
    deny = pol({"Sid": "NoTerminate", **st("Deny", action="ec2:TerminateInstances")})
    found = applying_statements([ALLOW_ALL, deny], RequestContext("ec2:TerminateInstances", "*"))
    assert [statement.sid for statement in found] == [None, "NoTerminate"]


# --- resource policies (Principal) ----------------------------------------------------------


def bucket_policy(principal: Any, element: str = "Principal") -> Policy:
    statement = {
        "Effect": "Allow",
        element: principal,
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
    }
    return parse_policy(json.dumps({"Statement": statement}), resource_policy=True)


@pytest.mark.parametrize(
    ("principal", "element", "caller", "expected"),
    [
        pytest.param("*", "Principal", (), ALLOW, id="star-anonymous"),
        pytest.param({"AWS": "123456789012"}, "Principal", ("123456789012",), ALLOW, id="account"),
        pytest.param(
            {"AWS": ["111122223333"]}, "Principal", ("123456789012",), IMPLICIT, id="other-account"
        ),
        pytest.param(
            {"AWS": USER_ARN},
            "NotPrincipal",
            (USER_ARN, "123456789012"),
            IMPLICIT,
            id="not-principal-excludes",
        ),
        pytest.param(
            {"AWS": USER_ARN}, "NotPrincipal", ("123456789012",), ALLOW, id="not-principal-others"
        ),
    ],
)
def test_resource_policy_principal(
    principal: Any, element: str, caller: tuple[str, ...], expected: Decision
) -> None:
    ctx = RequestContext("s3:GetObject", "arn:aws:s3:::b/key", principals=caller)
    assert evaluate([bucket_policy(principal, element)], ctx) is expected


# --- quotas ---------------------------------------------------------------------------------


def limit(key: str, value: Any, action: Any = "*", sid: str | None = None) -> dict:
    statement = st("Limit", action=action, Condition={"NumericLessThanEquals": {key: value}})
    if sid:
        statement["Sid"] = sid
    return statement


USER_QUOTA = pol(limit("ec2:quota-vminstancenumber", "10", "ec2:RunInstances", "u"))
ACCOUNT_QUOTA = pol(
    limit("ec2:quota-vminstancenumber", 5, "ec2:RunInstances"),
    limit("ec2:quota-volumetotalsize", "100", "ec2:CreateVolume"),
    version="2011-04-01",
)


def test_quota_keys_lists_limits() -> None:
    assert quota_keys(USER_QUOTA) == [
        QuotaLimit("ec2:quota-vminstancenumber", 10, ("ec2:RunInstances",), ("*",), sid="u")
    ]
    assert [(q.key, q.limit) for q in quota_keys(ACCOUNT_QUOTA)] == [
        ("ec2:quota-vminstancenumber", 5),
        ("ec2:quota-volumetotalsize", 100),
    ]
    assert quota_keys(ALLOW_ALL) == []


def test_quota_limit_smallest_wins() -> None:
    assert quota_limit([USER_QUOTA], "ec2:quota-vminstancenumber") == 10
    assert quota_limit([USER_QUOTA, ACCOUNT_QUOTA], "ec2:quota-vminstancenumber") == 5
    assert quota_limit([ACCOUNT_QUOTA, USER_QUOTA], "EC2:Quota-VmInstanceNumber") == 5


def test_quota_limit_action_filter() -> None:
    assert quota_limit([USER_QUOTA], "ec2:quota-vminstancenumber", "ec2:runinstances") == 10
    assert quota_limit([USER_QUOTA], "ec2:quota-vminstancenumber", "ec2:CreateVolume") is None
    assert quota_limit([ACCOUNT_QUOTA], "ec2:quota-volumetotalsize", "ec2:CreateVolume") == 100


def test_quota_limit_resource_filter() -> None:
    scoped = pol(
        st(
            "Limit",
            resource="arn:aws:s3:::b1",
            Condition={"NumericLessThanEquals": {"s3:quota-bucketsize": "1"}},
        )
    )
    assert quota_limit([scoped], "s3:quota-bucketsize", resource="arn:aws:s3:::b1") == 1
    assert quota_limit([scoped], "s3:quota-bucketsize", resource="arn:aws:s3:::b2") is None


def test_quota_unlimited_and_zero() -> None:
    assert quota_limit([ALLOW_ALL], "s3:quota-bucketnumber") is None
    assert quota_limit([], "s3:quota-bucketnumber") is None
    assert quota_limit([pol(limit("s3:quota-bucketnumber", 0))], "s3:quota-bucketnumber") == 0


def test_quota_limit_unknown_key() -> None:
    with pytest.raises(ValueError, match="not a known quota key"):
        quota_limit([USER_QUOTA], "ec2:quota-bogus")


def test_quota_key_set() -> None:
    assert set(QUOTA_KEYS) == {
        "ec2:quota-vminstancenumber",
        "ec2:quota-imagenumber",
        "ec2:quota-volumenumber",
        "ec2:quota-volumetotalsize",
        "ec2:quota-snapshotnumber",
        "ec2:quota-addressnumber",
        "s3:quota-bucketnumber",
        "s3:quota-buckettotalsize",
        "s3:quota-bucketobjectnumber",
        "s3:quota-bucketsize",
        "iam:quota-usernumber",
        "iam:quota-groupnumber",
    }
    assert QUOTA_KEYS["ec2:quota-volumetotalsize"].unit == "GB"
    assert QUOTA_KEYS["s3:quota-bucketsize"].unit == "MB"
    assert QUOTA_KEYS["iam:quota-usernumber"].account_only
