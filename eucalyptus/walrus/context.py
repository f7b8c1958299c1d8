"""What every Walrus handler shares: one object, built by the application factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from eucalyptus.common.auth import SigningKeyCache
from eucalyptus.common.config import EucaConf
from eucalyptus.common.db import Database
from eucalyptus.common.paths import EucaPaths
from eucalyptus.walrus.identity import IdentityClient
from eucalyptus.walrus.storage import BlobStore

MIB = 1024 * 1024


@dataclass(frozen=True)
class WalrusLimits:
    """The ``walrus.*`` properties (reference 6.5), from eucalyptus.conf for now.

    eucalyptus.conf keys: WALRUS_STORAGEMAXBUCKETSPERACCOUNT, WALRUS_STORAGEMAXBUCKETSIZEINMB,
    WALRUS_STORAGEMAXCACHESIZEINMB, WALRUS_STORAGEMAXTOTALSNAPSHOTSIZEINGB,
    WALRUS_BUCKETNAMESREQUIREDNSCOMPLIANCE.
    """

    max_buckets_per_account: int = 100
    max_bucket_size_mb: int = 5120
    max_cache_size_mb: int = 30720
    max_total_snapshot_size_gb: int = 50
    bucket_names_require_dns: bool = False
    #: S3's limits: one PUT, one part, parts per upload, minimum part size
    max_put_bytes: int = 5 * 1024 * MIB
    max_part_bytes: int = 5 * 1024 * MIB
    max_parts: int = 10000
    min_part_bytes: int = 5 * MIB

    @property
    def max_bucket_bytes(self) -> int:
        return self.max_bucket_size_mb * MIB

    @classmethod
    def from_conf(cls, conf: EucaConf) -> WalrusLimits:
        return cls(
            max_buckets_per_account=conf.get_int("WALRUS_STORAGEMAXBUCKETSPERACCOUNT", 100),
            max_bucket_size_mb=conf.get_int("WALRUS_STORAGEMAXBUCKETSIZEINMB", 5120),
            max_cache_size_mb=conf.get_int("WALRUS_STORAGEMAXCACHESIZEINMB", 30720),
            max_total_snapshot_size_gb=conf.get_int("WALRUS_STORAGEMAXTOTALSNAPSHOTSIZEINGB", 50),
            bucket_names_require_dns=conf.get_bool("WALRUS_BUCKETNAMESREQUIREDNSCOMPLIANCE", False),
            min_part_bytes=conf.get_int("WALRUS_MIN_PART_BYTES", 5 * MIB),
        )


@dataclass
class WalrusContext:
    paths: EucaPaths
    conf: EucaConf
    db: Database
    store: BlobStore
    identity: IdentityClient
    limits: WalrusLimits
    #: virtual-host style buckets live under this domain ("" turns it off)
    domain: str = ""
    max_skew: timedelta = timedelta(minutes=15)
    key_cache: SigningKeyCache = field(default_factory=SigningKeyCache)
    #: the canonical id and name of the cloud's own account (aws-exec-read, ec2-bundle-read)
    cloud_canonical_id: str = ""
    cloud_display_name: str = "eucalyptus"
