"""Walrus's IdentityClient against the CLC's Identity service, over real HTTP on 127.0.0.1.

The service runs in-process on a freshly initialised cloud (SQLite); its handlers are
wrapped to count the requests that reach them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.orm import Session

from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.database import clc_database
from eucalyptus.clc.identity import store
from eucalyptus.clc.identity.access import decide
from eucalyptus.clc.identity_service import identity_handlers, trusted_identity_peers
from eucalyptus.clc.initialize import initialize_cloud, load_cloud_ca
from eucalyptus.common import pki
from eucalyptus.common.config import EucaConf
from eucalyptus.common.db import Database
from eucalyptus.common.errors import (
    ConfigError,
    InvalidClientTokenId,
    InvalidParameterValue,
    ServiceUnavailable,
)
from eucalyptus.common.ids import canonical_user_id
from eucalyptus.common.paths import EucaPaths
from eucalyptus.common.policy import Decision
from eucalyptus.common.soap.client import SoapClient
from eucalyptus.common.soap.errors import UntrustedPeer
from eucalyptus.common.soap.identity_msgs import (
    IDENTITY_SERVICE,
    LOOKUP_ACCESS_KEY,
    LOOKUP_ACCOUNT,
    LookupAccessKeyType,
    LookupAccountType,
)
from eucalyptus.common.soap.security import ComponentKey
from eucalyptus.common.soap.server import SoapHandler, SoapRequestContext, add_soap_service
from eucalyptus.walrus.identity import AccountInfo, IdentityClient, load_identity_client
from tests.support import free_port

pytestmark = pytest.mark.timeout(60)

ALLOW_GET = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",'
    '"Resource":"arn:aws:s3:::photos/*"}]}'
)
ALLOW_LIST = '{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}'
DENY_DELETE = '{"Statement":[{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}'


@dataclass
class Cloud:
    paths: EucaPaths
    ctx: ClcContext
    db: Database
    cloud_key: ComponentKey
    admin: tuple[str, str]
    alice: tuple[str, str]
    carol: tuple[str, str]
    acme_number: str


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    paths = EucaPaths(tmp_path_factory.mktemp("clc"))
    initialize_cloud(paths, EucaConf({}))
    db = clc_database(paths, EucaConf({}))
    ctx = ClcContext(paths=paths, conf=EucaConf({}), db=db, public_host="127.0.0.1", port=8773)

    def populate(s: Session) -> tuple[tuple[str, str], tuple[str, str], tuple[str, str], str]:
        cloud_admin = store.get_user(s, store.get_account(s, "eucalyptus"), "admin")
        admin_key = store.create_access_key(s, cloud_admin)
        acme, _acme_admin = store.create_account(s, "acme")
        alice = store.create_user(s, acme, "alice", "/staff/")
        readers = store.create_group(s, acme, "readers", None)
        store.add_user_to_group(s, readers, alice)
        store.put_policy(s, "user", alice.id, acme.id, "get-photos", ALLOW_GET)
        store.put_policy(s, "group", readers.id, acme.id, "list", ALLOW_LIST)
        store.put_policy(s, "account", acme.id, acme.id, "no-delete", DENY_DELETE)
        alice_key = store.create_access_key(s, alice)
        carol = store.create_user(s, acme, "carol", None)
        carol_key = store.create_access_key(s, carol)
        carol.enabled = False
        return (
            (admin_key.key_id, admin_key.secret),
            (alice_key.key_id, alice_key.secret),
            (carol_key.key_id, carol_key.secret),
            acme.number,
        )

    admin, alice, carol, acme_number = db.run_sync(populate)
    key = ComponentKey.load(paths.keys_dir / "cloud-cert.pem", paths.keys_dir / "cloud-pk.pem")
    try:
        yield Cloud(paths, ctx, db, key, admin, alice, carol, acme_number)
    finally:
        db.close()


class Counting:
    """The service's handlers, counting calls per operation; ``gate`` holds them back."""

    def __init__(self, handlers: dict[str, SoapHandler]) -> None:
        self.calls: Counter[str] = Counter()
        self.gate: asyncio.Event | None = None
        #: set when a call has reached a handler
        self.entered = asyncio.Event()
        self._handlers = handlers

    def table(self) -> dict[str, SoapHandler]:
        return {name: self._wrap(name, handler) for name, handler in self._handlers.items()}

    def _wrap(self, name: str, handler: SoapHandler) -> SoapHandler:
        async def counted(request: Any, context: SoapRequestContext) -> Any:
            self.calls[name] += 1
            self.entered.set()
            if self.gate is not None:
                await self.gate.wait()
            return await handler(request, context)

        return counted


