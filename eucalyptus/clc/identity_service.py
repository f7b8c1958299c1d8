"""The CLC side of the ``Identity`` SOAP service (``/services/Identity``).

Components that authenticate users themselves (Walrus) ask here rather than keep a copy of
the identity records: see :mod:`eucalyptus.common.soap.identity_msgs` for the operations.
Every answer is read from the database at the time of the call; the callers cache briefly.
Only the cloud certificate may call (:func:`trusted_identity_peers`): Walrus runs on the
CLC host or has the cloud key pair copied to it, as in the original.

Canonical user ids are derived from account numbers by a one-way hash, so a lookup by
canonical id compares with every account's; the hashes are kept in memory and the account
numbers are read again only when an id is not among them.
"""

from __future__ import annotations

import logging
import re
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.identity.access import active_key
from eucalyptus.clc.identity.models import Account
from eucalyptus.clc.identity.store import documents_governing
from eucalyptus.clc.initialize import cloud_cert_path
from eucalyptus.common.errors import InvalidParameterValue
from eucalyptus.common.ids import canonical_user_id
from eucalyptus.common.paths import EucaPaths
from eucalyptus.common.soap.identity_msgs import (
    LookupAccessKeyResponseType,
    LookupAccessKeyType,
    LookupAccountResponseType,
    LookupAccountType,
)
from eucalyptus.common.soap.security import TrustedPeers
from eucalyptus.common.soap.server import SoapHandler, SoapRequestContext

log = logging.getLogger(__name__)

_CANONICAL_ID = re.compile(r"[0-9a-f]{64}")


def trusted_identity_peers(paths: EucaPaths) -> TrustedPeers:
    """Only the cloud certificate; raises ``ConfigError`` when it cannot be read."""
    return TrustedPeers.load([cloud_cert_path(paths)])


def identity_handlers(ctx: ClcContext) -> dict[str, SoapHandler]:
    """One handler per operation of ``IDENTITY_SERVICE``."""
    impl = _IdentityService(ctx)
    return {"LookupAccessKey": impl.lookup_access_key, "LookupAccount": impl.lookup_account}


class _IdentityService:
    def __init__(self, ctx: ClcContext) -> None:
        self._ctx = ctx
        self._canonical = _CanonicalIndex()

    async def lookup_access_key(
        self, request: LookupAccessKeyType, context: SoapRequestContext
    ) -> LookupAccessKeyResponseType:
        answer = await self._ctx.db.run(lambda s: lookup_access_key(s, request.access_key_id))
        log.debug(
            "LookupAccessKey %s: %s (for %s)",
            request.access_key_id,
            "found" if answer.found else "not found",
            context.peer_subject,
        )
        return answer

    async def lookup_account(
        self, request: LookupAccountType, context: SoapRequestContext
    ) -> LookupAccountResponseType:
        given = [
            name
            for name, value in (
                ("accountNumber", request.account_number),
                ("canonicalId", request.canonical_id),
                ("email", request.email),
                ("accountName", request.account_name),
            )
            if value
        ]
        if len(given) != 1:
            raise InvalidParameterValue(
                "give exactly one of accountNumber, canonicalId, email and accountName, not "
                + (" and ".join(given) or "none")
            )
        answer = await self._ctx.db.run(lambda s: self._lookup_account(s, request))
        log.debug(
            "LookupAccount by %s: %s (for %s)",
            given[0],
            "found" if answer.found else "not found",
            context.peer_subject,
        )
        return answer

    def _lookup_account(
        self, session: Session, request: LookupAccountType
    ) -> LookupAccountResponseType:
        if request.email:
            # the identity records hold no e-mail address: nobody can be found by one
            return LookupAccountResponseType(found=False)
        number = request.account_number
        if request.canonical_id:
            found = self._canonical.number(session, request.canonical_id)
            if found is None:
                return LookupAccountResponseType(found=False)
            number = found
        if request.account_name:
            query = select(Account).where(Account.name == request.account_name)
        else:
            query = select(Account).where(Account.number == number)
        account = session.scalars(query).first()
        if account is None:
            return LookupAccountResponseType(found=False)
        return LookupAccountResponseType(
            found=True,
            account_number=account.number,
            account_name=account.name,
            canonical_id=canonical_user_id(account.number),
            display_name=account.name,
        )


def lookup_access_key(session: Session, access_key_id: str) -> LookupAccessKeyResponseType:
    """The answer to ``LookupAccessKey``: not found unless the key and its user are active."""
    row = active_key(session, access_key_id)
    if row is None:
        return LookupAccessKeyResponseType(found=False)
    key, user, account = row
    own, account_documents = documents_governing(session, user)
    return LookupAccessKeyResponseType(
        found=True,
        secret_key=key.secret,
        account_db_id=account.id,
        account_number=account.number,
        account_name=account.name,
        user_db_id=user.id,
        user_name=user.name,
        user_path=user.path,
        user_unique_id=user.unique_id,
        policies=own,
        account_policies=account_documents,
    )


class _CanonicalIndex:
    """Canonical user id -> account number, for every account seen at the last reading.

    Called on the database's worker threads: the map is only ever replaced whole.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_canonical: dict[str, str] = {}

    def number(self, session: Session, canonical_id: str) -> str | None:
        """The number of the account whose canonical id this is, or None."""
        if not _CANONICAL_ID.fullmatch(canonical_id):
            return None
        found = self._by_canonical.get(canonical_id)
        if found is not None:
            return found
        numbers = session.scalars(select(Account.number)).all()
        with self._lock:
            known = {number: canonical for canonical, number in self._by_canonical.items()}
            self._by_canonical = {
                known.get(number) or canonical_user_id(number): number for number in numbers
            }
            return self._by_canonical.get(canonical_id)
