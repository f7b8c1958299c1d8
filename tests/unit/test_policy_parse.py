"""Parsing policy documents: accepted shapes, and each malformation named by its message."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from eucalyptus.common.errors import MalformedPolicyDocument
from eucalyptus.common.policy import Effect, Principal, parse_policy

GOOD = {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}


def doc(*statements: Any, version: str | None = "2012-10-17", **top: Any) -> str:
    body: dict[str, Any] = {"Version": version} if version is not None else {}
    body["Statement"] = list(statements)
    body.update(top)
    return json.dumps(body)


def with_(**changes: Any) -> dict[str, Any]:
    """GOOD with elements replaced; a value of None removes the element."""
    statement = {**GOOD, **changes}
    return {key: value for key, value in statement.items() if value is not None}


def limit(key: str, value: Any, operator: str = "NumericLessThanEquals") -> dict[str, Any]:
    return with_(Effect="Limit", Condition={operator: {key: value}})


def cond(operator: str, key: str, value: Any) -> dict[str, Any]:
    return with_(Condition={operator: {key: value}})


# --- accepted documents -----------------------------------------------------------------------


def test_minimal_statement_object() -> None:
    policy = parse_policy('{"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}')
    assert policy.version is None and policy.id is None
    (statement,) = policy.statements
    assert statement.effect is Effect.DENY
    assert statement.actions == ("*",) and statement.resources == ("*",)
    assert not statement.not_action and not statement.not_resource
    assert statement.conditions == () and statement.principals is None
    assert not statement.variables


def test_full_statement() -> None:
    policy = parse_policy(
        doc(
            {
                "Sid": "s1",
                "Effect": "Allow",
                "NotAction": ["iam:*", "s3:*"],
                "NotResource": "arn:aws:ec2:::instance/*",
                "Condition": {"StringEquals": {"aws:username": ["alice", "bob"]}},
            },
            Id="policy-1",
        )
    )
    assert (policy.version, policy.id) == ("2012-10-17", "policy-1")
    (statement,) = policy.statements
    assert statement.sid == "s1"
    assert statement.not_action and statement.actions == ("iam:*", "s3:*")
    assert statement.not_resource and statement.resources == ("arn:aws:ec2:::instance/*",)
    (condition,) = statement.conditions
    assert (condition.operator.name, condition.key) == ("StringEquals", "aws:username")
    assert condition.values == ("alice", "bob")
    assert statement.variables


def test_condition_values_normalised_to_strings() -> None:
    document = """{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"NumericLessThan": {"s3:max-keys": [10, 1.50, "7"]},
                      "Bool": {"aws:SecureTransport": [true, false]}}}}"""
    numeric, boolean = parse_policy(document).statements[0].conditions
    assert numeric.values == ("10", "1.50", "7")
    assert boolean.values == ("true", "false")


def test_operator_names_canonicalised() -> None:
    policy = parse_policy(doc(cond("forAnyValue:stringlikeIFEXISTS", "aws:TagKeys", "a*")))
    assert policy.statements[0].conditions[0].operator.name == "ForAnyValue:StringLikeIfExists"


@pytest.mark.parametrize(
    ("version", "variables"),
    [
        pytest.param("2012-10-17", True, id="2012"),
        pytest.param("2008-10-17", False, id="2008"),
        pytest.param("2011-04-01", False, id="eucalyptus-3-console"),
        pytest.param(None, False, id="absent"),
    ],
)
def test_versions(version: str | None, variables: bool) -> None:
    policy = parse_policy(doc(GOOD, version=version))
    assert policy.version == version
    assert policy.statements[0].variables is variables


def test_limit_statement_parsed() -> None:
    (statement,) = parse_policy(doc(limit("EC2:Quota-VmInstanceNumber", 10))).statements
    assert statement.effect is Effect.LIMIT
    assert statement.conditions[0].values == ("10",)


def test_length_limit_is_inclusive() -> None:
    text = doc(GOOD)
    assert parse_policy(text, max_length=len(text)).statements


def test_policy_is_immutable() -> None:
    policy = parse_policy(doc(GOOD))
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.statements[0].effect = Effect.DENY  # type: ignore[misc]
    assert isinstance(policy.statements, tuple)
    assert policy == parse_policy(doc(GOOD))


def test_resource_policy_principals() -> None:
    statement = with_(Principal={"AWS": ["123456789012", "arn:aws:iam::1:root"], "Service": "x"})
    (parsed,) = parse_policy(doc(statement), resource_policy=True).statements
    assert parsed.principals == (
        Principal("AWS", "123456789012"),
        Principal("AWS", "arn:aws:iam::1:root"),
        Principal("Service", "x"),
    )
    star = parse_policy(doc(with_(NotPrincipal="*")), resource_policy=True)
    assert star.statements[0].principals == (Principal("*", "*"),)
    assert star.statements[0].not_principal


# --- malformed documents ----------------------------------------------------------------------

QUOTA = "ec2:quota-vminstancenumber"

# (id, document, exact message)
# fmt: off
BAD_DOCUMENTS = [
    # document level
    ("empty", "  ", "Policy document is empty"),
    ("not-an-object", "[]", "Policy document must be a JSON object"),
    ("unknown-top-element", doc(GOOD, Statements=[]),
     "Unknown element 'Statements' in policy document"),
    ("bad-version", doc(GOOD, version="2010-01-01"),
     'Version must be 2012-10-17 or 2008-10-17, not "2010-01-01"'),
    ("numeric-version", '{"Version": 2012, "Statement": []}',
     "Version must be 2012-10-17 or 2008-10-17, not 2012"),
    ("id-not-string", doc(GOOD, Id=7), "Id must be a string"),
    ("no-statement", '{"Version": "2012-10-17"}', "Policy document has no Statement"),
    ("empty-statement-list", doc(), "Statement list must not be empty"),
    ("statement-not-list", '{"Statement": "Allow"}',
     "Statement must be an object or a list of objects"),
    ("statement-not-object", doc(GOOD, "Allow"), "Statement 2 must be a JSON object"),
    ("duplicate-sid", doc(with_(Sid="a"), with_(Sid="b"), with_(Sid="a")),
     "Statement 3: Sid 'a' is already used by statement 1"),
    # JSON syntax
    ("duplicate-element", '{"Statement": {"Effect": "Allow", "Effect": "Deny"}}',
     "Syntax errors in policy: duplicate element 'Effect'"),
    ("nan", '{"Statement": {"Condition": {"NumericEquals": {"a:b": NaN}}}}',
     "Syntax errors in policy: NaN is not valid JSON"),
    # statement elements
    ("unknown-statement-element", doc(with_(Actions="ec2:*")),
     "Statement 1: unknown element 'Actions'"),
    ("sid-not-string", doc(with_(Sid=1)), "Statement 1: Sid must be a string"),
    ("missing-effect", doc(with_(Effect=None)), "Statement 1: Effect is missing"),
    ("bad-effect", doc(GOOD, with_(Effect="allow")),
     "Statement 2: Effect must be Allow, Deny or Limit"),
    ("both-action-and-not-action", doc(with_(NotAction="iam:*")),
     "Statement 1: Action and NotAction cannot both be present"),
    ("neither-action", doc(with_(Action=None)),
     "Statement 1: one of Action or NotAction is required"),
    ("empty-action-list", doc(with_(Action=[])), "Statement 1: Action must not be empty"),
    ("action-not-string", doc(with_(Action=["ec2:*", 3])),
     "Statement 1: Action must be a string or a list of strings"),
    ("action-without-vendor", doc(with_(Action="RunInstances")),
     "Statement 1: Action 'RunInstances' is not valid (expected vendor:Name or *)"),
    ("neither-resource", doc(with_(Resource=None)),
     "Statement 1: one of Resource or NotResource is required"),
    ("both-resource-and-not-resource", doc(with_(NotResource="*")),
     "Statement 1: Resource and NotResource cannot both be present"),
    ("resource-not-arn", doc(with_(Resource="my-bucket")),
     "Statement 1: Resource 'my-bucket' must be * or an ARN "
     "(arn:partition:service:region:account:resource)"),
    ("bad-policy-variable", doc(with_(Resource="arn:aws:s3:::b/${user}")),
     "Statement 1: invalid policy variable '${user}'"),
    ("principal-in-identity-policy", doc(with_(Principal="*")),
     "Statement 1: Principal is not allowed in an identity policy"),
    ("not-principal-in-identity-policy", doc(with_(NotPrincipal={"AWS": "*"})),
     "Statement 1: NotPrincipal is not allowed in an identity policy"),
    # conditions
    ("condition-not-object", doc(with_(Condition=["StringEquals"])),
     "Statement 1: Condition must be a JSON object"),
    ("unknown-operator", doc(cond("StringEqualz", "aws:username", "a")),
     "Statement 1: unknown condition operator 'StringEqualz'"),
    ("unknown-qualifier", doc(cond("ForSomeValues:StringEquals", "aws:username", "a")),
     "Statement 1: unknown condition operator 'ForSomeValues:StringEquals'"),
    ("two-qualifiers", doc(cond("ForAnyValue:ForAllValues:StringEquals", "aws:TagKeys", "a")),
     "Statement 1: unknown condition operator 'ForAnyValue:ForAllValues:StringEquals'"),
    ("null-if-exists", doc(cond("NullIfExists", "aws:username", "true")),
     "Statement 1: condition operator 'NullIfExists': Null takes no IfExists or set qualifier"),
    ("operator-body-not-object", doc(with_(Condition={"StringEquals": "a"})),
     "Statement 1: condition operator StringEquals must map condition keys to values"),
    ("key-without-vendor", doc(cond("StringEquals", "username", "a")),
     "Statement 1: condition key 'username' must be written vendor:name"),
    ("no-condition-values", doc(cond("StringEquals", "aws:username", [])),
     "Statement 1: condition StringEquals 'aws:username' has no values"),
    ("null-condition-value", doc(cond("StringEquals", "aws:username", None)),
     "Statement 1: condition StringEquals 'aws:username': values must be strings, "
     "numbers or booleans"),
    ("bad-number", doc(cond("NumericLessThan", "s3:max-keys", "ten")),
     "Statement 1: condition NumericLessThan 's3:max-keys': 'ten' is not a number"),
    ("bad-date", doc(cond("DateLessThan", "aws:CurrentTime", "June 30")),
     "Statement 1: condition DateLessThan 'aws:CurrentTime': 'June 30' is not a date "
     "(ISO 8601 or epoch seconds)"),
    ("bad-cidr", doc(cond("IpAddress", "aws:SourceIp", "10.0.0.300/8")),
     "Statement 1: condition IpAddress 'aws:SourceIp': '10.0.0.300/8' is not an IP address "
     "or CIDR block"),
    ("bad-bool", doc(cond("Bool", "aws:SecureTransport", "yes")),
     "Statement 1: condition Bool 'aws:SecureTransport': 'yes' is not true or false"),
    ("bad-base64", doc(cond("BinaryEquals", "s3:k", "not base64!")),
     "Statement 1: condition BinaryEquals 's3:k': 'not base64!' is not base64"),
    # quotas
    ("unknown-quota-key", doc(limit("ec2:quota-foonumber", "1")),
     "Statement 1: 'ec2:quota-foonumber' is not a known quota key"),
    ("non-quota-key-in-limit", doc(limit("aws:SourceIp", "1")),
     "Statement 1: 'aws:SourceIp' is not a known quota key"),
    ("quota-wrong-operator", doc(limit(QUOTA, "1", "NumericLessThan")),
     f"Statement 1: quota key '{QUOTA}' takes only NumericLessThanEquals, not NumericLessThan"),
    ("quota-if-exists", doc(limit(QUOTA, "1", "NumericLessThanEqualsIfExists")),
     f"Statement 1: quota key '{QUOTA}' takes only NumericLessThanEquals, "
     "not NumericLessThanEqualsIfExists"),
    ("quota-negative", doc(limit(QUOTA, "-1")),
     f"Statement 1: quota '{QUOTA}' must be a non-negative integer, not '-1'"),
    ("quota-fraction", doc(limit(QUOTA, 1.5)),
     f"Statement 1: quota '{QUOTA}' must be a non-negative integer, not '1.5'"),
    ("quota-text", doc(limit(QUOTA, "ten")),
     f"Statement 1: quota '{QUOTA}' must be a non-negative integer, not 'ten'"),
    ("quota-two-values", doc(limit(QUOTA, ["1", "2"])),
     f"Statement 1: quota '{QUOTA}' must be a non-negative integer, not '['1', '2']'"),
    ("limit-without-condition", doc(with_(Effect="Limit")),
     "Statement 1: a Limit statement needs a NumericLessThanEquals condition on a quota key"),
    ("quota-key-in-allow", doc(cond("NumericLessThanEquals", QUOTA, "1")),
     f"Statement 1: quota key '{QUOTA}' is only allowed in a Limit statement"),
]
# fmt: on


@pytest.mark.parametrize(
    ("document", "message"),
    [pytest.param(document, message, id=name) for name, document, message in BAD_DOCUMENTS],
)
def test_malformed(document: str, message: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse_policy(document)
    assert raised.value.message == message
    assert raised.value.code == "MalformedPolicyDocument"


def test_bad_json_names_line_and_column() -> None:
    document = '{\n  "Statement": [\n    {"Effect": "Allow",, "Action": "*"}\n  ]\n}'
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse_policy(document)
    assert raised.value.message.startswith("Syntax errors in policy: line 3 column 24 (")


def test_too_long() -> None:
    text = doc(GOOD)
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse_policy(text, max_length=len(text) - 1)
    assert raised.value.message == f"Policy document exceeds {len(text) - 1} characters"


def test_limit_refused_when_not_allowed() -> None:
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse_policy(doc(limit(QUOTA, "1")), allow_limit=False)
    assert raised.value.message == "Statement 1: Effect must be Allow or Deny"


def test_resource_policy_requires_principal() -> None:
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse_policy(doc(GOOD), resource_policy=True)
    assert raised.value.message == (
        "Statement 1: exactly one of Principal or NotPrincipal is required in a resource policy"
    )


def test_variables_not_checked_in_old_versions() -> None:
    policy = parse_policy(doc(with_(Resource="arn:aws:s3:::b/${user}"), version="2008-10-17"))
    assert policy.statements[0].resources == ("arn:aws:s3:::b/${user}",)