@dataclass
class Running:
    url: str
    http: aiohttp.ClientSession
    counting: Counting

    def client(self, key: ComponentKey, **options: Any) -> IdentityClient:
        return IdentityClient(clc_url=self.url, key=key, http=self.http, **options)


@asynccontextmanager
async def serving(cloud: Cloud) -> AsyncIterator[Running]:
    counting = Counting(identity_handlers(cloud.ctx))
    app = web.Application()
    add_soap_service(app, IDENTITY_SERVICE, counting.table(), trusted_identity_peers(cloud.paths))
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as http:
        yield Running(str(server.make_url("/")), http, counting)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- access keys ------------------------------------------------------------------------------


def test_the_cloud_admin_key_resolves_to_the_cloud_administrator(cloud: Cloud) -> None:
    async def scenario() -> None:
        async with serving(cloud) as running:
            secret, principal = await running.client(cloud.cloud_key).resolve(cloud.admin[0])
            assert secret == cloud.admin[1]
            assert principal.account_name == "eucalyptus"
            assert principal.user_name == "admin"
            assert principal.user_path == "/"
            assert principal.access_key_id == cloud.admin[0]
            assert principal.user_unique_id.startswith("AIDA")
            assert principal.is_cloud_admin
            assert principal.policies == () and principal.account_policies == ()

    asyncio.run(scenario())


def test_a_user_comes_with_its_own_group_and_account_policies_parsed(cloud: Cloud) -> None:
    async def scenario() -> None:
        async with serving(cloud) as running:
            secret, principal = await running.client(cloud.cloud_key).resolve(cloud.alice[0])
        assert secret == cloud.alice[1]
        assert (principal.account_name, principal.account_number) == ("acme", cloud.acme_number)
        assert principal.arn == f"arn:aws:iam::{cloud.acme_number}:user/staff/alice"
        assert not principal.is_account_admin and not principal.is_cloud_admin
        assert len(principal.policies) == 2 and len(principal.account_policies) == 1

        def allowed(action: str, resource: str) -> Decision:
            return decide(principal, action, resource, {})

        assert allowed("s3:GetObject", "arn:aws:s3:::photos/cat.jpg") is Decision.ALLOW
        assert allowed("s3:ListBucket", "arn:aws:s3:::photos") is Decision.ALLOW
        assert allowed("s3:PutObject", "arn:aws:s3:::photos/x") is Decision.IMPLICIT_DENY
        assert allowed("s3:DeleteObject", "arn:aws:s3:::photos/x") is Decision.EXPLICIT_DENY

    asyncio.run(scenario())


def test_unknown_malformed_and_disabled_users_keys_are_invalid(cloud: Cloud) -> None:
    async def scenario() -> None:
        async with serving(cloud) as running:
            client = running.client(cloud.cloud_key)
            for key_id in ("AKINOSUCHKEY00000000", cloud.carol[0]):
                with pytest.raises(InvalidClientTokenId):
                    await client.resolve(key_id)
            assert running.counting.calls["LookupAccessKey"] == 2
            for junk in ("", "has space", "ctl\x01char", "x" * 300):
                with pytest.raises(InvalidClientTokenId):
                    await client.resolve(junk)
            assert running.counting.calls["LookupAccessKey"] == 2  # never sent

    asyncio.run(scenario())


