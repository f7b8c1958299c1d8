"""Who holds an access key, and which account is which: asked of the CLC, cached briefly.

Walrus keeps no copy of the cloud's secrets (a copy could drift from the CLC's records).
:class:`IdentityClient` asks the CLC's ``Identity`` service
(:mod:`eucalyptus.common.soap.identity_msgs`), signing with the cloud key pair, and
remembers each answer for ``ttl`` seconds (default 5): a key deactivated or deleted at the
CLC stops working here within that time. "Not found" answers are remembered for at most
``negative_ttl`` seconds (default 1), enough to keep a flood of bad keys from reaching the
CLC one request each. Both caches are bounded (oldest entries go first). Concurrent
lookups of the same key or account share one request to the CLC.

Failures: an unknown, inactive or disabled key is :class:`InvalidClientTokenId`; a CLC that
cannot be reached, does not answer in time or refuses the call (wrong keys, say) is
:class:`ServiceUnavailable` to the S3 client, with the detail in the log. Failures are
never cached.

:func:`load_identity_client` builds the client from ``eucalyptus.conf`` (``CLC_HOST``,
default 127.0.0.1, and ``CLC_PORT``, default 8773) and ``keys/cloud-{cert,pk}.pem``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import aiohttp

from eucalyptus.clc.identity.access import PolicyCache
from eucalyptus.clc.identity.principal import Principal
from eucalyptus.clc.initialize import cloud_cert_path, cloud_key_path
from eucalyptus.common.config import EucaConf
from eucalyptus.common.errors import (
    AwsError,
    ConfigError,
    EucalyptusError,
    InternalError,
    InvalidClientTokenId,
    ServiceUnavailable,
)
from eucalyptus.common.paths import EucaPaths
from eucalyptus.common.soap.client import SoapClient
from eucalyptus.common.soap.errors import ComponentTimeout, ComponentUnreachable
from eucalyptus.common.soap.identity_msgs import (
    IDENTITY_SERVICE,
    LOOKUP_ACCESS_KEY,
    LOOKUP_ACCOUNT,
    LookupAccessKeyResponseType,
    LookupAccessKeyType,
    LookupAccountType,
)
from eucalyptus.common.soap.operations import Operation, ReqT, RespT
from eucalyptus.common.soap.security import ComponentKey

log = logging.getLogger(__name__)

DEFAULT_CLC_HOST = "127.0.0.1"
DEFAULT_CLC_PORT = 8773
#: what may be sent to the CLC as a key id, number, canonical id or e-mail address
_TOKEN = re.compile(r"[\x21-\x7e]{1,256}")
_INVALID_KEY = "The AWS Access Key Id you provided does not exist in our records."

V = TypeVar("V")
Credentials = tuple[str, Principal]


@dataclass(frozen=True)
class AccountInfo:
    """An account as S3 shows owners and grantees."""

    account_number: str
    account_name: str
    canonical_id: str
    #: the account name
    display_name: str


class _TtlCache(Generic[V]):
    """At most ``size`` entries, each until its own expiry time; None is a cached "no"."""

    def __init__(self, size: int, clock: Callable[[], float]) -> None:
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, V | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> tuple[bool, V | None]:
        """(hit, value): a miss when absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if entry[0] <= self._clock():
            del self._entries[key]
            return False, None
        return True, entry[1]

    def put(self, key: Hashable, value: V | None, ttl: float) -> None:
        if ttl <= 0:
            return
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class IdentityClient:
    """Access keys and accounts of the cloud, from the CLC's ``Identity`` service.

    ``clc_url`` is the CLC's base URL (``http://127.0.0.1:8773``); ``key`` is the cloud key
    pair, which the service trusts. Give ``http`` (or :meth:`start` it later) to share a
    client session; otherwise one is made at the first lookup and closed by :meth:`close`.
    """

    def __init__(
        self,
        *,
        clc_url: str,
        key: ComponentKey,
        http: aiohttp.ClientSession | None = None,
        ttl: float = 5.0,
        negative_ttl: float = 1.0,
        policies: PolicyCache | None = None,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if size <= 0:
            raise ValueError("the cache size must be positive")
        self.clc_url = clc_url.rstrip("/")
        self.ttl = ttl
        self.negative_ttl = min(negative_ttl, ttl)
        self._key = key
        self._http = http
        self._own_http: aiohttp.ClientSession | None = None
        self._policies = policies if policies is not None else PolicyCache()
        self._keys: _TtlCache[Credentials] = _TtlCache(size, clock)
        self._accounts: _TtlCache[AccountInfo] = _TtlCache(size, clock)
        self._inflight: dict[Hashable, asyncio.Task[Any]] = {}

    # --- lifecycle -----------------------------------------------------------------------
    def start(self, http: aiohttp.ClientSession | None = None) -> None:
        """Use ``http`` for the calls from now on (a session made earlier stays until close)."""
        if http is not None:
            self._http = http

    async def close(self) -> None:
        """Abandon lookups under way, forget the caches and close a session made here."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._inflight.clear()
        self._keys.clear()
        self._accounts.clear()
        if self._own_http is not None:
            await self._own_http.close()
            self._own_http = None

    # --- lookups -------------------------------------------------------------------------
    async def resolve(self, access_key_id: str) -> Credentials:
        """(secret, principal) of an active key; raises InvalidClientTokenId or
        ServiceUnavailable (see the module docstring)."""
        if not _TOKEN.fullmatch(access_key_id):
            raise InvalidClientTokenId(_INVALID_KEY)
        hit, cached = self._keys.get(access_key_id)
        if not hit:
            cached = await self._shared(
                ("key", access_key_id), lambda: self._fetch_key(access_key_id)
            )
        if cached is None:
            raise InvalidClientTokenId(_INVALID_KEY)
        return cached

    async def account(
        self, *, number: str = "", canonical_id: str = "", email: str = "", name: str = ""
    ) -> AccountInfo | None:
        """The account with exactly one of these; None when there is none.

        Raises ``ValueError`` unless exactly one is given, ServiceUnavailable when the CLC
        cannot answer. Nobody is found by e-mail: the identity records hold no addresses.
        """
        choices = (
            ("number", number),
            ("canonical", canonical_id),
            ("email", email),
            ("name", name),
        )
        given = [(kind, value) for kind, value in choices if value]
        if len(given) != 1:
            raise ValueError("give exactly one of number, canonical_id, email and name")
        kind, value = given[0]
        if not _TOKEN.fullmatch(value):
            return None
        hit, cached = self._accounts.get((kind, value))
        if hit:
            return cached
        return await self._shared(
            ("account", kind, value), lambda: self._fetch_account(kind, value)
        )

    async def _shared(self, key: Hashable, fetch: Callable[[], Coroutine[Any, Any, V]]) -> V:
        """``fetch()``, run once for all callers asking for ``key`` at the same time.

        The request goes on when a caller is cancelled; the others still get its answer.
        """
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(fetch())
            self._inflight[key] = task
            task.add_done_callback(functools.partial(self._finished, key))
        return cast(V, await asyncio.shield(task))

    def _finished(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here, so a result nobody awaited is not logged

    async def _fetch_key(self, access_key_id: str) -> Credentials | None:
        answer = await self._call(
            LOOKUP_ACCESS_KEY, LookupAccessKeyType(access_key_id=access_key_id)
        )
        if not answer.found:
            self._keys.put(access_key_id, None, self.negative_ttl)
            return None
        credentials = answer.secret_key, self._principal(access_key_id, answer)
        self._keys.put(access_key_id, credentials, self.ttl)
        return credentials

    def _principal(self, access_key_id: str, answer: LookupAccessKeyResponseType) -> Principal:
        try:
            policies = self._policies.parse_all(answer.policies)
            account_policies = self._policies.parse_all(answer.account_policies)
        except AwsError as exc:  # stored documents were validated: a version skew
            log.error("cannot parse a policy of %s from the CLC: %s", answer.user_name, exc)
            raise InternalError("the policies of this user cannot be evaluated") from None
        return Principal(
            account_id=answer.account_db_id,
            account_number=answer.account_number,
            account_name=answer.account_name,
            user_id=answer.user_db_id,
            user_name=answer.user_name,
            user_path=answer.user_path,
            user_unique_id=answer.user_unique_id,
            access_key_id=access_key_id,
            policies=policies,
            account_policies=account_policies,
        )

    async def _fetch_account(self, kind: str, value: str) -> AccountInfo | None:
        request = LookupAccountType(
            account_number=value if kind == "number" else "",
            canonical_id=value if kind == "canonical" else "",
            email=value if kind == "email" else "",
            account_name=value if kind == "name" else "",
        )
        answer = await self._call(LOOKUP_ACCOUNT, request)
        if not answer.found:
            self._accounts.put((kind, value), None, self.negative_ttl)
            return None
        info = AccountInfo(
            account_number=answer.account_number,
            account_name=answer.account_name,
            canonical_id=answer.canonical_id,
            display_name=answer.display_name,
        )
        self._accounts.put((kind, value), info, self.ttl)
        self._accounts.put(("number", info.account_number), info, self.ttl)
        self._accounts.put(("canonical", info.canonical_id), info, self.ttl)
        return info

    async def _call(self, op: Operation[ReqT, RespT], request: ReqT) -> RespT:
        client = SoapClient(IDENTITY_SERVICE, self.clc_url, self._key, self._session(), retries=1)
        try:
            return await client.call(op, request)
        except (ComponentUnreachable, ComponentTimeout) as exc:
            log.warning("%s: the cloud controller did not answer: %s", op.name, exc)
            raise ServiceUnavailable(
                "The cloud controller cannot be reached to check credentials; retry later."
            ) from None
        except EucalyptusError as exc:  # a fault: wrong keys, or a CLC without the service
            log.error("%s at %s failed: %s", op.name, self.clc_url, exc)
            raise ServiceUnavailable("The cloud controller cannot check credentials now.") from None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is not None and not self._http.closed:
            return self._http
        if self._own_http is None or self._own_http.closed:
            self._own_http = aiohttp.ClientSession()
        return self._own_http


def load_identity_client(
    paths: EucaPaths,
    conf: EucaConf,
    *,
    http: aiohttp.ClientSession | None = None,
    ttl: float = 5.0,
    policies: PolicyCache | None = None,
) -> IdentityClient:
    """The client for this cloud (reads the key files: blocking, at start-up).

    Raises ConfigError when the cloud key pair is missing or unreadable, or ``CLC_PORT`` is
    not a port number.
    """
    cert, key = cloud_cert_path(paths), cloud_key_path(paths)
    missing = [str(path) for path in (cert, key) if not path.exists()]
    if missing:
        raise ConfigError(
            f"Walrus needs the cloud key pair to ask the cloud controller about access keys, "
            f"but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing: run "
            "Walrus on the CLC host, or copy cloud-cert.pem and cloud-pk.pem from the CLC's "
            f"{paths.keys_dir.relative_to(paths.root)} directory"
        )
    host = conf.get_str("CLC_HOST", DEFAULT_CLC_HOST) or DEFAULT_CLC_HOST
    port = conf.get_int("CLC_PORT", DEFAULT_CLC_PORT, minimum=1, maximum=65535)
    url_host = f"[{host}]" if ":" in host else host
    return IdentityClient(
        clc_url=f"http://{url_host}:{port}",
        key=ComponentKey.load(cert, key),
        http=http,
        ttl=ttl,
        policies=policies,
    )
