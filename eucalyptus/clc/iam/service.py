"""The Euare service: every action table merged into one QueryService."""

from __future__ import annotations

from typing import Any

from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.iam import accounts, credentials, groups, policies, users
from eucalyptus.clc.identity.access import ClcAuthenticator
from eucalyptus.clc.identity.principal import Principal
from eucalyptus.common.api.query_service import ActionRequest, Handler, QueryService

READ_ONLY_PREFIXES = ("Get", "List")


def _invalidating(handler: Handler[Principal], authenticator: ClcAuthenticator) -> Any:
    """``handler``, then forget every resolved key: identity records may have changed."""

    async def wrapped(req: ActionRequest[Principal]) -> dict[str, Any] | None:
        try:
            return await handler(req)
        finally:
            authenticator.invalidate()

    return wrapped


def iam_service(ctx: ClcContext, authenticator: ClcAuthenticator) -> QueryService[Principal]:
    table: dict[str, Any] = {}
    for module in (users, groups, credentials, policies, accounts):
        part = module.actions(ctx)
        overlap = table.keys() & part.keys()
        if overlap:
            raise RuntimeError(f"Euare actions declared twice: {sorted(overlap)}")
        table.update(part)
    for name, handler in list(table.items()):
        if not name.startswith(READ_ONLY_PREFIXES):
            table[name] = _invalidating(handler, authenticator)
    skew = ctx.conf.get_int("CLOCK_SKEW_SECONDS", 900, minimum=1)
    return QueryService("iam", table, authenticator, max_skew_seconds=skew)
