"""What the CLC's request handlers share: one object, built by the application factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from eucalyptus.clc.identity.access import PolicyCache
from eucalyptus.common.config import EucaConf
from eucalyptus.common.db import Database
from eucalyptus.common.paths import EucaPaths

if TYPE_CHECKING:
    import aiohttp


@dataclass
class ClcContext:
    paths: EucaPaths
    conf: EucaConf
    db: Database
    #: the public address clients use, for eucarc URLs (CLC_HOST or the bind address)
    public_host: str
    port: int
    policies: PolicyCache = field(default_factory=PolicyCache)
    #: a client session for calls to other components (set at start-up)
    http: aiohttp.ClientSession | None = None
    started_at: datetime | None = None

    @property
    def ec2_url(self) -> str:
        return f"http://{self.public_host}:{self.port}/services/Eucalyptus"

    @property
    def iam_url(self) -> str:
        return f"http://{self.public_host}:{self.port}/services/Euare"

    @property
    def s3_url(self) -> str:
        walrus_host = self.conf.get_str("WALRUS_HOST", self.public_host) or self.public_host
        walrus_port = self.conf.get_int("WALRUS_PORT", 8779)
        return f"http://{walrus_host}:{walrus_port}/services/Walrus"

    @property
    def token_url(self) -> str:
        return f"http://{self.public_host}:{self.port}/services/Tokens"
