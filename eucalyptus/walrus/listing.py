"""Bucket listings: ListObjects (v1 and v2), ListObjectVersions, ListMultipartUploads, ListParts.

Every listing is a keyset walk: each query asks for the next few rows after a
cursor, in index order, so a page costs the same in a bucket of ten keys or ten
million, and no query ever reads a whole bucket. Keys compare as UTF-8 bytes
(SQLite's BINARY collation, ``C`` on PostgreSQL), which is also how Python compares
``str`` (code point order), so bounds computed here agree with the database.

With a delimiter, the keys under a common prefix ``P`` roll up into one entry, and
the walk steps over all of them with one query: it continues from
:func:`successor` of ``P``, the smallest string greater than every string that
starts with ``P`` (``P`` with its last character incremented). A prefix is a key
range the same way: ``prefix <= key < successor(prefix)``.

S3's paging rules, as implemented:

* ``max_keys`` counts keys and common prefixes together; the page's ``next_marker``
  is its last entry, a key or a common prefix.
* a marker (v1 ``marker``, v2 ``start-after`` or continuation token, ``key-marker``)
  that is exactly a common prefix skips everything under it, so a page that ended
  on a common prefix resumes after the whole "folder"; any other marker resumes
  with the keys after it, and a common prefix that holds such keys is listed.
* a version id marker (or upload id marker) that no longer exists, because it was
  deleted between pages, resumes at the start of its key: a client that deletes
  what it lists as it goes sees the rest rather than an error, and nothing is
  skipped.

Scans select only keys and row ids (a covering read of the index); the rows a page
returns are loaded afterwards by id, at most one page of them.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from sqlalchemy import ColumnElement, Connection, and_, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from eucalyptus.walrus.errors import InvalidArgument, NoSuchUpload
from eucalyptus.walrus.models import ObjectVersion, Part, Upload

#: S3 never returns more than this many entries in one page
MAX_PAGE = 1000
#: the largest value S3 accepts for max-keys and its kind
_MAX_INT = 2**31 - 1
_INTEGER = re.compile(r"-?[0-9]{1,20}")
#: with a delimiter, rows read per query: a query may land in a large common prefix
#: and read rows it then steps over, so it asks for few
_DELIMITED_BATCH = 128
#: rows of one common prefix read in passing before the walk jumps over the rest
_SKIP_BEFORE_JUMP = 8
_TOKEN_TAG = b"wk1\x00"
_MAX_TOKEN = 4096
_LAST_CODE_POINT = 0x10FFFF


# --- results ----------------------------------------------------------------------------


@dataclass
class ListPage:
    """A page of ListObjects: the latest version of each key, delete markers left out."""

    contents: list[ObjectVersion]
    common_prefixes: list[str]
    is_truncated: bool
    #: the page's last entry (key or common prefix) when truncated, else None
    next_marker: str | None


@dataclass
class VersionPage:
    """A page of ListObjectVersions: versions and delete markers in listing order."""

    versions: list[ObjectVersion]
    common_prefixes: list[str]
    is_truncated: bool
    #: when truncated: the last entry's key (or common prefix) ...
    next_key_marker: str | None
    #: ... and its version id (None when the page ended on a common prefix)
    next_version_id_marker: str | None


@dataclass
class UploadPage:
    """A page of ListMultipartUploads."""

    uploads: list[Upload]
    common_prefixes: list[str]
    is_truncated: bool
    #: the last entry's key (or common prefix), truncated or not; None for an empty page
    next_key_marker: str | None
    #: the last entry's upload id (None when it is a common prefix)
    next_upload_id_marker: str | None


@dataclass
class PartPage:
    """A page of ListParts, with the upload the parts belong to."""

    upload: Upload
    parts: list[Part]
    is_truncated: bool
    #: the last part number listed (the marker given when the page is empty)
    next_part_number_marker: int


# --- request validation -----------------------------------------------------------------


def parse_max_keys(value: str | None, default: int = MAX_PAGE, *, name: str = "max-keys") -> int:
    """The page size asked for in ``name`` (max-keys, max-uploads, max-parts), capped at 1000.

    InvalidArgument for anything but a decimal integer from 0 to 2^31-1.
    """
    if value is None:
        return default
    if not _INTEGER.fullmatch(value):
        raise InvalidArgument(
            f"Provided {name} not an integer or within integer range",
            ArgumentName=name,
            ArgumentValue=value,
        )
    number = int(value)
    if number < 0 or number > _MAX_INT:
        raise InvalidArgument(
            f"Argument {name} must be an integer between 0 and {_MAX_INT}",
            ArgumentName=name,
            ArgumentValue=value,
        )
    return min(number, MAX_PAGE)


def parse_part_number_marker(value: str | None) -> int:
    """ListParts' ``part-number-marker``: 0 when absent; InvalidArgument unless 0..2^31-1."""
    if value is None or value == "":
        return 0
    if not _INTEGER.fullmatch(value) or not 0 <= int(value) <= _MAX_INT:
        raise InvalidArgument(
            "Provided part-number-marker not an integer or within integer range",
            ArgumentName="part-number-marker",
            ArgumentValue=value,
        )
    return int(value)


