"""The request pipeline of a Query API (EC2, IAM): read, authenticate, dispatch, render.

A :class:`QueryService` is built from a table of actions (``name -> handler``); it
reads the body under a size limit (refused from ``Content-Length`` before anything
is read), authenticates with :mod:`eucalyptus.common.auth` and the component's
:class:`Authenticator`, calls the handler and renders the family's envelope. Every
line logged while serving carries the request id. Errors that are not
:class:`AwsError` are logged with their traceback and answered ``InternalError``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Literal, Protocol, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web

from eucalyptus.common.api import envelopes
from eucalyptus.common.api.params import QueryParams
from eucalyptus.common.auth import HttpRequestParts, SigningKeyCache, identify
from eucalyptus.common.bodies import read_limited
from eucalyptus.common.errors import (
    AwsError,
    InternalError,
    InvalidAction,
    MalformedQueryString,
    RequestEntityTooLarge,
)
from eucalyptus.common.ids import request_id as new_request_id
from eucalyptus.common.logs import correlation_id

log = logging.getLogger(__name__)
P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)

DEFAULT_MAX_BODY = 1024 * 1024
ACTION_KEY = "euca.action"


class Authenticator(Protocol[P_co]):
    """Looks up an access key: returns its secret and the principal it belongs to.

    Raises InvalidClientTokenId when the key is unknown or not active.
    """

    async def resolve(self, access_key_id: str) -> tuple[str, P_co]: ...


@dataclass(frozen=True)
class ActionRequest(Generic[P]):
    """What an action handler receives."""

    action: str
    params: QueryParams
    principal: P
    request_id: str
    remote: str
    secure: bool
    received_at: datetime


Handler = Callable[[ActionRequest[P]], Awaitable[dict[str, Any] | None]]


class QueryService(Generic[P]):
    """One Query API (``family`` "iam" or "ec2") served from a table of actions."""

    def __init__(
        self,
        family: Literal["iam", "ec2"],
        actions: Mapping[str, Handler[P]],
        authenticator: Authenticator[P],
        *,
        max_body: int = DEFAULT_MAX_BODY,
        max_skew_seconds: int = 900,
    ) -> None:
        self.family = family
        self.actions = dict(actions)
        self.authenticator = authenticator
        self.max_body = max_body
        self.max_skew_seconds = max_skew_seconds
        self.key_cache = SigningKeyCache()

    async def handle(self, request: web.Request) -> web.Response:
        rid = new_request_id()
        token = correlation_id.set(rid)
        started = time.perf_counter()
        action = "-"
        try:
            action, version, result = await self._serve(request, rid)
            body = self._render_success(action, version, result, rid)
            status = 200
        except AwsError as error:
            action = request.get(ACTION_KEY, action)
            body, status = self._render_error(error, rid)
            code = error.code_for(self.family)[0]
            log.info("%s from %s refused: %s: %s", action, request.remote, code, error.message)
        except Exception:
            action = request.get(ACTION_KEY, action)
            log.exception("%s from %s failed", action, request.remote)
            body, status = self._render_error(InternalError("An internal error occurred."), rid)
        finally:
            correlation_id.reset(token)
        if status == 200:
            log.debug("%s ok in %.1f ms", action, (time.perf_counter() - started) * 1000)
        return web.Response(
            body=body,
            status=status,
            content_type="text/xml",
            charset="utf-8",
            headers={"x-amzn-RequestId": rid},
        )

    async def _serve(
        self, request: web.Request, rid: str
    ) -> tuple[str, str, dict[str, Any] | None]:
        raw = await self._read_body(request)
        form: list[tuple[str, str]] = []
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            try:
                form = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
            except (UnicodeDecodeError, ValueError):
                raise MalformedQueryString("The request body is not valid form data") from None
        parts = HttpRequestParts(
            method=request.method,
            raw_path=request.raw_path.split("?", 1)[0],
            query_string=request.query_string,
            headers=request.headers,
            body=raw,
            form=form,
        )
        received = datetime.now(UTC)
        pending = identify(parts)
        secret, principal = await self.authenticator.resolve(pending.access_key_id)
        pending.verify(
            secret,
            now=received,
            max_skew=timedelta(seconds=self.max_skew_seconds),
            key_cache=self.key_cache,
        )
        params = QueryParams(pending.params)
        action = params.action
        request[ACTION_KEY] = action
        handler = self.actions.get(action)
        if handler is None:
            raise InvalidAction(
                f"The action {action or '(none)'} is not valid for this web service."
            )
        result = await handler(
            ActionRequest(
                action=action,
                params=params,
                principal=principal,
                request_id=rid,
                remote=request.remote or "",
                secure=request.secure,
                received_at=received,
            )
        )
        return action, params.version, result

    async def _read_body(self, request: web.Request) -> bytes:
        return await read_limited(
            request.content,
            request.content_length,
            self.max_body,
            lambda: RequestEntityTooLarge(f"The request body exceeds {self.max_body} bytes"),
        )

    def _render_success(
        self, action: str, version: str, result: dict[str, Any] | None, rid: str
    ) -> bytes:
        if self.family == "iam":
            return envelopes.iam_success(action, result, rid)
        return envelopes.ec2_success(action, version, result or {}, rid)

    def _render_error(self, error: AwsError, rid: str) -> tuple[bytes, int]:
        if self.family == "iam":
            return envelopes.iam_error(error, rid)
        return envelopes.ec2_error(error, rid)
