"""The Euare service: every action table merged into one QueryService."""

from __future__ import annotations

from typing import Any

from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.iam import accounts, credentials, groups, policies, users
from eucalyptus.clc.identity.access import ClcAuthenticator
from eucalyptus.clc.identity.principal import Principal
from eucalyptus.common.api.query_service import QueryService


def iam_service(ctx: ClcContext, authenticator: ClcAuthenticator) -> QueryService[Principal]:
    table: dict[str, Any] = {}
    for module in (users, groups, credentials, policies, accounts):
        part = module.actions(ctx)
        overlap = table.keys() & part.keys()
        if overlap:
            raise RuntimeError(f"Euare actions declared twice: {sorted(overlap)}")
        table.update(part)
    skew = ctx.conf.get_int("CLOCK_SKEW_SECONDS", 900, minimum=1)
    return QueryService("iam", table, authenticator, max_skew_seconds=skew)
