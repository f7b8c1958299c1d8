"""Every S3 request: route, authenticate, dispatch, and answer errors the S3 way.

Order of work for one request: a request id (on every log line, in every answer);
routing (bucket, key, sub-resource); authentication (none: anonymous; else the
signature is verified with the secret the CLC gives for the access key); only then,
for a client that sent ``Expect: 100-continue``, the interim 100 response, so that a
refused upload is refused before its body is sent; then the operation.

Errors become S3's XML error document with the right status; anything unexpected is
logged with its stack and answered ``InternalError``. A HEAD answer never has a body.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from aiohttp import web

from eucalyptus.common.auth import HttpRequestParts, identify
from eucalyptus.common.auth.s3v2 import s3_schemes
from eucalyptus.common.db import utcnow
from eucalyptus.common.errors import AwsError, MissingAuthenticationToken
from eucalyptus.common.ids import canonical_user_id, request_id
from eucalyptus.common.logs import correlation_id
from eucalyptus.walrus.access import Requester
from eucalyptus.walrus.context import WalrusContext
from eucalyptus.walrus.errors import (
    MethodNotAllowed,
    NotImplementedError_,
    S3Error,
    error_xml,
    s3_code,
)
from eucalyptus.walrus.internal import InternalRequest, PeerCache, dispatch, verify_internal
from eucalyptus.walrus.request import S3Request, stamp
from eucalyptus.walrus.routing import Route, route, subresource

log = logging.getLogger("walrus")

Handler = Callable[[S3Request], Awaitable[web.StreamResponse]]
#: (method, level, sub-resource) -> handler; level is service, bucket or object
HandlerTable = Mapping[tuple[str, str, str], Handler]

_BODY_METHODS = frozenset({"PUT", "POST"})


def _query(query_string: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        found.setdefault(name, value)
    return found


class S3Pipeline:
    """The aiohttp handler for every S3 path."""

    def __init__(
        self, ctx: WalrusContext, handlers: HandlerTable, peers: PeerCache | None = None
    ) -> None:
        self.ctx = ctx
        self.handlers = handlers
        self.peers = peers if peers is not None else PeerCache(ctx.paths)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        rid = request_id()
        token = correlation_id.set(rid)
        resource = request.path
        try:
            raw_path, _, query_string = request.raw_path.partition("?")
            found = route(raw_path, request.host, self.ctx.domain)
            resource = found.resource
            if "EucaOperation" in request.headers:
                return await self._internal(request, rid, found, raw_path, query_string)
            s3req = await self._authenticate(request, rid, found, query_string)
            handler = self._handler(request.method, found, s3req.query)
            if request.headers.get("Expect", "").lower() == "100-continue":
                await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            response = await handler(s3req)
            log.debug("%s %s -> %d", request.method, resource, response.status)
            return response
        except AwsError as exc:
            return self._error_response(request, exc, resource, rid)
        except Exception:
            log.exception("%s %s failed", request.method, resource)
            from eucalyptus.common.errors import InternalError

            return self._error_response(
                request,
                InternalError("We encountered an internal error. Please try again."),
                resource,
                rid,
            )
        finally:
            correlation_id.reset(token)

    async def _internal(
        self, request: web.Request, rid: str, found: Route, raw_path: str, query_string: str
    ) -> web.StreamResponse:
        """A component-only operation (see :mod:`eucalyptus.walrus.internal`)."""
        lower = {name.lower(): value for name, value in request.headers.items()}
        signer = verify_internal(
            request,
            lower,
            raw_path,
            query_string,
            self.peers,
            now=datetime.now(UTC),
            max_skew=self.ctx.max_skew,
        )
        operation = lower["eucaoperation"]
        log.info("internal %s %s by %s", operation, found.resource, signer.subject.rfc4514_string())
        response = await dispatch(InternalRequest(request, self.ctx, rid, found, operation, signer))
        stamp(response, rid)
        return response

    def _handler(self, method: str, found: Route, query: dict[str, str]) -> Handler:
        level = found.level
        sub = subresource(level, query) if level != "service" else ""
        handler = self.handlers.get((method, level, sub))
        if handler is not None:
            return handler
        if any(key[1] == level and key[2] == sub for key in self.handlers):
            raise MethodNotAllowed(Method=method, ResourceType=level.upper())
        if sub:
            raise NotImplementedError_(
                f"The {sub} sub-resource is not implemented by Walrus", Header=sub
            )
        raise MethodNotAllowed(Method=method, ResourceType=level.upper())

    async def _authenticate(
        self, request: web.Request, rid: str, found: Route, query_string: str
    ) -> S3Request:
        headers = {name.lower(): value for name, value in request.headers.items()}
        query = _query(query_string)
        s3req = S3Request(
            http=request,
            ctx=self.ctx,
            request_id=rid,
            route=found,
            query=query,
            headers=headers,
            requester=None,
        )
        auth_headers = dict(request.headers)
        if "Content-Length" not in request.headers and request.method in _BODY_METHODS:
            # a streamed body: the signature layer must not hash an empty stand-in
            auth_headers["Content-Length"] = "-1"
        parts = HttpRequestParts(
            method=request.method,
            raw_path=found.raw_path,
            query_string=query_string,
            headers=auth_headers,
            body=b"",
        )
        try:
            virtual = found.bucket if found.virtual else None
            pending = identify(parts, s3_schemes(virtual))
        except MissingAuthenticationToken:
            return s3req
        secret, principal = await self.ctx.identity.resolve(pending.access_key_id)
        pending.verify(
            secret, now=utcnow(), max_skew=self.ctx.max_skew, key_cache=self.ctx.key_cache
        )
        if not self.ctx.cloud_canonical_id:
            await self._learn_cloud_account()
        s3req.requester = Requester(
            principal=principal,
            canonical_id=canonical_user_id(principal.account_number),
            display_name=principal.account_name,
        )
        s3req.signature = pending
        s3req.secret = secret
        return s3req

    async def _learn_cloud_account(self) -> None:
        """The cloud account's canonical id (aws-exec-read grants it READ), once known."""
        try:
            info = await self.ctx.identity.account(name=self.ctx.cloud_display_name)
        except AwsError:
            return  # asked again at the next signed request
        if info is not None:
            self.ctx.cloud_canonical_id = info.canonical_id

    def _error_response(
        self, request: web.Request, exc: AwsError, resource: str, rid: str
    ) -> web.Response:
        code, status = s3_code(exc)
        level = logging.INFO if status < 500 else logging.ERROR
        log.log(level, "%s %s -> %d %s: %s", request.method, resource, status, code, exc.message)
        body = (
            b""
            if request.method == "HEAD" or status == 304
            else error_xml(exc, resource=resource, request_id=rid)
        )
        response = web.Response(body=body or None, status=status)
        if body:
            response.content_type = "application/xml"
        stamp(response, rid)
        extra_headers = exc.response_headers if isinstance(exc, S3Error) else {}
        for name, value in extra_headers.items():
            response.headers[name] = value
        if exc.extra.get("DeleteMarker") == "true":
            response.headers["x-amz-delete-marker"] = "true"
        if request.method in _BODY_METHODS and request.can_read_body:
            response.force_close()  # the unread body must not be taken for a next request
        return response
