"""The CLC keeps its identity records across a clean stop, a SIGKILL, and refuses a twin."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import select

from eucalyptus.clc.database import clc_database
from eucalyptus.clc.identity.models import Account, User
from eucalyptus.common.db import schema_versions
from tests.integration.euare import (
    account_admin_key,
    call,
    create_account,
    iam_client,
    unique,
    user_key,
)
from tests.support import BIN, Cloud, free_port

POLICY = json.dumps({"Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]})


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Cloud]:
    cloud = Cloud(tmp_path / "euca")
    try:
        cloud.initialize()
        cloud.start()
        yield cloud
    finally:
        cloud.close()


def _db_rows(cloud: Cloud, work: Any) -> Any:
    db = clc_database(cloud.paths, cloud.conf)
    try:
        return db.run_sync(work)
    finally:
        db.close()


def test_sigterm_stops_cleanly_and_everything_survives_a_restart(fresh: Cloud) -> None:
    admin = iam_client(fresh, fresh.admin_key)
    account = unique("keep")
    create_account(fresh, account)
    tenant_key = account_admin_key(fresh, account)
    tenant = iam_client(fresh, tenant_key)
    user, group = unique("u"), unique("g")
    tenant.create_user(UserName=user, Path="/kept/")
    tenant.create_group(GroupName=group)
    tenant.add_user_to_group(GroupName=group, UserName=user)
    tenant.put_group_policy(GroupName=group, PolicyName="get", PolicyDocument=POLICY)
    key = user_key(tenant, user)
    admin.create_user(UserName=user)  # same name in the cloud account: distinct user

    pid_file = fresh.paths.pid_file("cloud")
    assert pid_file.exists()
    assert fresh.stop() == 0
    assert not pid_file.exists()
    fresh.start()

    assert iam_client(fresh, key).get_user()["User"]["Path"] == "/kept/"
    assert (
        tenant.get_user(UserName=user)["User"]["Arn"].split(":")[4]
        != (admin.get_user(UserName=user)["User"]["Arn"].split(":")[4])
    )
    members = tenant.get_group(GroupName=group)["Users"]
    assert [m["UserName"] for m in members] == [user]
    assert tenant.get_group_policy(GroupName=group, PolicyName="get")["PolicyDocument"] == (
        json.loads(POLICY)
    )
    response = call(fresh, fresh.admin_key, "ListAccounts")
    assert account in response.text
    assert admin.get_user()["User"]["UserName"] == "admin"


def test_sigkill_during_create_burst_leaves_only_whole_users(fresh: Cloud) -> None:
    clients = [iam_client(fresh, fresh.admin_key) for _ in range(8)]
    succeeded: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def burst(iam: Any) -> None:
        while not stop.is_set():
            name = unique("burst")
            try:
                iam.create_user(UserName=name)
            except (ClientError, BotoCoreError):
                continue
            with lock:
                succeeded.append(name)

    with ThreadPoolExecutor(len(clients)) as pool:
        for iam in clients:
            pool.submit(burst, iam)
        deadline = time.monotonic() + 10
        while len(succeeded) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
        fresh.stop(kill=True)
        stop.set()
    assert len(succeeded) >= 40

    def check(session: Any) -> tuple[list[str], int, int]:
        names = list(session.scalars(select(User.name)))
        orphans = session.scalar(
            select(User.id)
            .outerjoin(Account, Account.id == User.account_id)
            .where(Account.id.is_(None))
        )
        version = session.execute(
            select(schema_versions.c.version).where(schema_versions.c.component == "cloud")
        ).scalar_one()
        return names, 0 if orphans is None else 1, version

    stale = fresh.paths.pid_file("cloud")
    assert stale.exists()  # SIGKILL leaves it; the next start must see the pid is dead
    fresh.start()
    names, orphans, version = _db_rows(fresh, check)
    assert set(succeeded) <= set(names)
    assert orphans == 0
    assert version == 1
    if not fresh.pg_name:
        with sqlite3.connect(fresh.paths.db_dir / "cloud.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    admin = iam_client(fresh, fresh.admin_key)
    listed = {u["UserName"] for u in admin.list_users(MaxItems=1000)["Users"]}
    assert set(succeeded) <= listed
    for name in listed - {"admin"}:
        admin.delete_user(UserName=name)  # nothing half-made hangs from any user


def test_second_daemon_on_the_same_root_refuses_to_start(fresh: Cloud) -> None:
    assert fresh.proc is not None
    twin = subprocess.run(
        [
            str(BIN / "eucalyptus-cloud"),
            "--eucalyptus",
            str(fresh.root),
            "--bind",
            "127.0.0.1",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert twin.returncode == 1
    assert f"already running as pid {fresh.proc.pid}" in fresh.log_text()
    assert fresh.paths.pid_file("cloud").read_text().strip() == str(fresh.proc.pid)
    assert iam_client(fresh, fresh.admin_key).get_user()["User"]["UserName"] == "admin"
