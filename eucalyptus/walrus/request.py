"""The routed, authenticated request every S3 operation handler receives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from eucalyptus.clc.identity.access import request_conditions
from eucalyptus.common.auth import PendingSignature
from eucalyptus.common.db import utcnow
from eucalyptus.common.ids import canonical_user_id
from eucalyptus.walrus.access import Requester, check_access, s3_arn
from eucalyptus.walrus.acl import Acl, Permission
from eucalyptus.walrus.body import BodyStream
from eucalyptus.walrus.context import WalrusContext
from eucalyptus.walrus.objects import Owner
from eucalyptus.walrus.routing import Route

SERVER_NAME = "Walrus"


@dataclass
class S3Request:
    http: web.Request
    ctx: WalrusContext
    request_id: str
    route: Route
    #: decoded query parameters, first value of each name
    query: dict[str, str]
    #: headers by lower-case name
    headers: Mapping[str, str]
    requester: Requester | None
    signature: PendingSignature | None = None
    secret: str | None = None
    _body: BodyStream | None = field(default=None, repr=False)

    @property
    def bucket(self) -> str:
        assert self.route.bucket is not None
        return self.route.bucket

    @property
    def key(self) -> str:
        assert self.route.key is not None
        return self.route.key

    @property
    def owner(self) -> Owner:
        """The requester as the owner of what it creates (anonymous: the AllUsers stand-in)."""
        if self.requester is None:
            return Owner("", canonical_user_id(""), "anonymous")
        principal = self.requester.principal
        return Owner(
            principal.account_number, self.requester.canonical_id, self.requester.display_name
        )

    def body(self) -> BodyStream:
        if self._body is None:
            self._body = BodyStream(
                self.http, self.headers, signature=self.signature, secret=self.secret
            )
        return self._body

    def conditions(self) -> dict[str, list[str]]:
        if self.requester is None:
            return {}
        remote = self.http.remote or ""
        return request_conditions(
            self.requester.principal, remote=remote, secure=self.http.secure, now=utcnow()
        )

    def check(
        self,
        action: str,
        *,
        acl: Acl | None,
        permission: Permission,
        owner_account: str,
        key: str | None = None,
    ) -> None:
        """AccessDenied unless the requester may do ``action`` (IAM + ACL)."""
        check_access(
            self.requester,
            action=action,
            resource_arn=s3_arn(self.bucket, key),
            acl=acl,
            permission=permission,
            owner_account=owner_account,
            conditions=self.conditions(),
        )

    @property
    def is_cloud_admin(self) -> bool:
        return self.requester is not None and self.requester.principal.is_cloud_admin


def s3_response(
    s3req: S3Request,
    body: bytes = b"",
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str | None = "application/xml",
) -> web.Response:
    """A response with S3's request-id headers."""
    response = web.Response(body=body, status=status)
    if content_type is not None and body:
        response.content_type = content_type
    stamp(response, s3req.request_id)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def stamp(response: web.StreamResponse, request_id: str) -> None:
    response.headers["x-amz-request-id"] = request_id
    response.headers["x-amz-id-2"] = request_id
    response.headers["Server"] = SERVER_NAME
