"""A parsed but not yet verified request signature.

Verification is split in two so that the caller can look the secret key up
asynchronously between the steps::

    pending = identify(parts)                      # no secret needed; may raise
    secret = await lookup(pending.access_key_id)   # caller raises InvalidClientTokenId
    pending.verify(secret, now=utcnow())           # raises on a bad signature or time
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from eucalyptus.common.auth.canonical import SigningKeyCache, as_utc, format_amz_date
from eucalyptus.common.auth.request import HttpRequestParts
from eucalyptus.common.errors import RequestExpired

#: every scheme a parser may report (the S3 SigV2 header scheme will add its own name)
SchemeName = Literal["sigv2", "sigv4", "sigv4-presigned", "s3v2", "s3v2-presigned"]

DEFAULT_MAX_SKEW = timedelta(minutes=15)


class PendingSignature(abc.ABC):
    """What a request claims about its signer, before the signature is checked.

    Attributes: ``access_key_id``; ``scheme``; ``region`` and ``service`` (SigV4
    scope, reported not checked; None for SigV2); ``signed_at`` (UTC: X-Amz-Date,
    Date header or Timestamp; for a SigV2 request carrying only ``Expires`` it is
    that expiry time); ``expires_at`` (UTC, SigV2 ``Expires`` or SigV4 presigned
    X-Amz-Date + X-Amz-Expires, else None); ``params``: the Query-API parameters of
    the request (query then form body) without the authentication-only ones.
    """

    scheme: SchemeName

    def __init__(
        self,
        *,
        access_key_id: str,
        signed_at: datetime,
        expires_at: datetime | None,
        params: list[tuple[str, str]],
        region: str | None = None,
        service: str | None = None,
    ) -> None:
        self.access_key_id = access_key_id
        self.signed_at = as_utc(signed_at)
        self.expires_at = None if expires_at is None else as_utc(expires_at)
        self.params = params
        self.region = region
        self.service = service

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.scheme} key={self.access_key_id} "
            f"region={self.region} service={self.service} signed_at={self.signed_at}>"
        )

    def verify(
        self,
        secret_key: str,
        *,
        now: datetime,
        max_skew: timedelta = DEFAULT_MAX_SKEW,
        key_cache: SigningKeyCache | None = None,
    ) -> None:
        """Check the time window, then the signature, against ``secret_key``.

        Raises RequestExpired when the request is outside its time window (see
        :meth:`check_time`), SignatureDoesNotMatch when the signature is wrong (its
        ``extra`` carries ``StringToSign`` and, for SigV4, ``CanonicalRequest``).
        ``now`` may be naive (taken as UTC). ``key_cache`` only serves SigV4.
        Returns normally only for a good signature.
        """
        self.check_time(as_utc(now), max_skew)
        self.check_signature(secret_key, key_cache)

    def check_time(self, now: datetime, max_skew: timedelta) -> None:
        """Default: signed_at within max_skew of now; now not past expires_at."""
        check_skew(self.signed_at, now, max_skew)
        if self.expires_at is not None:
            check_not_expired(self.expires_at, now)

    @abc.abstractmethod
    def check_signature(self, secret_key: str, key_cache: SigningKeyCache | None) -> None:
        """Raise SignatureDoesNotMatch unless the request was signed with ``secret_key``."""


#: a scheme parser: None if the request does not use its scheme, else the parsed
#: signature; raises IncompleteSignature / InvalidParameterValue when it is its
#: scheme but malformed
SchemeParser = Callable[[HttpRequestParts], PendingSignature | None]


def _time_extra(signed_at: datetime, now: datetime, max_skew: timedelta) -> dict[str, str]:
    return {
        "RequestTime": format_amz_date(signed_at),
        "ServerTime": format_amz_date(now),
        "MaxAllowedSkewMilliseconds": str(int(max_skew.total_seconds() * 1000)),
    }


def check_skew(signed_at: datetime, now: datetime, max_skew: timedelta) -> None:
    """RequestExpired if ``signed_at`` is more than ``max_skew`` before or after ``now``."""
    minutes = int(max_skew.total_seconds() // 60)
    if signed_at < now - max_skew:
        raise RequestExpired(
            f"Signature expired: {format_amz_date(signed_at)} is now earlier than "
            f"{format_amz_date(now - max_skew)} ({format_amz_date(now)} - {minutes} min.)",
            **_time_extra(signed_at, now, max_skew),
        )
    check_not_future(signed_at, now, max_skew)


def check_not_future(signed_at: datetime, now: datetime, max_skew: timedelta) -> None:
    """RequestExpired if ``signed_at`` is more than ``max_skew`` after ``now``."""
    minutes = int(max_skew.total_seconds() // 60)
    if signed_at > now + max_skew:
        raise RequestExpired(
            f"Signature not yet current: {format_amz_date(signed_at)} is still later than "
            f"{format_amz_date(now + max_skew)} ({format_amz_date(now)} + {minutes} min.)",
            **_time_extra(signed_at, now, max_skew),
        )


def check_not_expired(expires_at: datetime, now: datetime) -> None:
    """RequestExpired if ``now`` is past ``expires_at``."""
    if now > expires_at:
        raise RequestExpired(
            f"Request has expired: it expired at {format_amz_date(expires_at)}, "
            f"server time is {format_amz_date(now)}",
            Expires=format_amz_date(expires_at),
            ServerTime=format_amz_date(now),
        )
