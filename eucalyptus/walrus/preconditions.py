"""Conditional requests (If-Match and friends) and byte ranges, as S3 evaluates them.

GET / HEAD (RFC 7232 order, with S3's twist that a true If-Match overrides a false
If-Unmodified-Since, and a false If-None-Match overrides a true If-Modified-Since):
If-Match false -> 412; else If-Unmodified-Since false (no If-Match) -> 412;
If-None-Match matches -> 304; else If-Modified-Since not modified (no If-None-Match) -> 304.
Copy: the ``x-amz-copy-source-if-*`` headers, every failure 412.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from eucalyptus.walrus.errors import InvalidRange, NotModified, PreconditionFailed
from eucalyptus.walrus.models import ObjectVersion

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def _etag_matches(header: str, etag: str) -> bool:
    for candidate in header.split(","):
        value = candidate.strip()
        if value.startswith("W/"):
            value = value[2:]
        if value == "*" or value.strip('"') == etag:
            return True
    return False


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # an unparsable date is ignored, as S3 does
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(tzinfo=None)


def _modified_after(row: ObjectVersion, moment: datetime) -> bool:
    return row.last_modified.replace(microsecond=0) > moment


def check_conditions(
    lower: Mapping[str, str], row: ObjectVersion, headers: Mapping[str, str]
) -> None:
    """Raise PreconditionFailed (412) or NotModified (304) per the module doc."""
    if_match = lower.get("if-match")
    if_none_match = lower.get("if-none-match")
    if if_match is not None and not _etag_matches(if_match, row.etag):
        raise PreconditionFailed(Condition="If-Match")
    unmodified_since = _date(lower.get("if-unmodified-since"))
    if if_match is None and unmodified_since is not None and _modified_after(row, unmodified_since):
        raise PreconditionFailed(Condition="If-Unmodified-Since")
    if if_none_match is not None and _etag_matches(if_none_match, row.etag):
        error = NotModified()
        error.response_headers = {
            "ETag": headers.get("ETag", ""),
            "Last-Modified": headers.get("Last-Modified", ""),
        }
        raise error
    modified_since = _date(lower.get("if-modified-since"))
    if (
        if_none_match is None
        and modified_since is not None
        and not _modified_after(row, modified_since)
    ):
        error = NotModified()
        error.response_headers = {
            "ETag": headers.get("ETag", ""),
            "Last-Modified": headers.get("Last-Modified", ""),
        }
        raise error


def check_copy_conditions(lower: Mapping[str, str], source: ObjectVersion) -> None:
    """412 when an ``x-amz-copy-source-if-*`` condition on the source fails."""
    if_match = lower.get("x-amz-copy-source-if-match")
    if_none_match = lower.get("x-amz-copy-source-if-none-match")
    unmodified = _date(lower.get("x-amz-copy-source-if-unmodified-since"))
    modified = _date(lower.get("x-amz-copy-source-if-modified-since"))
    if if_match is not None and not _etag_matches(if_match, source.etag):
        raise PreconditionFailed(Condition="x-amz-copy-source-If-Match")
    if if_match is None and unmodified is not None and _modified_after(source, unmodified):
        raise PreconditionFailed(Condition="x-amz-copy-source-If-Unmodified-Since")
    if if_none_match is not None and _etag_matches(if_none_match, source.etag):
        raise PreconditionFailed(Condition="x-amz-copy-source-If-None-Match")
    if if_none_match is None and modified is not None and not _modified_after(source, modified):
        raise PreconditionFailed(Condition="x-amz-copy-source-If-Modified-Since")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``bytes=`` range; None to send the whole object.

    A malformed header or several ranges are ignored (the whole object, 200), as S3
    does; a range that starts at or past the end is InvalidRange (416).
    """
    if header is None:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first_raw, last_raw = match.groups()
    if not first_raw and not last_raw:
        return None
    if not first_raw:
        suffix = int(last_raw)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(header, size)
        return max(0, size - suffix), size - 1
    first = int(first_raw)
    last = int(last_raw) if last_raw else size - 1
    if last_raw and last < first:
        return None
    if first >= size:
        raise _unsatisfiable(header, size)
    return first, min(last, size - 1)


def _unsatisfiable(header: str, size: int) -> InvalidRange:
    error = InvalidRange(RangeRequested=header, ActualObjectSize=str(size))
    error.response_headers = {"Content-Range": f"bytes */{size}"}
    return error