def test_a_deactivated_key_stops_working_once_the_ttl_has_passed(cloud: Cloud) -> None:
    def make_key(s: Session) -> tuple[str, str]:
        account = store.get_account(s, "acme")
        user = store.create_user(s, account, "bob", None)
        key = store.create_access_key(s, user)
        return key.key_id, key.secret

    def deactivate(s: Session) -> None:
        account = store.get_account(s, "acme")
        user = store.get_user(s, account, "bob")
        store.get_access_key(s, user, key_id).status = "Inactive"

    key_id, secret = cloud.db.run_sync(make_key)

    async def scenario() -> None:
        async with serving(cloud) as running:
            client = running.client(cloud.cloud_key, ttl=0.3)
            assert (await client.resolve(key_id))[0] == secret
            await cloud.db.run(deactivate)
            assert (await client.resolve(key_id))[0] == secret  # still remembered
            await asyncio.sleep(0.35)
            with pytest.raises(InvalidClientTokenId):
                await client.resolve(key_id)
            assert running.counting.calls["LookupAccessKey"] == 2

    asyncio.run(scenario())


def test_answers_are_cached_positive_for_the_ttl_and_negative_for_at_most_a_second(
    cloud: Cloud,
) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        async with serving(cloud) as running:
            client = running.client(cloud.cloud_key, ttl=5.0, clock=clock)
            calls = running.counting.calls
            first = await client.resolve(cloud.alice[0])
            assert await client.resolve(cloud.alice[0]) is first
            assert calls["LookupAccessKey"] == 1
            for _ in range(3):
                with pytest.raises(InvalidClientTokenId):
                    await client.resolve("AKIBOGUS")
            assert calls["LookupAccessKey"] == 2
            clock.now += 1.01  # the negative answer is forgotten, the positive one is not
            with pytest.raises(InvalidClientTokenId):
                await client.resolve("AKIBOGUS")
            await client.resolve(cloud.alice[0])
            assert calls["LookupAccessKey"] == 3
            clock.now += 4.0
            await client.resolve(cloud.alice[0])
            assert calls["LookupAccessKey"] == 4

    asyncio.run(scenario())


def test_the_cache_is_bounded(cloud: Cloud) -> None:
    async def scenario() -> None:
        async with serving(cloud) as running:
            client = running.client(cloud.cloud_key, size=1)
            await client.resolve(cloud.admin[0])
            await client.resolve(cloud.alice[0])  # pushes the admin key out
            await client.resolve(cloud.alice[0])
            await client.resolve(cloud.admin[0])
            assert running.counting.calls["LookupAccessKey"] == 3

    asyncio.run(scenario())


def test_concurrent_lookups_of_one_key_share_one_request(cloud: Cloud) -> None:
    async def scenario() -> None:
        async with serving(cloud) as running:
            running.counting.gate = asyncio.Event()
            client = running.client(cloud.cloud_key)
            waiters = [asyncio.create_task(client.resolve(cloud.alice[0])) for _ in range(20)]
            await running.counting.entered.wait()
            waiters[0].cancel()  # one caller giving up does not cancel the others' lookup
            running.counting.gate.set()
            results = await asyncio.gather(*waiters[1:])
            assert {secret for secret, _principal in results} == {cloud.alice[1]}
            assert running.counting.calls["LookupAccessKey"] == 1

    asyncio.run(scenario())


# --- who may ask ------------------------------------------------------------------------------


def test_a_signer_other_than_the_cloud_certificate_is_refused(cloud: Cloud) -> None:
    ca = load_cloud_ca(cloud.paths)
    cluster = pki.issue_component_keypair(ca, "cluster", "PARTI00")  # issued by the cloud CA
    cluster_key = ComponentKey(cluster.cert, cluster.key)

    async def scenario() -> None:
        async with serving(cloud) as running:
            with pytest.raises(ServiceUnavailable):
                await running.client(cluster_key).resolve(cloud.admin[0])
            raw = SoapClient(IDENTITY_SERVICE, running.url, cluster_key, running.http)
            with pytest.raises(UntrustedPeer):
                await raw.call(LOOKUP_ACCESS_KEY, LookupAccessKeyType(access_key_id="AKI"))
            assert running.counting.calls["LookupAccessKey"] == 0

    asyncio.run(scenario())


