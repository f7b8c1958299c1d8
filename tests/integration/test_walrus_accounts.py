"""Walrus with several accounts: ACLs across accounts, IAM users, quotas, key deactivation.

Accounts are made with the IAM API of the running CLC (CreateAccount and DelegateAccount
as the cloud administrator, see :mod:`tests.integration.euare`); their keys reach Walrus
only through its identity lookups at the CLC (cached for 5 s). None of the accounts here
is the cloud's own ``eucalyptus`` account, whose admin may do anything.

The module's Walrus allows :data:`MAX_BUCKETS` buckets per account
(``WALRUS_STORAGEMAXBUCKETSPERACCOUNT``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from tests.integration.euare import (
    account_admin_key,
    call,
    create_account,
    iam_client,
    unique,
    user_key,
)
from tests.support import Cloud, Walrus, s3_client

pytestmark = pytest.mark.timeout(120)

MAX_BUCKETS = 8
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


@pytest.fixture(scope="module")
def walrus(cloud: Cloud) -> Iterator[Walrus]:
    running = Walrus(cloud, extra_conf={"WALRUS_STORAGEMAXBUCKETSPERACCOUNT": str(MAX_BUCKETS)})
    try:
        running.start()
        yield running
    finally:
        running.close()


@dataclass(frozen=True)
class Account:
    name: str
    number: str
    key: tuple[str, str]
    iam: Any
    s3: Any

    @property
    def canonical_id(self) -> str:
        return str(self.s3.list_buckets()["Owner"]["ID"])


def new_account(cloud: Cloud, walrus: Walrus, prefix: str) -> Account:
    name = unique(prefix)
    number = create_account(cloud, name)
    key = account_admin_key(cloud, name)
    return Account(name, number, key, iam_client(cloud, key), s3_client(walrus.service_url, key))


@pytest.fixture(scope="module")
def alice(cloud: Cloud, walrus: Walrus) -> Account:
    return new_account(cloud, walrus, "alice")


@pytest.fixture(scope="module")
def bob(cloud: Cloud, walrus: Walrus) -> Account:
    return new_account(cloud, walrus, "bob")


def error_of(verb: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as excinfo:
        verb(**kwargs)
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def denied(verb: Any, **kwargs: Any) -> None:
    assert error_of(verb, **kwargs) == ("AccessDenied", 403)


def test_private_bucket_is_closed_to_other_accounts_until_granted(
    alice: Account, bob: Account
) -> None:
    alice.s3.create_bucket(Bucket="alice-private")
    alice.s3.put_object(Bucket="alice-private", Key="secret", Body=b"alice's")
    denied(bob.s3.list_objects_v2, Bucket="alice-private")
    denied(bob.s3.get_object, Bucket="alice-private", Key="secret")
    assert error_of(bob.s3.head_object, Bucket="alice-private", Key="secret")[1] == 403
    denied(bob.s3.get_bucket_acl, Bucket="alice-private")
    denied(bob.s3.put_object, Bucket="alice-private", Key="intruder", Body=b"x")
    denied(bob.s3.delete_object, Bucket="alice-private", Key="secret")

    bob_id = bob.canonical_id
    alice_id = alice.canonical_id
    assert bob_id != alice_id
    policy = alice.s3.get_bucket_acl(Bucket="alice-private")
    policy.pop("ResponseMetadata")
    policy["Grants"].append(
        {"Grantee": {"Type": "CanonicalUser", "ID": bob_id}, "Permission": "READ"}
    )
    alice.s3.put_bucket_acl(Bucket="alice-private", AccessControlPolicy=policy)
    listed = bob.s3.list_objects_v2(Bucket="alice-private")
    assert [o["Key"] for o in listed["Contents"]] == ["secret"]
    denied(bob.s3.get_object, Bucket="alice-private", Key="secret")  # the object's ACL rules
    denied(bob.s3.put_object, Bucket="alice-private", Key="intruder", Body=b"x")

    alice.s3.put_object_acl(Bucket="alice-private", Key="secret", GrantRead=f"id={bob_id}")
    got = alice.s3.get_object_acl(Bucket="alice-private", Key="secret")
    assert {(g["Grantee"].get("ID"), g["Permission"]) for g in got["Grants"]} == {(bob_id, "READ")}
    assert got["Owner"]["ID"] == alice_id
    assert bob.s3.get_object(Bucket="alice-private", Key="secret")["Body"].read() == b"alice's"
    denied(bob.s3.get_object_acl, Bucket="alice-private", Key="secret")
    denied(bob.s3.put_object_acl, Bucket="alice-private", Key="secret", ACL="public-read")
    denied(bob.s3.delete_bucket, Bucket="alice-private")


def test_canned_acls_across_accounts(alice: Account, bob: Account, walrus: Walrus) -> None:
    alice.s3.create_bucket(Bucket="alice-canned")
    alice.s3.put_object(Bucket="alice-canned", Key="public", Body=b"for all", ACL="public-read")
    alice.s3.put_object(
        Bucket="alice-canned", Key="members", Body=b"for the signed", ACL="authenticated-read"
    )
    anonymous = requests.get(f"{walrus.service_url}/alice-canned/public", timeout=10)
    assert (anonymous.status_code, anonymous.content) == (200, b"for all")
    assert bob.s3.get_object(Bucket="alice-canned", Key="public")["Body"].read() == b"for all"
    members = bob.s3.get_object(Bucket="alice-canned", Key="members")["Body"].read()
    assert members == b"for the signed"
    anonymous = requests.get(f"{walrus.service_url}/alice-canned/members", timeout=10)
    assert anonymous.status_code == 403
    assert b"<Code>AccessDenied</Code>" in anonymous.content
    assert requests.get(f"{walrus.service_url}/alice-canned", timeout=10).status_code == 403

    alice.s3.create_bucket(Bucket="alice-dropbox", ACL="public-read-write")
    bob.s3.put_object(Bucket="alice-dropbox", Key="from-bob", Body=b"bob was here")
    listed = alice.s3.list_objects(Bucket="alice-dropbox")
    assert [(o["Key"], o["Owner"]["ID"]) for o in listed["Contents"]] == [
        ("from-bob", bob.canonical_id)
    ]
    assert bob.s3.get_object(Bucket="alice-dropbox", Key="from-bob")["Body"].read()
    anonymous = requests.put(
        f"{walrus.service_url}/alice-dropbox/anonymous", data=b"anon", timeout=10
    )
    assert anonymous.status_code == 200, anonymous.text
    denied(alice.s3.get_object, Bucket="alice-dropbox", Key="from-bob")  # bob's object
    bob.s3.put_object(
        Bucket="alice-dropbox", Key="for-alice", Body=b"yours", ACL="bucket-owner-full-control"
    )
    assert alice.s3.get_object(Bucket="alice-dropbox", Key="for-alice")["Body"].read() == b"yours"
    alice.s3.delete_object(Bucket="alice-dropbox", Key="from-bob")  # bucket WRITE
    denied(bob.s3.delete_bucket, Bucket="alice-dropbox")
    denied(bob.s3.put_bucket_acl, Bucket="alice-dropbox", ACL="private")


def test_bucket_names_are_global_and_listings_private(alice: Account, bob: Account) -> None:
    alice.s3.create_bucket(Bucket="alice-named")
    assert error_of(bob.s3.create_bucket, Bucket="alice-named") == ("BucketAlreadyExists", 409)
    assert error_of(alice.s3.create_bucket, Bucket="alice-named") == (
        "BucketAlreadyOwnedByYou",
        409,
    )
    bob.s3.create_bucket(Bucket="bob-own")
    alice_buckets = {b["Name"] for b in alice.s3.list_buckets()["Buckets"]}
    bob_buckets = {b["Name"] for b in bob.s3.list_buckets()["Buckets"]}
    assert "alice-named" in alice_buckets and "bob-own" not in alice_buckets
    assert bob_buckets == {"bob-own"}
    assert bob.s3.list_buckets()["Owner"]["DisplayName"] == bob.name


def test_iam_users_need_a_policy(cloud: Cloud, walrus: Walrus, alice: Account) -> None:
    alice.s3.create_bucket(Bucket="alice-team")
    alice.s3.put_object(Bucket="alice-team", Key="report", Body=b"numbers")
    user = unique("reader")
    alice.iam.create_user(UserName=user)
    reader = s3_client(walrus.service_url, user_key(alice.iam, user))
    denied(reader.get_object, Bucket="alice-team", Key="report")
    denied(reader.list_objects_v2, Bucket="alice-team")
    denied(reader.put_object, Bucket="alice-team", Key="x", Body=b"x")
    denied(reader.create_bucket, Bucket=unique("reader-bucket"))
    denied(reader.list_buckets)

    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::alice-team/*"},
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "arn:aws:s3:::*"},
        ],
    }
    alice.iam.put_user_policy(
        UserName=user, PolicyName="read-team", PolicyDocument=json.dumps(document)
    )
    reader = s3_client(walrus.service_url, user_key(alice.iam, user))  # a key Walrus has not cached
    assert reader.get_object(Bucket="alice-team", Key="report")["Body"].read() == b"numbers"
    listed = reader.list_buckets()  # the account's buckets, as its admin sees them
    assert {b["Name"] for b in listed["Buckets"]} == {
        b["Name"] for b in alice.s3.list_buckets()["Buckets"]
    }
    assert listed["Owner"]["ID"] == alice.canonical_id
    denied(reader.put_object, Bucket="alice-team", Key="x", Body=b"x")
    denied(reader.delete_object, Bucket="alice-team", Key="report")
    denied(reader.list_objects_v2, Bucket="alice-team")
    denied(reader.get_object_acl, Bucket="alice-team", Key="report")
    alice.s3.create_bucket(Bucket="alice-other")
    alice.s3.put_object(Bucket="alice-other", Key="report", Body=b"other")
    denied(reader.get_object, Bucket="alice-other", Key="report")


def test_bucket_count_limits(cloud: Cloud, walrus: Walrus) -> None:
    carol = new_account(cloud, walrus, "carol")
    for number in range(MAX_BUCKETS):
        carol.s3.create_bucket(Bucket=f"{carol.name}-{number}")
    code = error_of(carol.s3.create_bucket, Bucket=f"{carol.name}-more")
    assert code == ("TooManyBuckets", 400)
    carol.s3.delete_bucket(Bucket=f"{carol.name}-0")
    carol.s3.create_bucket(Bucket=f"{carol.name}-again")

    dave_name = unique("dave")
    create_account(cloud, dave_name)
    quota = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Limit",
                "Action": "s3:CreateBucket",
                "Resource": "*",
                "Condition": {"NumericLessThanEquals": {"s3:quota-bucketnumber": "2"}},
            }
        ],
    }
    put = {"AccountName": dave_name, "PolicyName": "buckets", "PolicyDocument": json.dumps(quota)}
    response = call(cloud, cloud.admin_key, "PutAccountPolicy", put)
    assert response.status_code == 200, response.text
    dave = s3_client(walrus.service_url, account_admin_key(cloud, dave_name))
    dave.create_bucket(Bucket=f"{dave_name}-1")
    dave.create_bucket(Bucket=f"{dave_name}-2")
    assert error_of(dave.create_bucket, Bucket=f"{dave_name}-3") == ("TooManyBuckets", 400)


def test_deactivated_key_stops_working_within_seconds(
    cloud: Cloud, walrus: Walrus, alice: Account
) -> None:
    user = unique("leaver")
    alice.iam.create_user(UserName=user)
    alice.iam.put_user_policy(
        UserName=user,
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    key = user_key(alice.iam, user)
    client = s3_client(walrus.service_url, key)
    client.list_buckets()  # Walrus has the key cached now
    alice.iam.update_access_key(UserName=user, AccessKeyId=key[0], Status="Inactive")
    started = time.monotonic()
    while True:
        try:
            client.list_buckets()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "InvalidAccessKeyId"
            break
        assert time.monotonic() - started < 10, "the inactive key still works after 10 s"
        time.sleep(0.5)
    assert time.monotonic() - started < 10

    alice.iam.update_access_key(UserName=user, AccessKeyId=key[0], Status="Active")
    started = time.monotonic()
    while True:
        try:
            client.list_buckets()
            break
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "InvalidAccessKeyId"
        assert time.monotonic() - started < 10, "the reactivated key still fails after 10 s"
        time.sleep(0.5)
