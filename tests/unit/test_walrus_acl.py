"""ACLs: canned ACLs, the AccessControlPolicy document, grant headers, evaluation."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from eucalyptus.common.ids import canonical_user_id
from eucalyptus.walrus import xmlutil
from eucalyptus.walrus.acl import (
    ALL_USERS,
    AUTHENTICATED_USERS,
    CANNED_ACLS,
    LOG_DELIVERY,
    PERMISSIONS,
    Acl,
    Grant,
    Grantee,
    acl_from_grant_headers,
    canned_acl,
    choose_acl,
    email_grantees,
    grants,
    parse_acl_xml,
    resolve_emails,
)
from eucalyptus.walrus.errors import (
    InvalidArgument,
    InvalidRequest,
    MalformedACLError,
    UnresolvableGrantByEmailAddress,
)

OWNER = canonical_user_id("111111111111")
BUCKET_OWNER = canonical_user_id("222222222222")
CLOUD = canonical_user_id("000000000001")
OTHER = canonical_user_id("333333333333")
IDS: dict[str, Any] = {
    "owner_id": OWNER,
    "owner_name": "alice",
    "cloud_id": CLOUD,
    "cloud_name": "eucalyptus",
}
XSI = "{http://www.w3.org/2001/XMLSchema-instance}type"


def user(canonical_id: str, name: str = "") -> Grantee:
    return Grantee("CanonicalUser", canonical_id, name)


def group(uri: str) -> Grantee:
    return Grantee("Group", uri)


OWNER_FULL = Grant(user(OWNER, "alice"), "FULL_CONTROL")


# --- canned ACLs ---------------------------------------------------------------------------

CANNED_EXTRA: dict[str, list[Grant]] = {
    "private": [],
    "public-read": [Grant(group(ALL_USERS), "READ")],
    "public-read-write": [Grant(group(ALL_USERS), "READ"), Grant(group(ALL_USERS), "WRITE")],
    "authenticated-read": [Grant(group(AUTHENTICATED_USERS), "READ")],
    "bucket-owner-read": [Grant(user(BUCKET_OWNER, "bob"), "READ")],
    "bucket-owner-full-control": [Grant(user(BUCKET_OWNER, "bob"), "FULL_CONTROL")],
    "aws-exec-read": [Grant(user(CLOUD, "eucalyptus"), "READ")],
    "log-delivery-write": [
        Grant(group(LOG_DELIVERY), "WRITE"),
        Grant(group(LOG_DELIVERY), "READ_ACP"),
    ],
    "ec2-bundle-read": [Grant(user(CLOUD, "eucalyptus"), "READ")],
}


def test_every_canned_acl_is_tested() -> None:
    assert set(CANNED_EXTRA) == set(CANNED_ACLS)


@pytest.mark.parametrize("name", CANNED_ACLS)
def test_canned_acl_grants(name: str) -> None:
    acl = canned_acl(name, bucket_owner_id=BUCKET_OWNER, bucket_owner_name="bob", **IDS)
    assert acl.owner_id == OWNER and acl.owner_display_name == "alice"
    assert acl.grants == (OWNER_FULL, *CANNED_EXTRA[name])


@pytest.mark.parametrize("name", ["bucket-owner-read", "bucket-owner-full-control"])
def test_bucket_owner_acls_without_another_bucket_owner(name: str) -> None:
    assert canned_acl(name, **IDS).grants == (OWNER_FULL,)
    same = canned_acl(name, bucket_owner_id=OWNER, bucket_owner_name="alice", **IDS)
    assert same.grants == (OWNER_FULL,)


@pytest.mark.parametrize("name", ["aws-exec-read", "ec2-bundle-read"])
def test_cloud_read_acls_for_the_cloud_account_itself(name: str) -> None:
    acl = canned_acl(
        name, owner_id=CLOUD, owner_name="eucalyptus", cloud_id=CLOUD, cloud_name="eucalyptus"
    )
    assert acl.grants == (Grant(user(CLOUD, "eucalyptus"), "FULL_CONTROL"),)


@pytest.mark.parametrize("name", ["Private", "public", "", "authenticated-read-write"])
def test_unknown_canned_acl(name: str) -> None:
    with pytest.raises(InvalidArgument):
        canned_acl(name, **IDS)


@pytest.mark.parametrize(
    ("name", "anonymous", "authenticated", "other", "cloud"),
    [
        ("private", set(), set(), set(), set()),
        ("public-read", {"READ"}, {"READ"}, {"READ"}, {"READ"}),
        ("public-read-write", {"READ", "WRITE"}, {"READ", "WRITE"}, {"READ", "WRITE"}, None),
        ("authenticated-read", set(), {"READ"}, {"READ"}, {"READ"}),
        ("bucket-owner-read", set(), set(), set(), set()),
        ("aws-exec-read", set(), set(), set(), {"READ"}),
        ("ec2-bundle-read", set(), set(), set(), {"READ"}),
        ("log-delivery-write", set(), set(), set(), set()),
    ],
)
def test_grants_of_canned_acls(
    name: str, anonymous: set, authenticated: set, other: set, cloud: set | None
) -> None:
    acl = canned_acl(name, bucket_owner_id=BUCKET_OWNER, **IDS)
    assert grants(acl, canonical_id=None, authenticated=False) == anonymous
    assert grants(acl, canonical_id=None, authenticated=True) == authenticated
    assert grants(acl, canonical_id=OTHER, authenticated=True) == other
    assert grants(acl, canonical_id=CLOUD, authenticated=True) == (cloud or other)
    assert grants(acl, canonical_id=OWNER, authenticated=True) == set(PERMISSIONS)


def test_bucket_owner_grants() -> None:
    read = canned_acl("bucket-owner-read", bucket_owner_id=BUCKET_OWNER, **IDS)
    assert grants(read, canonical_id=BUCKET_OWNER, authenticated=True) == {"READ"}
    full = canned_acl("bucket-owner-full-control", bucket_owner_id=BUCKET_OWNER, **IDS)
    assert grants(full, canonical_id=BUCKET_OWNER, authenticated=True) == set(PERMISSIONS)


def test_full_control_implies_all_and_permissions_add_up() -> None:
    acl = Acl(
        OWNER,
        "alice",
        (
            Grant(user(OTHER), "READ_ACP"),
            Grant(group(AUTHENTICATED_USERS), "WRITE"),
            Grant(group(ALL_USERS), "READ"),
            Grant(Grantee("AmazonCustomerByEmail", "x@example.com"), "FULL_CONTROL"),
        ),
    )
    assert grants(acl, canonical_id=OTHER, authenticated=True) == {"READ_ACP", "WRITE", "READ"}
    assert grants(acl, canonical_id=OTHER, authenticated=False) == {"READ_ACP", "READ"}
    assert grants(acl, canonical_id=OWNER, authenticated=True) == {"WRITE", "READ"}
    assert grants(Acl(OWNER, "alice"), canonical_id=OWNER, authenticated=True) == set()


# --- JSON and XML --------------------------------------------------------------------------

MIXED = Acl(
    OWNER,
    "alice",
    (
        OWNER_FULL,
        Grant(user(OTHER, "carol"), "WRITE_ACP"),
        Grant(user(BUCKET_OWNER), "READ_ACP"),
        Grant(group(ALL_USERS), "READ"),
        Grant(group(LOG_DELIVERY), "WRITE"),
        Grant(Grantee("AmazonCustomerByEmail", "dave@example.com"), "WRITE"),
    ),
)


def test_json_round_trip() -> None:
    assert Acl.from_json(MIXED.to_json()) == MIXED
    assert Acl.from_json(Acl(OWNER, "").to_json()) == Acl(OWNER, "", ())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{}",
        '{"owner": {"id": "x"}}',
        '{"owner": {"id": "x"}, "grants": [{"type": "Nobody", "id": "y", "permission": "READ"}]}',
        '{"owner": {"id": "x"}, "grants": [{"type": "Group", "id": "y", "permission": "ALL"}]}',
        '{"owner": {"id": "x"}, "grants": [{"type": "Group", "permission": "READ"}]}',
    ],
)
def test_bad_json(text: str) -> None:
    with pytest.raises(ValueError):
        Acl.from_json(text)


def test_xml_is_what_s3_sends() -> None:
    acl = Acl(OWNER, "alice", (OWNER_FULL, Grant(group(ALL_USERS), "READ")))
    assert (
        acl.to_xml()
        == (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<Owner><ID>{OWNER}</ID><DisplayName>alice</DisplayName></Owner>"
            "<AccessControlList>"
            '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:type="CanonicalUser"><ID>{OWNER}</ID><DisplayName>alice</DisplayName></Grantee>'
            "<Permission>FULL_CONTROL</Permission></Grant>"
            '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>'
            "<Permission>READ</Permission></Grant>"
            "</AccessControlList></AccessControlPolicy>"
        ).encode()
    )


def test_xml_round_trip() -> None:
    assert parse_acl_xml(MIXED.to_xml()) == MIXED
    empty = Acl(OWNER, "alice")
    assert parse_acl_xml(empty.to_xml()) == empty


def test_xml_grantee_elements() -> None:
    root = xmlutil.parse_xml(MIXED.to_xml())
    listing = xmlutil.child(root, "AccessControlList")
    assert listing is not None
    grantees = [xmlutil.child(g, "Grantee") for g in xmlutil.children(listing, "Grant")]
    assert [g.get(XSI) for g in grantees if g is not None] == [
        "CanonicalUser",
        "CanonicalUser",
        "CanonicalUser",
        "Group",
        "Group",
        "AmazonCustomerByEmail",
    ]
    last = grantees[-1]
    assert last is not None and xmlutil.text(last, "EmailAddress") == "dave@example.com"
    unnamed = grantees[2]
    assert unnamed is not None and xmlutil.child(unnamed, "DisplayName") is None


class _Captured(Exception):
    def __init__(self, body: bytes) -> None:
        super().__init__("captured")
        self.body = body


def botocore_acl_body(policy: dict[str, Any]) -> bytes:
    """The body botocore sends for put_bucket_acl(AccessControlPolicy=policy)."""
    client = botocore.session.get_session().create_client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        endpoint_url="http://x",
    )

    def capture(request: Any, **_: Any) -> None:
        body = request.body
        raise _Captured(body if isinstance(body, bytes) else body.encode())

    client.meta.events.register("before-send.s3.PutBucketAcl", capture)
    with pytest.raises(_Captured) as info:
        client.put_bucket_acl(Bucket="bucket", AccessControlPolicy=policy)
    return info.value.body


def test_botocore_access_control_policy() -> None:
    body = botocore_acl_body(
        {
            "Owner": {"ID": OWNER, "DisplayName": "alice"},
            "Grants": [
                {"Grantee": {"Type": "CanonicalUser", "ID": OWNER}, "Permission": "FULL_CONTROL"},
                {
                    "Grantee": {"Type": "CanonicalUser", "ID": OTHER, "DisplayName": "carol"},
                    "Permission": "READ_ACP",
                },
                {"Grantee": {"Type": "Group", "URI": AUTHENTICATED_USERS}, "Permission": "READ"},
                {
                    "Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "d@example.com"},
                    "Permission": "WRITE",
                },
            ],
        }
    )
    assert parse_acl_xml(body) == Acl(
        OWNER,
        "alice",
        (
            Grant(user(OWNER), "FULL_CONTROL"),
            Grant(user(OTHER, "carol"), "READ_ACP"),
            Grant(group(AUTHENTICATED_USERS), "READ"),
            Grant(Grantee("AmazonCustomerByEmail", "d@example.com"), "WRITE"),
        ),
    )


def test_botocore_owner_only_policy() -> None:
    body = botocore_acl_body({"Owner": {"ID": OWNER}})
    assert parse_acl_xml(body) == Acl(OWNER, "", ())


def test_grantee_type_inferred_without_xsi_type() -> None:
    body = (
        "<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList>"
        "<Grant><Grantee><URI>" + ALL_USERS + "</URI></Grantee><Permission>READ</Permission>"
        "</Grant></AccessControlList></AccessControlPolicy>"
    ).encode()
    assert parse_acl_xml(body) == Acl("o", "", (Grant(group(ALL_USERS), "READ"),))


def _policy(grant: str, owner: str = "<Owner><ID>o</ID></Owner>") -> bytes:
    return (
        '<AccessControlPolicy xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{owner}<AccessControlList>{grant}</AccessControlList></AccessControlPolicy>"
    ).encode()


def _grant(grantee: str, permission: str = "READ", kind: str = "CanonicalUser") -> str:
    return (
        f'<Grant><Grantee xsi:type="{kind}">{grantee}</Grantee>'
        f"<Permission>{permission}</Permission></Grant>"
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<AccessControlPolicy><Owner>", id="not-well-formed"),
        pytest.param(b"<Policy><Owner><ID>o</ID></Owner></Policy>", id="wrong-root"),
        pytest.param(_policy("", owner=""), id="no-owner"),
        pytest.param(
            _policy("", owner="<Owner><DisplayName>x</DisplayName></Owner>"), id="owner-without-id"
        ),
        pytest.param(_policy("", owner="<Owner><ID> </ID></Owner>"), id="blank-owner-id"),
        pytest.param(_policy(_grant("<ID>x</ID>", kind="Nobody")), id="unknown-xsi-type"),
        pytest.param(_policy(_grant("<ID>x</ID>", permission="ALL")), id="unknown-permission"),
        pytest.param(_policy(_grant("<ID>x</ID>", permission="read")), id="lower-permission"),
        pytest.param(_policy(_grant("<DisplayName>x</DisplayName>")), id="user-without-id"),
        pytest.param(_policy(_grant("<ID></ID>")), id="user-empty-id"),
        pytest.param(_policy(_grant("<ID>x</ID>", kind="Group")), id="group-without-uri"),
        pytest.param(
            _policy(_grant("<ID>x</ID>", kind="AmazonCustomerByEmail")), id="email-without-address"
        ),
        pytest.param(
            _policy("<Grant><Permission>READ</Permission></Grant>"), id="grant-without-grantee"
        ),
        pytest.param(
            _policy('<Grant><Grantee xsi:type="CanonicalUser"><ID>x</ID></Grantee></Grant>'),
            id="grant-without-permission",
        ),
        pytest.param(
            _policy(
                "<Grant><Grantee><ID>x</ID><URI>" + ALL_USERS + "</URI></Grantee>"
                "<Permission>READ</Permission></Grant>"
            ),
            id="ambiguous-grantee",
        ),
        pytest.param(_policy(_grant("<ID>x</ID>") * 101), id="too-many-grants"),
        pytest.param(
            b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + _policy(_grant("<ID>&e;</ID>")),
            id="external-entity",
        ),
    ],
)
def test_malformed_acl(body: bytes) -> None:
    with pytest.raises(MalformedACLError):
        parse_acl_xml(body)


def test_unknown_group_uri() -> None:
    body = _policy(_grant("<URI>http://acs.amazonaws.com/groups/global/Nobody</URI>", kind="Group"))
    with pytest.raises(InvalidArgument):
        parse_acl_xml(body)


def test_hundred_grants_are_accepted() -> None:
    assert len(parse_acl_xml(_policy(_grant("<ID>x</ID>") * 100)).grants) == 100


# --- grant headers -------------------------------------------------------------------------


def test_no_grant_headers() -> None:
    assert acl_from_grant_headers({}, owner_id=OWNER, owner_name="alice") is None
    assert (
        acl_from_grant_headers({"x-amz-acl": "private"}, owner_id=OWNER, owner_name="alice") is None
    )


def test_grant_headers() -> None:
    headers = {
        "x-amz-grant-read": f'id="{OTHER}", uri="{ALL_USERS}"',
        "x-amz-grant-write": f"uri={LOG_DELIVERY}",
        "x-amz-grant-read-acp": 'emailAddress="dave@example.com"',
        "x-amz-grant-write-acp": f'ID="{BUCKET_OWNER}",id="{OTHER}"',
        "x-amz-grant-full-control": f'id="{OWNER}"',
    }
    acl = acl_from_grant_headers(headers, owner_id=OWNER, owner_name="alice")
    assert acl == Acl(
        OWNER,
        "alice",
        (
            Grant(user(OWNER), "FULL_CONTROL"),
            Grant(user(OTHER), "READ"),
            Grant(group(ALL_USERS), "READ"),
            Grant(group(LOG_DELIVERY), "WRITE"),
            Grant(Grantee("AmazonCustomerByEmail", "dave@example.com"), "READ_ACP"),
            Grant(user(BUCKET_OWNER), "WRITE_ACP"),
            Grant(user(OTHER), "WRITE_ACP"),
        ),
    )


def test_grant_headers_do_not_add_the_owner() -> None:
    acl = acl_from_grant_headers(
        {"x-amz-grant-read": f'uri="{ALL_USERS}"'}, owner_id=OWNER, owner_name="alice"
    )
    assert acl == Acl(OWNER, "alice", (Grant(group(ALL_USERS), "READ"),))


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "junk",
        'id=""',
        'name="x"',
        'id="a" id="b"',
        'id="a",',
        ',id="a"',
        'id="a",,id="b"',
        'id="unterminated',
        'uri="http://acs.amazonaws.com/groups/global/Nobody"',
    ],
)
def test_bad_grant_headers(value: str) -> None:
    with pytest.raises(InvalidArgument):
        acl_from_grant_headers({"x-amz-grant-read": value}, owner_id=OWNER, owner_name="alice")


def test_choose_acl() -> None:
    choose = {**IDS, "bucket_owner_id": BUCKET_OWNER, "bucket_owner_name": "bob"}
    assert choose_acl({}, **choose) == canned_acl("private", **IDS)
    assert choose_acl({"x-amz-acl": "public-read"}, **choose) == canned_acl("public-read", **IDS)
    assert choose_acl({"x-amz-acl": "bucket-owner-read"}, **choose).grants == (
        OWNER_FULL,
        Grant(user(BUCKET_OWNER, "bob"), "READ"),
    )
    granted = choose_acl({"x-amz-grant-read": f'id="{OTHER}"'}, **choose)
    assert granted.grants == (Grant(user(OTHER), "READ"),)
    with pytest.raises(InvalidRequest) as info:
        choose_acl({"x-amz-acl": "private", "x-amz-grant-read": f'id="{OTHER}"'}, **choose)
    assert info.value.message == "Specifying both Canned ACLs and Header Grants is not allowed"
    with pytest.raises(InvalidArgument):
        choose_acl({"x-amz-acl": "world-writable"}, **choose)


# --- e-mail grantees -----------------------------------------------------------------------


def test_email_grantees_and_resolution() -> None:
    acl = Acl(
        OWNER,
        "alice",
        (
            OWNER_FULL,
            Grant(Grantee("AmazonCustomerByEmail", "Dave@Example.com"), "READ"),
            Grant(Grantee("AmazonCustomerByEmail", "erin@example.com"), "WRITE"),
            Grant(Grantee("AmazonCustomerByEmail", "Dave@Example.com"), "READ_ACP"),
        ),
    )
    assert email_grantees(acl) == ["Dave@Example.com", "erin@example.com"]
    resolved = resolve_emails(
        acl, {"dave@example.com": (OTHER, "dave"), "erin@example.com": (BUCKET_OWNER, "erin")}
    )
    assert resolved == Acl(
        OWNER,
        "alice",
        (
            OWNER_FULL,
            Grant(user(OTHER, "dave"), "READ"),
            Grant(user(BUCKET_OWNER, "erin"), "WRITE"),
            Grant(user(OTHER, "dave"), "READ_ACP"),
        ),
    )
    assert email_grantees(resolved) == []
    assert grants(resolved, canonical_id=OTHER, authenticated=True) == {"READ", "READ_ACP"}


def test_unresolvable_email() -> None:
    acl = Acl(OWNER, "alice", (Grant(Grantee("AmazonCustomerByEmail", "x@example.com"), "READ"),))
    with pytest.raises(UnresolvableGrantByEmailAddress) as info:
        resolve_emails(acl, {"y@example.com": (OTHER, "y")})
    assert info.value.extra == {"EmailAddress": "x@example.com"}


def test_resolution_without_emails_is_identity() -> None:
    acl = Acl(OWNER, "alice", (OWNER_FULL, Grant(group(ALL_USERS), "READ")))
    assert resolve_emails(acl, {}) == acl