def test_an_unreachable_clc_is_service_unavailable_and_not_cached(cloud: Cloud) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as http:
            client = IdentityClient(
                clc_url=f"http://127.0.0.1:{free_port()}", key=cloud.cloud_key, http=http
            )
            for _ in range(2):
                with pytest.raises(ServiceUnavailable):
                    await client.resolve(cloud.admin[0])
                with pytest.raises(ServiceUnavailable):
                    await client.account(number=cloud.acme_number)
            assert not client._inflight

    asyncio.run(scenario())


# --- accounts ---------------------------------------------------------------------------------


def test_accounts_are_found_by_number_and_canonical_id(cloud: Cloud) -> None:
    canonical = canonical_user_id(cloud.acme_number)
    expected = AccountInfo(
        account_number=cloud.acme_number,
        account_name="acme",
        canonical_id=canonical,
        display_name="acme",
    )

    async def scenario() -> None:
        async with serving(cloud) as running:
            client = running.client(cloud.cloud_key)
            assert await client.account(number=cloud.acme_number) == expected
            assert await client.account(canonical_id=canonical) == expected
            assert running.counting.calls["LookupAccount"] == 1  # the second came from cache
            fresh = running.client(cloud.cloud_key)
            assert await fresh.account(canonical_id=canonical) == expected
            assert await fresh.account(number="999999999999") is None
            assert await fresh.account(canonical_id="0" * 64) is None
            assert await fresh.account(canonical_id="not-hex") is None
            assert await fresh.account(email="alice@example.com") is None  # no e-mail records
            with pytest.raises(ValueError, match="exactly one"):
                await fresh.account()
            with pytest.raises(ValueError, match="exactly one"):
                await fresh.account(number=cloud.acme_number, canonical_id=canonical)

    asyncio.run(scenario())


def test_an_account_made_after_the_canonical_index_is_found_by_canonical_id(
    cloud: Cloud,
) -> None:
    async def scenario() -> None:
        async with serving(cloud) as running:
            client = running.client(cloud.cloud_key)
            assert await client.account(canonical_id=canonical_user_id(cloud.acme_number))
            number = await cloud.db.run(lambda s: store.create_account(s, "late")[0].number)
            found = await client.account(canonical_id=canonical_user_id(number))
            assert found is not None and found.account_name == "late"

    asyncio.run(scenario())


def test_the_service_wants_exactly_one_account_criterion(cloud: Cloud) -> None:
    async def scenario() -> None:
        async with serving(cloud) as running:
            raw = SoapClient(IDENTITY_SERVICE, running.url, cloud.cloud_key, running.http)
            for request in (
                LookupAccountType(),
                LookupAccountType(account_number=cloud.acme_number, email="a@b.c"),
            ):
                with pytest.raises(InvalidParameterValue, match="exactly one"):
                    await raw.call(LOOKUP_ACCOUNT, request)

    asyncio.run(scenario())


# --- building the client ----------------------------------------------------------------------


def test_load_identity_client_reads_the_cloud_keys_and_the_clc_address(
    cloud: Cloud, tmp_path: Path
) -> None:
    conf = EucaConf.parse('CLC_HOST="fd00::5"\nCLC_PORT="18773"\n')
    client = load_identity_client(cloud.paths, conf, ttl=2.0)
    assert client.clc_url == "http://[fd00::5]:18773"
    assert client.ttl == 2.0
    assert load_identity_client(cloud.paths, EucaConf({})).clc_url == "http://127.0.0.1:8773"
    with pytest.raises(ConfigError, match=r"cloud-cert\.pem and .*cloud-pk\.pem are missing"):
        load_identity_client(EucaPaths(tmp_path), EucaConf({}))
    with pytest.raises(ConfigError, match="CLC_PORT"):
        load_identity_client(cloud.paths, EucaConf.parse('CLC_PORT="99999"\n'))


def test_a_client_without_a_session_makes_one_and_closes_it(cloud: Cloud) -> None:
    async def scenario() -> None:
        async with serving(cloud) as running:
            client = IdentityClient(clc_url=running.url, key=cloud.cloud_key)
            assert (await client.resolve(cloud.admin[0]))[0] == cloud.admin[1]
            own = client._own_http
            assert own is not None and not own.closed
            await client.close()
            assert own.closed

    asyncio.run(scenario())
