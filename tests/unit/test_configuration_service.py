"""euca_conf against the CLC's Configuration service: register, probe, list, deregister,
credentials, and the one-line errors. The service runs in a thread on a free port."""

from __future__ import annotations

import asyncio
import io
import stat
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from eucalyptus.clc.configuration import configuration_handlers, trusted_admin_peers
from eucalyptus.clc.context import ClcContext
from eucalyptus.clc.database import clc_database
from eucalyptus.clc.initialize import initialize_cloud, load_cloud_ca
from eucalyptus.common import pki
from eucalyptus.common.config import EucaConf
from eucalyptus.common.paths import EucaPaths
from eucalyptus.common.soap.configuration_msgs import (
    DESCRIBE_SERVICE,
    DescribeServiceResponseType,
)
from eucalyptus.common.soap.credentials_msgs import CLC_CONFIGURATION_SERVICE
from eucalyptus.common.soap.operations import ServiceDecl
from eucalyptus.common.soap.security import TrustedPeers
from eucalyptus.common.soap.server import add_soap_service
from tests.support import free_port


class Served:
    """aiohttp applications running on their own event loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.runners: list[web.AppRunner] = []
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def serve(self, build: Any, port: int) -> None:
        async def start() -> None:
            runner = web.AppRunner(await build())
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            self.runners.append(runner)

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def close(self) -> None:
        async def stop() -> None:
            for runner in self.runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def clc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EucaPaths, int, Served]]:
    root = tmp_path_factory.mktemp("clc")
    paths = EucaPaths(root)
    initialize_cloud(paths, EucaConf({}))
    db = clc_database(paths, EucaConf({}))
    port = free_port()
    ctx = ClcContext(paths=paths, conf=EucaConf({}), db=db, public_host="127.0.0.1", port=port)
    served = Served()

    async def build() -> web.Application:
        app = web.Application()
        handlers = configuration_handlers(ctx, CLC_CONFIGURATION_SERVICE)
        add_soap_service(app, CLC_CONFIGURATION_SERVICE, handlers, trusted_admin_peers(paths))
        return app

    served.serve(build, port)
    try:
        yield paths, port, served
    finally:
        served.close()
        db.close()


def run(clc: tuple[EucaPaths, int, Served], *args: str) -> int:
    from eucalyptus.tools import euca_conf

    paths, port, _served = clc
    return euca_conf.main(["-d", str(paths.root), "--clc-port", str(port), *args])


def test_a_cluster_that_is_not_running_is_recorded_notready_with_its_keys(
    clc: tuple[EucaPaths, int, Served], capsys: pytest.CaptureFixture[str]
) -> None:
    paths = clc[0]
    dead = str(free_port())
    code = run(clc, "--register-cluster", "-P", "PARTI00", "-H", "127.0.0.1", "-C", "CC_1",
               "--port", dead, "--no-rsync", "--no-scp")  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "SUCCESS: new cluster 'CC_1' on host '127.0.0.1' successfully registered." in out
    assert "CLUSTER\tPARTI00\tCC_1\t127.0.0.1\tNOTREADY" in out
    assert "ComponentUnreachable" in out
    ca = load_cloud_ca(paths)
    for kind in ("cluster", "node"):
        pair = pki.KeyPair.load(
            paths.keys_dir / "PARTI00" / f"{kind}-cert.pem",
            paths.keys_dir / "PARTI00" / f"{kind}-pk.pem",
        )
        assert pki.verify_issued_by(pair.cert, ca.cert)
        key_file = paths.keys_dir / "PARTI00" / f"{kind}-pk.pem"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (paths.keys_dir / "cluster-pk.pem").exists()  # a local CC gets its keys flat

    assert run(clc, "--list-clusters") == 0
    assert capsys.readouterr().out == "CLUSTER\tPARTI00\tCC_1\t127.0.0.1\tNOTREADY\n"
    again = run(clc, "--register-cluster", "-P", "PARTI01", "-H", "127.0.0.1", "-C", "CC_1")
    err = capsys.readouterr().err
    assert again == 1
    assert err == "euca_conf: error: EntityAlreadyExists: cluster CC_1 is already registered " \
        "at 127.0.0.1\n"  # fmt: skip


def test_a_running_component_is_recorded_enabled(
    clc: tuple[EucaPaths, int, Served], capsys: pytest.CaptureFixture[str]
) -> None:
    paths, _port, served = clc
    sc_port = free_port()
    storage = ServiceDecl("EucalyptusSC", "/services/Storage", (DESCRIBE_SERVICE,))

    async def describe(_request: Any, _context: Any) -> DescribeServiceResponseType:
        return DescribeServiceResponseType(
            component_type="storage", name="SC_1", state="ENABLED", version="t",
            local_time=datetime.now(UTC),
        )  # fmt: skip

    async def build() -> web.Application:
        app = web.Application()
        trusted = TrustedPeers.load([paths.keys_dir / "cloud-cert.pem"])
        add_soap_service(app, storage, {"DescribeService": describe}, trusted)
        return app

    served.serve(build, sc_port)
    code = run(clc, "--register-sc", "-P", "PARTI00", "-H", "127.0.0.1", "-C", "SC_1",
               "--port", str(sc_port))  # fmt: skip
    assert code == 0
    assert "STORAGE\tPARTI00\tSC_1\t127.0.0.1\tENABLED" in capsys.readouterr().out
    assert run(clc, "--list-components") == 0
    assert "STORAGE\tPARTI00\tSC_1\t127.0.0.1\tENABLED\n" in capsys.readouterr().out
    assert run(clc, "--deregister-sc", "-C", "SC_1") == 0
    capsys.readouterr()
    assert run(clc, "--list-scs") == 0
    assert capsys.readouterr().out == ""


def test_bad_registrations_are_refused_in_one_line(
    clc: tuple[EucaPaths, int, Served], capsys: pytest.CaptureFixture[str]
) -> None:
    for args, message in (
        (["-P", "PARTI09", "-H", "bad host!", "-C", "CC_9"], "is not a host name"),
        (["-P", "../etc", "-H", "10.1.1.1", "-C", "CC_9"], "partition '../etc'"),
        (["-P", "PARTI09", "-H", "10.1.1.1", "-C", "CC_9", "--port", "70000"], "not between"),
        (["-P", "PARTI09", "-H", "10.1.1.1"], "needs -H HOST and -C NAME"),
    ):
        assert run(clc, "--register-cluster", *args) == 1
        err = capsys.readouterr().err
        assert message in err
        assert err.count("\n") == 1
    assert not (clc[0].keys_dir / "PARTI09").exists()


def test_deregistering_keeps_the_keys_and_unknown_names_are_no_such_entity(
    clc: tuple[EucaPaths, int, Served], capsys: pytest.CaptureFixture[str]
) -> None:
    paths = clc[0]
    code = run(clc, "--register-cluster", "-P", "PARTI02", "-H", "127.0.0.1", "-C", "CC_2",
               "--port", str(free_port()))  # fmt: skip
    capsys.readouterr()
    assert code == 0
    assert run(clc, "--deregister-cluster", "-P", "PARTI02", "-C", "CC_2") == 0
    assert (paths.keys_dir / "PARTI02" / "node-pk.pem").exists()
    assert run(clc, "--deregister-cluster", "-C", "CC_2") == 1
    assert "NoSuchEntity: no cluster named CC_2" in capsys.readouterr().err


def test_get_credentials_writes_a_0600_zip_and_refuses_unknown_users(
    clc: tuple[EucaPaths, int, Served], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "admin.zip"
    assert run(clc, "--get-credentials", str(out)) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
        eucarc = archive.read("eucarc").decode()
    assert f"AWS_ENDPOINT_URL_IAM=http://127.0.0.1:{clc[1]}/services/Euare" in eucarc
    code = run(clc, "--get-credentials", str(tmp_path / "x.zip"), "--cred-user", "nobody")
    err = capsys.readouterr().err
    assert code == 1
    assert err == "euca_conf: error: NoSuchEntity: The user with name nobody cannot be found.\n"
    assert not (tmp_path / "x.zip").exists()


def test_an_unreachable_clc_and_an_uninitialised_root_fail_in_one_line(
    clc: tuple[EucaPaths, int, Served], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from eucalyptus.tools import euca_conf

    root = str(clc[0].root)
    assert euca_conf.main(["-d", root, "--clc-port", str(free_port()), "--list-clusters"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("euca_conf: error: cannot reach the cloud controller at http://")
    assert err.count("\n") == 1
    assert euca_conf.main(["-d", str(tmp_path), "--list-clusters"]) == 1
    err = capsys.readouterr().err
    assert "the cloud is not initialised" in err
    assert err.count("\n") == 1