def check_encoding_type(encoding_type: str | None) -> str | None:
    """``encoding-type`` as given (None or "url"); InvalidArgument for anything else."""
    if encoding_type is not None and encoding_type != "url":
        raise InvalidArgument(
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding_type,
        )
    return encoding_type


def encode_key(key: str, encoding_type: str | None) -> str:
    """``key`` as a listing returns it: as is, or URL-encoded for ``encoding-type=url``.

    S3's URL encoding is form encoding that leaves ``/`` alone: space becomes ``+``
    and ``+`` becomes ``%2B``, UTF-8 bytes are percent-encoded, which is what SDKs
    undo (botocore with ``unquote_plus``).
    """
    if check_encoding_type(encoding_type) is None:
        return key
    return quote_plus(key, safe="/")


def make_token(key: str) -> str:
    """A ListObjectsV2 continuation token that resumes after ``key`` (opaque to clients)."""
    return base64.urlsafe_b64encode(_TOKEN_TAG + key.encode("utf-8")).decode("ascii").rstrip("=")


def read_token(token: str) -> str:
    """The key a continuation token made by :func:`make_token` resumes after."""
    try:
        if len(token) > _MAX_TOKEN or not token.isascii():
            raise ValueError("not one of ours")
        padded = token + "=" * (-len(token) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        if not raw.startswith(_TOKEN_TAG):
            raise ValueError("not one of ours")
        key = raw[len(_TOKEN_TAG) :].decode("utf-8")
        if "\x00" in key or make_token(key) != token.rstrip("="):
            raise ValueError("not in the form we write")
    except (ValueError, binascii.Error) as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidArgument(
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
            ArgumentValue=token,
        ) from exc
    return key


# --- key ranges -------------------------------------------------------------------------


def successor(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix``.

    In code point order (UTF-8 byte order), that is ``prefix`` with its last
    character incremented, after dropping trailing U+10FFFF characters, which have
    no successor; surrogates, which no UTF-8 string holds, are stepped over. None
    when there is no such string (the prefix is empty or all U+10FFFF): then every
    string from ``prefix`` up starts with it.
    """
    end = len(prefix)
    while end > 0:
        code = ord(prefix[end - 1])
        if code < _LAST_CODE_POINT:
            code += 1
            if 0xD800 <= code <= 0xDFFF:
                code = 0xE000
            return prefix[: end - 1] + chr(code)
        end -= 1
    return None


def common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    """The common prefix ``key`` rolls up into: up to and including the first
    ``delimiter`` after ``prefix``; None when it is listed as itself."""
    if not delimiter or not key.startswith(prefix):
        return None
    found = key.find(delimiter, len(prefix))
    if found < 0:
        return None
    return key[: found + len(delimiter)]


@dataclass(frozen=True)
class _Cursor:
    """Where a walk resumes: keys from ``key`` (``inclusive``) or after it.

    With ``after`` (the ordering columns of one row of ``key``), the rows of ``key``
    that sort after that row come first, then the keys after ``key``.
    """

    key: str
    inclusive: bool = False
    after: tuple[Any, ...] | None = None


def _start(marker: str, prefix: str, delimiter: str) -> _Cursor | None:
    """The cursor for a key marker: after it, or past its whole common prefix when the
    marker is one (None: nothing can follow)."""
    if marker and common_prefix(marker, prefix, delimiter) == marker:
        return _jump(marker)
    return _Cursor(marker, inclusive=not marker)


def _jump(group: str) -> _Cursor | None:
    """The cursor past every key under the common prefix ``group``."""
    nxt = successor(group)
    return None if nxt is None else _Cursor(nxt, inclusive=True)


#: a scanned row: the key first, then the columns that order and identify the row
_Row = tuple[Any, ...]
#: scan(cursor, upper bound or None, limit) -> rows whose first column is the key
_Scan = Callable[[_Cursor, str | None, int], Generator[_Row, None, None]]


def _walk(
    scan: _Scan,
    resume: Callable[[_Row], _Cursor],
    *,
    prefix: str,
    delimiter: str,
    start: _Cursor | None,
    limit: int,
) -> tuple[list[_Row | str], bool]:
    """Up to ``limit`` entries (scanned rows and common prefixes, in key order) from
    ``start``, and whether more follow."""
    entries: list[_Row | str] = []
    if limit <= 0:
        return entries, False
    upper = successor(prefix) if prefix else None
    cursor = start
    if cursor is not None and cursor.key < prefix:
        cursor = _Cursor(prefix, inclusive=True)
    while cursor is not None and len(entries) <= limit:
        wanted = limit + 1 - len(entries)
        batch = min(wanted, _DELIMITED_BATCH) if delimiter else wanted
        seen, jumped = 0, False
        group: str | None = None
        skipped = 0
        with closing(scan(cursor, upper, batch)) as rows:
            for row in rows:
                seen += 1
                key: str = row[0]
                if group is not None and key.startswith(group):
                    skipped += 1
                    if skipped >= _SKIP_BEFORE_JUMP:
                        jumped = True
                        break
                    continue
                group = common_prefix(key, prefix, delimiter)
                if group is None:
                    entries.append(row)
                    cursor = resume(row)
                else:
                    entries.append(group)
                    skipped = 0
                    cursor = _jump(group)
                if len(entries) > limit or cursor is None:
                    break
        if not jumped and seen < batch:
            break  # the range is exhausted (or the page is full)
    truncated = len(entries) > limit
    return entries[:limit], truncated


def _after_cursor(
    key_column: InstrumentedAttribute[str],
    cursor: _Cursor,
    tiebreak: Callable[[tuple[Any, ...]], ColumnElement[bool]] | None = None,
) -> ColumnElement[bool]:
    """The SQL condition for rows at or after ``cursor`` in (key, tiebreak) order."""
    if cursor.after is not None and tiebreak is not None:
        # the range condition first, so the index seeks to the key
        return and_(
            key_column >= cursor.key,
            or_(key_column > cursor.key, tiebreak(cursor.after)),
        )
    if cursor.inclusive:
        return key_column >= cursor.key
    return key_column > cursor.key


def _in_range(key_column: InstrumentedAttribute[str], upper: str | None) -> ColumnElement[bool]:
    return key_column < upper if upper is not None else true()


def _split(entries: Sequence[_Row | str]) -> tuple[list[_Row], list[str]]:
    rows = [entry for entry in entries if not isinstance(entry, str)]
    prefixes = [entry for entry in entries if isinstance(entry, str)]
    return rows, prefixes


def _connection(session: Session) -> Connection:
    """The session's connection, for scans that step through rows as they read them
    (an ORM query would fetch every row first); pending changes are flushed first."""
    session.flush()
    return session.connection()


def _by_id(session: Session, ids: list[int]) -> list[ObjectVersion]:
    """The object rows with ``ids``, in the order of ``ids``."""
    if not ids:
        return []
    found = {
        row.id: row
        for row in session.execute(select(ObjectVersion).where(ObjectVersion.id.in_(ids))).scalars()
    }
    return [found[i] for i in ids if i in found]


# --- ListObjects ------------------------------------------------------------------------


def list_objects(
    session: Session,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    start_after: str = "",
    max_keys: int = MAX_PAGE,
) -> ListPage:
    """The latest version of each key after ``start_after``, delete markers left out.

    ``start_after`` is the v1 marker, the v2 start-after or the key of a decoded
    continuation token (the caller picks whichever applies).
    """
    connection = _connection(session)

    def scan(cursor: _Cursor, upper: str | None, limit: int) -> Generator[_Row, None, None]:
        statement = (
            select(ObjectVersion.key, ObjectVersion.id)
            .where(
                ObjectVersion.bucket == bucket,
                ObjectVersion.is_latest == true(),
                ObjectVersion.delete_marker == false(),
                _after_cursor(ObjectVersion.key, cursor),
                _in_range(ObjectVersion.key, upper),
            )
            .order_by(ObjectVersion.key)
            .limit(limit)
        )
        result = connection.execute(statement)
        try:
            for row in result:
                yield tuple(row)
        finally:
            result.close()

    def resume(row: _Row) -> _Cursor:
        return _Cursor(row[0])

    entries, truncated = _walk(
        scan,
        resume,
        prefix=prefix,
        delimiter=delimiter,
        start=_start(start_after, prefix, delimiter),
        limit=max_keys,
    )
    rows, prefixes = _split(entries)
    next_marker = None
    if truncated:
        last = entries[-1]
        next_marker = last if isinstance(last, str) else last[0]
    return ListPage(
        contents=_by_id(session, [row[1] for row in rows]),
        common_prefixes=prefixes,
        is_truncated=truncated,
        next_marker=next_marker,
    )


# --- ListObjectVersions -----------------------------------------------------------------


def list_versions(
    session: Session,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    version_id_marker: str = "",
    max_keys: int = MAX_PAGE,
) -> VersionPage:
    """Every version and delete marker: keys ascending, each key's versions newest first.

    ``key_marker`` alone resumes after all versions of that key; with
    ``version_id_marker``, after that version of it.
    """
    if version_id_marker and not key_marker:
        raise InvalidArgument(
            "A version-id marker cannot be specified without a key marker.",
            ArgumentName="version-id-marker",
            ArgumentValue=version_id_marker,
        )
    connection = _connection(session)
    start = _start(key_marker, prefix, delimiter)
    if version_id_marker and start is not None and start.key == key_marker:
        marker_id = session.execute(
            select(ObjectVersion.id).where(
                ObjectVersion.bucket == bucket,
                ObjectVersion.key == key_marker,
                ObjectVersion.version_id == version_id_marker,
            )
        ).scalar_one_or_none()
        if marker_id is None:
            start = _Cursor(key_marker, inclusive=True)  # gone: the rest of its key
        else:
            start = _Cursor(key_marker, after=(marker_id,))

    def older(after: tuple[Any, ...]) -> ColumnElement[bool]:
        return ObjectVersion.id < int(after[0])

    def scan(cursor: _Cursor, upper: str | None, limit: int) -> Generator[_Row, None, None]:
        statement = (
            select(ObjectVersion.key, ObjectVersion.id, ObjectVersion.version_id)
            .where(
                ObjectVersion.bucket == bucket,
                _after_cursor(ObjectVersion.key, cursor, older),
                _in_range(ObjectVersion.key, upper),
            )
            .order_by(ObjectVersion.key, ObjectVersion.id.desc())
            .limit(limit)
        )
        result = connection.execute(statement)
        try:
            for row in result:
                yield tuple(row)
        finally:
            result.close()

    def resume(row: _Row) -> _Cursor:
        return _Cursor(row[0], after=(row[1],))

    entries, truncated = _walk(
        scan, resume, prefix=prefix, delimiter=delimiter, start=start, limit=max_keys
    )
    rows, prefixes = _split(entries)
    next_key = next_version = None
    if truncated:
        last = entries[-1]
        if isinstance(last, str):
            next_key = last
        else:
            next_key, next_version = last[0], last[2]
    return VersionPage(
        versions=_by_id(session, [row[1] for row in rows]),
        common_prefixes=prefixes,
        is_truncated=truncated,
        next_key_marker=next_key,
        next_version_id_marker=next_version,
    )


# --- ListMultipartUploads ---------------------------------------------------------------


def list_uploads(
    session: Session,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    upload_id_marker: str = "",
    max_uploads: int = MAX_PAGE,
) -> UploadPage:
    """Multipart uploads in progress: keys ascending, each key's uploads oldest first.

    ``upload_id_marker`` counts only with ``key_marker`` (as in S3, it is ignored
    otherwise): it resumes after that upload of that key.
    """
    connection = _connection(session)
    start = _start(key_marker, prefix, delimiter)
    if key_marker and upload_id_marker and start is not None and start.key == key_marker:
        marker = session.execute(
            select(Upload.initiated, Upload.upload_id).where(
                Upload.bucket == bucket,
                Upload.key == key_marker,
                Upload.upload_id == upload_id_marker,
            )
        ).first()
        if marker is None:
            start = _Cursor(key_marker, inclusive=True)  # gone: the rest of its key
        else:
            start = _Cursor(key_marker, after=(marker[0], marker[1]))

    def later(after: tuple[Any, ...]) -> ColumnElement[bool]:
        initiated: datetime = after[0]
        return or_(
            Upload.initiated > initiated,
            and_(Upload.initiated == initiated, Upload.upload_id > after[1]),
        )

    def scan(cursor: _Cursor, upper: str | None, limit: int) -> Generator[_Row, None, None]:
        statement = (
            select(Upload.key, Upload.initiated, Upload.upload_id)
            .where(
                Upload.bucket == bucket,
                _after_cursor(Upload.key, cursor, later),
                _in_range(Upload.key, upper),
            )
            .order_by(Upload.key, Upload.initiated, Upload.upload_id)
            .limit(limit)
        )
        result = connection.execute(statement)
        try:
            for row in result:
                yield tuple(row)
        finally:
            result.close()

    def resume(row: _Row) -> _Cursor:
        return _Cursor(row[0], after=(row[1], row[2]))

    entries, truncated = _walk(
        scan, resume, prefix=prefix, delimiter=delimiter, start=start, limit=max_uploads
    )
    rows, prefixes = _split(entries)
    ids = [row[2] for row in rows]
    found = {
        upload.upload_id: upload
        for upload in session.execute(select(Upload).where(Upload.upload_id.in_(ids))).scalars()
    }
    next_key = next_upload = None
    if entries:  # S3 names the last upload listed whether or not more follow
        last = entries[-1]
        if isinstance(last, str):
            next_key = last
        else:
            next_key, next_upload = last[0], last[2]
    return UploadPage(
        uploads=[found[i] for i in ids if i in found],
        common_prefixes=prefixes,
        is_truncated=truncated,
        next_key_marker=next_key,
        next_upload_id_marker=next_upload,
    )


# --- ListParts --------------------------------------------------------------------------


def list_parts(
    session: Session,
    upload_id: str,
    *,
    part_number_marker: int = 0,
    max_parts: int = MAX_PAGE,
) -> PartPage:
    """The parts of an upload after ``part_number_marker``; NoSuchUpload if it is gone."""
    upload = session.get(Upload, upload_id)
    if upload is None:
        raise NoSuchUpload(UploadId=upload_id)
    parts: list[Part] = []
    if max_parts > 0:
        parts = list(
            session.execute(
                select(Part)
                .where(Part.upload_id == upload_id, Part.part_number > part_number_marker)
                .order_by(Part.part_number)
                .limit(max_parts + 1)
            ).scalars()
        )
    truncated = len(parts) > max_parts
    parts = parts[:max_parts]
    return PartPage(
        upload=upload,
        parts=parts,
        is_truncated=truncated,
        next_part_number_marker=parts[-1].part_number if parts else part_number_marker,
    )
