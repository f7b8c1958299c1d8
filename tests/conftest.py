"""Shared fixtures: ``cloud`` is a running CLC on a fresh, initialised root."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import Cloud, Walrus, s3_client


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    running = Cloud(Path(tmp_path_factory.mktemp("euca")))
    try:
        running.initialize()
        running.start()
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def admin_iam(cloud: Cloud) -> Any:
    import boto3

    key, secret = cloud.admin_key
    return boto3.client(
        "iam",
        endpoint_url=cloud.url("Euare"),
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="eucalyptus",
    )


@pytest.fixture(scope="module")
def walrus(cloud: Cloud) -> Iterator[Walrus]:
    """A running Walrus of the module's cloud."""
    running = Walrus(cloud)
    try:
        running.start()
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def admin_s3(cloud: Cloud, walrus: Walrus) -> Any:
    """boto3 S3 client of the cloud administrator, path style under /services/Walrus."""
    return s3_client(walrus.service_url, cloud.admin_key)
