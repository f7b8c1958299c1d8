"""Access control lists: canned ACLs, grant headers, the AccessControlPolicy document.

An :class:`Acl` is the owner and a tuple of :class:`Grant`; it is stored as JSON
(:meth:`Acl.to_json`, in ``Bucket.acl`` and ``ObjectVersion.acl``) and sent as S3's
``AccessControlPolicy`` XML (:meth:`Acl.to_xml`). A request sets one in one of three
ways: a canned ACL (``x-amz-acl``, :func:`canned_acl`), grant headers
(``x-amz-grant-*``, :func:`acl_from_grant_headers`) or, for the ``?acl``
subresource, a document (:func:`parse_acl_xml`); :func:`choose_acl` picks from the
headers. Grants by e-mail address are replaced by the account's canonical user
before an ACL is stored (:func:`email_grantees`, :func:`resolve_emails`).

:func:`grants` answers which permissions an ACL gives a requester; the decision that
combines it with IAM is :func:`eucalyptus.walrus.access.check_access`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from lxml import etree

from eucalyptus.walrus import xmlutil
from eucalyptus.walrus.errors import (
    InvalidArgument,
    InvalidRequest,
    MalformedACLError,
    S3Error,
    UnresolvableGrantByEmailAddress,
)

Permission = Literal["READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL"]
GranteeKind = Literal["CanonicalUser", "Group", "AmazonCustomerByEmail"]

PERMISSIONS: tuple[Permission, ...] = get_args(Permission)
GRANTEE_KINDS: tuple[GranteeKind, ...] = get_args(GranteeKind)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY})

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = f"{{{XSI_NS}}}type"

#: S3 accepts at most this many grants in one ACL
MAX_GRANTS = 100


@dataclass(frozen=True)
class Grantee:
    """Who a grant is for: a canonical user id, a group URI or an e-mail address."""

    kind: GranteeKind
    id: str
    display_name: str = ""


@dataclass(frozen=True)
class Grant:
    grantee: Grantee
    permission: Permission


@dataclass(frozen=True)
class Acl:
    """An access control list: the resource owner and what it grants to whom."""

    owner_id: str
    owner_display_name: str
    grants: tuple[Grant, ...] = ()

    def to_json(self) -> str:
        """The stored form (compact JSON)."""
        return json.dumps(
            {
                "owner": {"id": self.owner_id, "display_name": self.owner_display_name},
                "grants": [
                    {
                        "type": grant.grantee.kind,
                        "id": grant.grantee.id,
                        "display_name": grant.grantee.display_name,
                        "permission": grant.permission,
                    }
                    for grant in self.grants
                ],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Acl:
        """The ACL stored by :meth:`to_json`; ValueError if ``text`` is not one."""
        try:
            data = json.loads(text)
            owner = data["owner"]
            grants = tuple(_grant_from_json(item) for item in data["grants"])
            return cls(str(owner["id"]), str(owner.get("display_name", "")), grants)
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a stored ACL: {text[:80]!r}") from exc

    def to_xml(self) -> bytes:
        """The ``AccessControlPolicy`` document, as S3 answers ``GET ?acl``."""
        root = xmlutil.new_root("AccessControlPolicy")
        owner = xmlutil.sub(root, "Owner")
        xmlutil.sub(owner, "ID", self.owner_id)
        xmlutil.sub(owner, "DisplayName", self.owner_display_name)
        listing = xmlutil.sub(root, "AccessControlList")
        for grant in self.grants:
            element = xmlutil.sub(listing, "Grant")
            grantee = etree.SubElement(
                element, f"{{{xmlutil.S3_NS}}}Grantee", nsmap={"xsi": XSI_NS}
            )
            grantee.set(_XSI_TYPE, grant.grantee.kind)
            if grant.grantee.kind == "CanonicalUser":
                xmlutil.sub(grantee, "ID", grant.grantee.id)
                if grant.grantee.display_name:
                    xmlutil.sub(grantee, "DisplayName", grant.grantee.display_name)
            elif grant.grantee.kind == "Group":
                xmlutil.sub(grantee, "URI", grant.grantee.id)
            else:
                xmlutil.sub(grantee, "EmailAddress", grant.grantee.id)
            xmlutil.sub(element, "Permission", grant.permission)
        return xmlutil.to_bytes(root)


def _grant_from_json(item: Mapping[str, Any]) -> Grant:
    kind = item["type"]
    permission = item["permission"]
    if kind not in GRANTEE_KINDS or permission not in PERMISSIONS:
        raise TypeError(f"bad grant {item!r}")
    grantee = Grantee(kind, str(item["id"]), str(item.get("display_name", "")))
    return Grant(grantee, permission)


def user(canonical_id: str, display_name: str = "") -> Grantee:
    """A canonical-user grantee."""
    return Grantee("CanonicalUser", canonical_id, display_name)


def group(uri: str) -> Grantee:
    """A group grantee (one of :data:`GROUPS`)."""
    return Grantee("Group", uri)


# --- canned ACLs ---------------------------------------------------------------------------

CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "aws-exec-read",
    "log-delivery-write",
    "ec2-bundle-read",
)


def canned_acl(
    name: str,
    *,
    owner_id: str,
    owner_name: str,
    bucket_owner_id: str | None = None,
    bucket_owner_name: str = "",
    cloud_id: str,
    cloud_name: str,
) -> Acl:
    """The ACL a canned ACL name stands for; InvalidArgument for an unknown name.

    The owner always has FULL_CONTROL. ``bucket-owner-read`` and
    ``bucket-owner-full-control`` (meant for objects) add the bucket's owner when it
    is not the object's owner. ``aws-exec-read`` and ``ec2-bundle-read`` give READ
    to the cloud's own account (``cloud_id``: the ``eucalyptus`` account's canonical
    id), which the image service reads bundles with.
    """
    extra: list[Grant] = []
    if name == "private":
        pass
    elif name == "public-read":
        extra.append(Grant(group(ALL_USERS), "READ"))
    elif name == "public-read-write":
        extra += [Grant(group(ALL_USERS), "READ"), Grant(group(ALL_USERS), "WRITE")]
    elif name == "authenticated-read":
        extra.append(Grant(group(AUTHENTICATED_USERS), "READ"))
    elif name in ("bucket-owner-read", "bucket-owner-full-control"):
        if bucket_owner_id is not None and bucket_owner_id != owner_id:
            permission: Permission = "READ" if name == "bucket-owner-read" else "FULL_CONTROL"
            extra.append(Grant(user(bucket_owner_id, bucket_owner_name), permission))
    elif name in ("aws-exec-read", "ec2-bundle-read"):
        if cloud_id != owner_id:
            extra.append(Grant(user(cloud_id, cloud_name), "READ"))
    elif name == "log-delivery-write":
        extra += [Grant(group(LOG_DELIVERY), "WRITE"), Grant(group(LOG_DELIVERY), "READ_ACP")]
    else:
        raise InvalidArgument(f"Invalid canned ACL: {name}", ArgumentName="x-amz-acl")
    owner = Grant(user(owner_id, owner_name), "FULL_CONTROL")
    return Acl(owner_id, owner_name, (owner, *extra))


# --- the AccessControlPolicy document ------------------------------------------------------


def parse_acl_xml(body: bytes) -> Acl:
    """The ACL of an ``AccessControlPolicy`` document (``PUT ?acl``).

    MalformedACLError for anything but a well-formed policy: no Owner or owner ID,
    a grant without Grantee or Permission, an unknown grantee type or permission, a
    grantee without its identifier, more than :data:`MAX_GRANTS` grants.
    InvalidArgument for a group URI that is not one of S3's groups. Whether the
    Owner is the resource's owner is for the caller to check.
    """
    root = xmlutil.parse_xml(body, error=MalformedACLError)
    if xmlutil.local(root) != "AccessControlPolicy":
        raise MalformedACLError()
    owner = xmlutil.child(root, "Owner")
    if owner is None:
        raise MalformedACLError()
    owner_id = (xmlutil.text(owner, "ID") or "").strip()
    if not owner_id:
        raise MalformedACLError()
    owner_name = (xmlutil.text(owner, "DisplayName") or "").strip()
    listing = xmlutil.child(root, "AccessControlList")
    elements = [] if listing is None else xmlutil.children(listing, "Grant")
    if len(elements) > MAX_GRANTS:
        raise MalformedACLError(f"An ACL may have at most {MAX_GRANTS} grants.")
    return Acl(owner_id, owner_name, tuple(_parse_grant(element) for element in elements))


def _parse_grant(element: etree._Element) -> Grant:
    grantee_element = xmlutil.child(element, "Grantee")
    permission = (xmlutil.text(element, "Permission") or "").strip()
    if grantee_element is None or permission not in PERMISSIONS:
        raise MalformedACLError()
    return Grant(_parse_grantee(grantee_element), permission)


_IDENTIFIER_OF: dict[str, str] = {
    "CanonicalUser": "ID",
    "Group": "URI",
    "AmazonCustomerByEmail": "EmailAddress",
}


def _parse_grantee(element: etree._Element) -> Grantee:
    declared = element.get(_XSI_TYPE)
    if declared is None:
        # no xsi:type: the one identifier element present says what it is
        present = [
            kind for kind, tag in _IDENTIFIER_OF.items() if xmlutil.child(element, tag) is not None
        ]
        if len(present) != 1:
            raise MalformedACLError()
        kind = present[0]
    else:
        kind = declared.strip().rpartition(":")[2]
    if kind not in GRANTEE_KINDS:
        raise MalformedACLError()
    identifier = (xmlutil.text(element, _IDENTIFIER_OF[kind]) or "").strip()
    if not identifier:
        raise MalformedACLError()
    if kind == "Group" and identifier not in GROUPS:
        raise InvalidArgument("Invalid group uri", ArgumentName="uri", ArgumentValue=identifier)
    name = (xmlutil.text(element, "DisplayName") or "").strip() if kind == "CanonicalUser" else ""
    return Grantee(kind, identifier, name)


# --- grant headers -------------------------------------------------------------------------

#: the x-amz-grant-* headers and the permission each grants, in the order grants are listed
GRANT_HEADERS: tuple[tuple[str, Permission], ...] = (
    ("x-amz-grant-full-control", "FULL_CONTROL"),
    ("x-amz-grant-read", "READ"),
    ("x-amz-grant-write", "WRITE"),
    ("x-amz-grant-read-acp", "READ_ACP"),
    ("x-amz-grant-write-acp", "WRITE_ACP"),
)

_GRANTEE_KEYS: dict[str, GranteeKind] = {
    "id": "CanonicalUser",
    "uri": "Group",
    "emailaddress": "AmazonCustomerByEmail",
}
#: one ``key=value`` or ``key="value"`` item of a grant header
_GRANT_ITEM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*')


def _parse_grant_header(header: str, value: str) -> list[Grantee]:
    """The grantees of one ``x-amz-grant-*`` header; InvalidArgument for junk."""

    def invalid(message: str) -> S3Error:
        return InvalidArgument(message, ArgumentName=header, ArgumentValue=value)

    grantees: list[Grantee] = []
    position = 0
    while True:
        match = _GRANT_ITEM.match(value, position)
        if match is None:
            raise invalid(f"Invalid grant header value: {value}")
        key, quoted, bare = match.groups()
        identifier = (quoted if quoted is not None else bare).strip()
        kind = _GRANTEE_KEYS.get(key.lower())
        if kind is None or not identifier:
            raise invalid(f"Invalid grantee in {header}: {key}")
        if kind == "Group" and identifier not in GROUPS:
            raise invalid("Invalid group uri")
        grantees.append(Grantee(kind, identifier))
        position = match.end()
        if position == len(value):
            return grantees
        if value[position] != ",":
            raise invalid(f"Invalid grant header value: {value}")
        position += 1


def acl_from_grant_headers(
    lower_headers: Mapping[str, str], *, owner_id: str, owner_name: str
) -> Acl | None:
    """The ACL the ``x-amz-grant-*`` headers spell, or None when there are none.

    Each header is a comma-separated list of ``id="..."``, ``uri="..."`` and
    ``emailAddress="..."``; the ACL holds exactly those grants (as in S3, the owner
    is not added). InvalidArgument for anything else.
    """
    found = False
    result: list[Grant] = []
    for header, permission in GRANT_HEADERS:
        value = lower_headers.get(header)
        if value is None:
            continue
        found = True
        result += [Grant(g, permission) for g in _parse_grant_header(header, value)]
    if not found:
        return None
    if len(result) > MAX_GRANTS:
        raise InvalidArgument(f"An ACL may have at most {MAX_GRANTS} grants.")
    return Acl(owner_id, owner_name, tuple(result))


def choose_acl(
    lower_headers: Mapping[str, str],
    *,
    owner_id: str,
    owner_name: str,
    bucket_owner_id: str | None = None,
    bucket_owner_name: str = "",
    cloud_id: str,
    cloud_name: str,
) -> Acl:
    """The ACL a creating request asks for: ``x-amz-acl``, grant headers or ``private``.

    InvalidRequest when both a canned ACL and grant headers are given.
    """
    granted = acl_from_grant_headers(lower_headers, owner_id=owner_id, owner_name=owner_name)
    canned = lower_headers.get("x-amz-acl")
    if canned is not None and granted is not None:
        raise InvalidRequest("Specifying both Canned ACLs and Header Grants is not allowed")
    if granted is not None:
        return granted
    return canned_acl(
        "private" if canned is None else canned.strip(),
        owner_id=owner_id,
        owner_name=owner_name,
        bucket_owner_id=bucket_owner_id,
        bucket_owner_name=bucket_owner_name,
        cloud_id=cloud_id,
        cloud_name=cloud_name,
    )


# --- evaluation ----------------------------------------------------------------------------


def grants(acl: Acl, *, canonical_id: str | None, authenticated: bool) -> set[Permission]:
    """Every permission ``acl`` gives a requester (FULL_CONTROL stands for all five).

    Grants to AllUsers count for everyone, to AuthenticatedUsers for any signed
    request, to a canonical user for that user. E-mail grants (never stored
    unresolved) and LogDelivery grants count for nobody here.
    """
    result: set[Permission] = set()
    for grant in acl.grants:
        grantee = grant.grantee
        if grantee.kind == "Group":
            applies = grantee.id == ALL_USERS or (
                authenticated and grantee.id == AUTHENTICATED_USERS
            )
        elif grantee.kind == "CanonicalUser":
            applies = canonical_id is not None and grantee.id == canonical_id
        else:
            applies = False
        if applies:
            result.add(grant.permission)
    if "FULL_CONTROL" in result:
        result.update(PERMISSIONS)
    return result


def email_grantees(acl: Acl) -> list[str]:
    """The e-mail addresses ``acl`` grants to, each once, in order."""
    return _unique(g.grantee.id for g in acl.grants if g.grantee.kind == "AmazonCustomerByEmail")


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def resolve_emails(acl: Acl, mapping: Mapping[str, tuple[str, str]]) -> Acl:
    """``acl`` with e-mail grantees replaced by canonical users.

    ``mapping`` is e-mail address -> (canonical id, display name), as the caller
    looked them up (an address is tried as given, then lower-cased); an address
    missing from it raises UnresolvableGrantByEmailAddress.
    """
    resolved: list[Grant] = []
    for grant in acl.grants:
        if grant.grantee.kind != "AmazonCustomerByEmail":
            resolved.append(grant)
            continue
        address = grant.grantee.id
        found = mapping.get(address) or mapping.get(address.lower())
        if found is None:
            raise UnresolvableGrantByEmailAddress(EmailAddress=address)
        resolved.append(Grant(user(*found), grant.permission))
    return Acl(acl.owner_id, acl.owner_display_name, tuple(resolved))
