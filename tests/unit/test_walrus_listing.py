"""Walrus listings on a real database: ListObjects v1/v2, versions, uploads, parts, their XML.

The listing tests run on SQLite, and on PostgreSQL too when ``EUCA_TEST_PG_ADMIN_URL``
names a server (``./run-tests`` sets it); keys must come back in UTF-8 byte order on
both. A brute-force reference (:func:`reference`) states S3's rules naively, and
randomised key sets are compared against it.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote_plus

import pytest
from lxml import etree
from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from eucalyptus.common.db import Database, sqlite_url
from eucalyptus.common.errors import AwsError
from eucalyptus.walrus.errors import NoSuchUpload
from eucalyptus.walrus.listing import (
    ListPage,
    VersionPage,
    check_encoding_type,
    encode_key,
    list_objects,
    list_parts,
    list_uploads,
    list_versions,
    make_token,
    parse_max_keys,
    parse_part_number_marker,
    read_token,
    successor,
)
from eucalyptus.walrus.listing_xml import (
    list_objects_v1_xml,
    list_objects_v2_xml,
    list_parts_xml,
    list_uploads_xml,
    list_versions_xml,
)
from eucalyptus.walrus.migrations import MIGRATIONS
from eucalyptus.walrus.models import Bucket, ObjectVersion, Part, Upload
from tests.support import _drop_postgres_database, _postgres_database

T = TypeVar("T")
ACCOUNT = "123456789012"
CANONICAL = "c" * 64
WHEN = datetime(2026, 11, 21, 10, 0, 0)
_ids = count(1)


# --- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    pg_name = None
    if request.param == "sqlite":
        db = Database(sqlite_url(Path(tmp_path_factory.mktemp("walrus")), "walrus"), "walrus")
    else:
        made = _postgres_database()
        if made is None:
            pytest.skip("PostgreSQL listing tests skipped: EUCA_TEST_PG_ADMIN_URL is not set")
        url, pg_name = made
        db = Database(url, "walrus")
    try:
        db.migrate(MIGRATIONS)
        yield db
    finally:
        db.close()
        if pg_name:
            _drop_postgres_database(pg_name)


@pytest.fixture
def bucket(database: Database) -> str:
    """A new, empty bucket in the module's database."""
    name = f"bucket-{next(_ids)}-{secrets.token_hex(3)}"
    database.run_sync(
        lambda s: s.add(
            Bucket(
                name=name,
                owner_account=ACCOUNT,
                owner_canonical_id=CANONICAL,
                owner_display_name="alice",
                acl="{}",
            )
        )
    )
    return name


def _row(bucket: str, key: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "bucket": bucket,
        "key": key,
        "owner_account": ACCOUNT,
        "owner_canonical_id": CANONICAL,
        "owner_display_name": "alice",
        "etag": "d41d8cd98f00b204e9800998ecf8427e",
        "size": len(key),
        "last_modified": WHEN,
    }
    row.update(values)
    return row


def add_keys(database: Database, bucket: str, keys: list[str]) -> None:
    """One latest, unversioned object per key."""
    rows = [_row(bucket, key) for key in keys]
    for start in range(0, len(rows), 10_000):
        database.run_sync(partial(_insert, rows=rows[start : start + 10_000]))


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(insert(ObjectVersion), rows)


def add_versions(
    database: Database, bucket: str, versions: list[tuple[str, str, bool, bool]]
) -> None:
    """(key, version id, is latest, is a delete marker), oldest first."""
    rows = [
        _row(bucket, key, version_id=vid, is_latest=latest, delete_marker=marker)
        for key, vid, latest, marker in versions
    ]
    database.run_sync(lambda s: s.execute(insert(ObjectVersion), rows))


def run(database: Database, work: Callable[[Session], T]) -> T:
    return database.run_sync(work)


def objects(database: Database, bucket: str, **kwargs: Any) -> ListPage:
    return run(database, lambda s: list_objects(s, bucket, **kwargs))


def utf8_sorted(keys: list[str]) -> list[str]:
    return sorted(set(keys), key=lambda k: k.encode("utf-8"))


def reference(
    keys: list[str], *, prefix: str = "", delimiter: str = "", marker: str = ""
) -> list[tuple[str, str]]:
    """Every entry ("key" or "prefix", value) of a listing, by S3's rules, naively.

    Keys after the marker, under the prefix, rolled up at the first delimiter after
    the prefix; a marker that is itself a common prefix skips all of it.
    """
    skip = None
    if delimiter and marker.startswith(prefix):
        rest = marker[len(prefix) :]
        cut = rest.find(delimiter)
        if cut >= 0 and cut + len(delimiter) == len(rest):
            skip = marker
    entries: list[tuple[str, str]] = []
    for key in utf8_sorted(keys):
        if not key.startswith(prefix) or key.encode("utf-8") <= marker.encode("utf-8"):
            continue
        if skip is not None and key.startswith(skip):
            continue
        rest = key[len(prefix) :]
        cut = rest.find(delimiter) if delimiter else -1
        entry = ("prefix", prefix + rest[: cut + len(delimiter)]) if cut >= 0 else ("key", key)
        if entry not in entries:
            entries.append(entry)
    return entries


def entries_of(page: ListPage) -> list[tuple[str, str]]:
    """The page's entries in key order (the page keeps contents and prefixes apart)."""
    found = [("key", row.key) for row in page.contents]
    found += [("prefix", p) for p in page.common_prefixes]
    return sorted(found, key=lambda entry: entry[1].encode("utf-8"))


def walk_v1(
    database: Database, bucket: str, *, max_keys: int, **kwargs: Any
) -> list[tuple[str, str]]:
    """Every entry, page by page, resuming as a v1 client does: from NextMarker when
    there is a delimiter, else from the last key."""
    seen: list[tuple[str, str]] = []
    marker = ""
    for _ in range(10_000):
        page = objects(database, bucket, start_after=marker, max_keys=max_keys, **kwargs)
        assert len(page.contents) + len(page.common_prefixes) <= max_keys
        seen += entries_of(page)
        if not page.is_truncated:
            return seen
        assert page.next_marker is not None
        marker = page.next_marker if kwargs.get("delimiter") else page.contents[-1].key
    raise AssertionError("the walk does not end")


def parse(operation: str, body: bytes) -> dict[str, Any]:
    """``body`` as botocore reads the response of ``operation``."""
    import botocore.session
    from botocore.parsers import RestXMLParser

    model = botocore.session.get_session().get_service_model("s3")
    shape = model.operation_model(operation).output_shape
    parsed: dict[str, Any] = RestXMLParser().parse(
        {"body": body, "headers": {}, "status_code": 200}, shape
    )
    return parsed


def walk_v2(
    database: Database, bucket: str, *, max_keys: int, **kwargs: Any
) -> list[tuple[str, str]]:
    """Every entry, page by page, through the v2 XML and continuation tokens."""
    seen: list[tuple[str, str]] = []
    token: str | None = None
    for _ in range(10_000):
        start = read_token(token) if token is not None else ""
        page = objects(database, bucket, start_after=start, max_keys=max_keys, **kwargs)
        body = list_objects_v2_xml(
            bucket,
            page,
            prefix=kwargs.get("prefix", ""),
            delimiter=kwargs.get("delimiter", ""),
            start_after="",
            continuation_token=token,
            max_keys=max_keys,
            encoding_type=None,
            fetch_owner=False,
        )
        parsed = parse("ListObjectsV2", body)
        assert parsed["KeyCount"] == len(page.contents) + len(page.common_prefixes)
        seen += [("key", c["Key"]) for c in parsed.get("Contents", [])]
        seen += [("prefix", p["Prefix"]) for p in parsed.get("CommonPrefixes", [])]
        if not parsed["IsTruncated"]:
            return sorted(seen, key=lambda entry: entry[1].encode("utf-8"))
        token = parsed["NextContinuationToken"]
    raise AssertionError("the walk does not end")


MIXED = [
    "a",
    "a/",
    "a/1",
    "a/2",
    "a/b/c",
    "a/b/d",
    "ab",
    "b/1",
    "b/2",
    "c",
    "c/d/e",
    "d-1",
    "d-2",
    "dd",
    "e/",
    "f",
]


# --- prefixes and delimiters ------------------------------------------------------------


def test_everything_in_key_order_without_prefix_or_delimiter(
    database: Database, bucket: str
) -> None:
    add_keys(database, bucket, list(reversed(MIXED)))
    page = objects(database, bucket)
    assert [row.key for row in page.contents] == utf8_sorted(MIXED)
    assert page.common_prefixes == []
    assert not page.is_truncated and page.next_marker is None
    assert objects(database, "no-such-bucket").contents == []


def test_prefix_selects_a_key_range(database: Database, bucket: str) -> None:
    add_keys(database, bucket, MIXED)
    assert [r.key for r in objects(database, bucket, prefix="a/").contents] == [
        "a/",
        "a/1",
        "a/2",
        "a/b/c",
        "a/b/d",
    ]
    assert [r.key for r in objects(database, bucket, prefix="a").contents][-1] == "ab"
    assert [r.key for r in objects(database, bucket, prefix="d-").contents] == ["d-1", "d-2"]
    assert objects(database, bucket, prefix="zz").contents == []


def test_delimiter_rolls_keys_up_into_common_prefixes(database: Database, bucket: str) -> None:
    add_keys(database, bucket, MIXED)
    page = objects(database, bucket, delimiter="/")
    assert [r.key for r in page.contents] == ["a", "ab", "c", "d-1", "d-2", "dd", "f"]
    assert page.common_prefixes == ["a/", "b/", "c/", "e/"]
    # nested: one level below the prefix; the key equal to the prefix is listed as a key
    page = objects(database, bucket, prefix="a/", delimiter="/")
    assert [r.key for r in page.contents] == ["a/", "a/1", "a/2"]
    assert page.common_prefixes == ["a/b/"]
    page = objects(database, bucket, prefix="a/b/", delimiter="/")
    assert [r.key for r in page.contents] == ["a/b/c", "a/b/d"]
    # a prefix that ends inside a name
    page = objects(database, bucket, prefix="a/b", delimiter="/")
    assert page.contents == [] and page.common_prefixes == ["a/b/"]


def test_other_and_multi_character_delimiters(database: Database, bucket: str) -> None:
    add_keys(database, bucket, [*MIXED, "x::1", "x::2", "x:y", "y::", "::z"])
    page = objects(database, bucket, delimiter="-")
    assert page.common_prefixes == ["d-"]
    assert "dd" in [r.key for r in page.contents]
    page = objects(database, bucket, delimiter="::")
    assert page.common_prefixes == ["::", "x::", "y::"]
    assert "x:y" in [r.key for r in page.contents]
    page = objects(database, bucket, delimiter="b/")
    assert page.common_prefixes == ["a/b/", "b/"]
    page = objects(database, bucket, prefix="x", delimiter="::")
    assert page.common_prefixes == ["x::"] and [r.key for r in page.contents] == ["x:y"]


def test_a_large_common_prefix_is_stepped_over(database: Database, bucket: str) -> None:
    keys = [f"big/{i:04d}" for i in range(600)] + ["a", "big", "bigger/1", "c/1", "d"]
    add_keys(database, bucket, keys)
    page = objects(database, bucket, delimiter="/")
    assert [r.key for r in page.contents] == ["a", "big", "d"]
    assert page.common_prefixes == ["big/", "bigger/", "c/"]
    for max_keys in (1, 2, 4):
        assert walk_v1(database, bucket, delimiter="/", max_keys=max_keys) == reference(
            keys, delimiter="/"
        )


# --- paging -----------------------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "delimiter"), [("", ""), ("", "/"), ("a", "/"), ("", "-")])
def test_page_walks_return_every_entry_once(
    database: Database, bucket: str, prefix: str, delimiter: str
) -> None:
    add_keys(database, bucket, MIXED)
    expected = reference(MIXED, prefix=prefix, delimiter=delimiter)
    for max_keys in range(1, 8):
        assert walk_v1(database, bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys) == (
            expected
        ), max_keys
        assert walk_v2(database, bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys) == (
            expected
        ), max_keys


def test_max_keys_counts_keys_and_common_prefixes(database: Database, bucket: str) -> None:
    add_keys(database, bucket, MIXED)
    page = objects(database, bucket, delimiter="/", max_keys=3)
    assert [r.key for r in page.contents] == ["a", "ab"]
    assert page.common_prefixes == ["a/"]
    assert page.is_truncated and page.next_marker == "ab"
    page = objects(database, bucket, delimiter="/", max_keys=4)
    assert page.next_marker == "b/"
    # exactly the number of entries: not truncated
    page = objects(database, bucket, delimiter="/", max_keys=11)
    assert not page.is_truncated and page.next_marker is None
    page = objects(database, bucket, delimiter="/", max_keys=0)
    assert page.contents == [] and page.common_prefixes == [] and not page.is_truncated


def test_markers(database: Database, bucket: str) -> None:
    add_keys(database, bucket, MIXED)
    # a marker that is a common prefix skips all of it
    page = objects(database, bucket, delimiter="/", start_after="a/")
    assert page.common_prefixes == ["b/", "c/", "e/"]
    assert page.contents[0].key == "ab"
    # a marker inside a common prefix lists what follows it, the prefix included
    page = objects(database, bucket, delimiter="/", start_after="a/1")
    assert page.common_prefixes[0] == "a/"
    # a marker before the prefix does not narrow it; one after it empties the listing
    assert len(objects(database, bucket, prefix="c", start_after="b").contents) == 2
    assert objects(database, bucket, prefix="c", start_after="d").contents == []
    # a marker that is not a key
    assert objects(database, bucket, start_after="b/15").contents[0].key == "b/2"
    assert objects(database, bucket, start_after="\U0010ffff").contents == []


# --- unicode ----------------------------------------------------------------------------

UNICODE = [
    "plain",
    "~tilde",
    "caf\u00e9",
    "caf\u00e9/menu",
    "\u00ff",
    "\u0100",
    "\u4e2d\u6587/\u6587\u4ef6",
    "\uffef",
    "\U0001f600 grin",
    "\U0001f600/\U0001f389",
    "\U0001f601",
    "\U0010ffff",
    "Zed",
    "x\ud7ff1",
    "x\ud7ff2",
    "x\ue000",
]


def test_unicode_keys_sort_as_utf8_bytes(database: Database, bucket: str) -> None:
    add_keys(database, bucket, UNICODE)
    keys = [row.key for row in objects(database, bucket).contents]
    assert keys == utf8_sorted(UNICODE)
    # UTF-16 order (Java's String) would put the emoji before U+FFEF
    assert keys.index("\uffef") < keys.index("\U0001f600 grin")
    page = objects(database, bucket, delimiter="/")
    assert page.common_prefixes == ["caf\u00e9/", "\u4e2d\u6587/", "\U0001f600/"]
    page = objects(database, bucket, prefix="\U0001f600")
    assert [r.key for r in page.contents] == ["\U0001f600 grin", "\U0001f600/\U0001f389"]


@pytest.mark.parametrize("delimiter", ["/", "\U0001f600", "\ud7ff", "\U0010ffff", "\u00e9"])
def test_unicode_delimiters_page_cleanly(database: Database, bucket: str, delimiter: str) -> None:
    keys = [*UNICODE, "a\U0010ffffb", "a\U0010ffffc", "b\U0010ffff\U0010ffff1", "c"]
    add_keys(database, bucket, keys)
    expected = reference(keys, delimiter=delimiter)
    assert entries_of(objects(database, bucket, delimiter=delimiter)) == expected
    for max_keys in (1, 2, 3):
        assert walk_v1(database, bucket, delimiter=delimiter, max_keys=max_keys) == expected
        assert walk_v2(database, bucket, delimiter=delimiter, max_keys=max_keys) == expected


def test_successor() -> None:
    assert successor("a/") == "a0"
    assert successor("x\ud7ff") == "x\ue000"  # over the surrogates
    assert successor("a\U0010ffff") == "b"
    assert successor("\U0010ffff\U0010ffff") is None
    assert successor("") is None
    assert successor("\U0001f600") == "\U0001f601"


# --- randomised comparison with the reference -------------------------------------------

ALPHABET = ["a", "b", "/", "-", "\u00e9", "\U0001f600", "\uffff", "\U0010ffff", "~", "A"]
DELIMITERS = ["", "/", "-", "a/", "\U0001f600", "\U0010ffff", "//"]


def test_random_key_sets_match_the_reference(database: Database, bucket: str) -> None:
    rng = random.Random(20261121)
    keys = sorted(
        {"".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 5))) for _ in range(150)}
    )
    add_keys(database, bucket, keys)

    def some_string() -> str:
        choice = rng.random()
        if choice < 0.2:
            return ""
        source = rng.choice(keys)
        if choice < 0.7:
            return source[: rng.randint(0, len(source))]
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3)))

    for _ in range(60):
        prefix = some_string() if rng.random() < 0.6 else ""
        delimiter = rng.choice(DELIMITERS)
        marker = some_string()
        if rng.random() < 0.3:  # a marker that is a common prefix
            cps = [
                e
                for kind, e in reference(keys, prefix=prefix, delimiter=delimiter)
                if kind == "prefix"
            ]
            marker = rng.choice(cps) if cps else marker
        max_keys = rng.choice([1, 2, 3, 5, 8, 1000])
        expected = reference(keys, prefix=prefix, delimiter=delimiter, marker=marker)
        page = objects(
            database,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            start_after=marker,
            max_keys=max_keys,
        )
        context = (prefix, delimiter, marker, max_keys)
        assert entries_of(page) == expected[:max_keys], context
        assert page.is_truncated == (len(expected) > max_keys), context
        if page.is_truncated:
            assert page.next_marker == expected[max_keys - 1][1], context
    for delimiter in DELIMITERS:
        expected = reference(keys, delimiter=delimiter)
        assert walk_v1(database, bucket, delimiter=delimiter, max_keys=7) == expected, delimiter


# --- versions ---------------------------------------------------------------------------

VERSIONS = [
    ("a", "a1", False, False),
    ("b", "b1", False, False),
    ("a", "a2", False, False),
    ("b", "b2", False, False),
    ("a", "a3", True, False),
    ("b", "bdel", True, True),  # b's latest is a delete marker
    ("c/1", "null", True, False),
    ("c/2", "c2a", False, False),
    ("c/2", "c2del", True, True),
    ("d", "null", False, False),
    ("d", "d2", True, False),
]


def versions(database: Database, bucket: str, **kwargs: Any) -> VersionPage:
    return run(database, lambda s: list_versions(s, bucket, **kwargs))


def version_list(database: Database, bucket: str, **kwargs: Any) -> list[tuple[str, str]]:
    return [(row.key, row.version_id) for row in versions(database, bucket, **kwargs).versions]


def test_delete_markers_are_hidden_from_list_objects(database: Database, bucket: str) -> None:
    add_versions(database, bucket, VERSIONS)
    page = objects(database, bucket)
    assert [(r.key, r.version_id) for r in page.contents] == [
        ("a", "a3"),
        ("c/1", "null"),
        ("d", "d2"),
    ]
    # a common prefix whose keys are all deleted is not listed
    add_versions(database, bucket, [("e/1", "e1del", True, True)])
    assert objects(database, bucket, delimiter="/").common_prefixes == ["c/"]


def test_versions_list_every_version_newest_first(database: Database, bucket: str) -> None:
    add_versions(database, bucket, VERSIONS)
    page = run(database, lambda s: list_versions(s, bucket))
    assert [(r.key, r.version_id, r.is_latest, r.delete_marker) for r in page.versions] == [
        ("a", "a3", True, False),
        ("a", "a2", False, False),
        ("a", "a1", False, False),
        ("b", "bdel", True, True),
        ("b", "b2", False, False),
        ("b", "b1", False, False),
        ("c/1", "null", True, False),
        ("c/2", "c2del", True, True),
        ("c/2", "c2a", False, False),
        ("d", "d2", True, False),
        ("d", "null", False, False),
    ]
    assert not page.is_truncated and page.next_key_marker is None
    page = run(database, lambda s: list_versions(s, bucket, delimiter="/"))
    assert page.common_prefixes == ["c/"]
    assert [r.key for r in page.versions] == ["a"] * 3 + ["b"] * 3 + ["d"] * 2


def test_version_markers(database: Database, bucket: str) -> None:
    add_versions(database, bucket, VERSIONS)
    # after one version of a key: its older versions, then the next keys
    assert version_list(database, bucket, key_marker="a", version_id_marker="a2")[:2] == [
        ("a", "a1"),
        ("b", "bdel"),
    ]
    assert version_list(database, bucket, key_marker="d", version_id_marker="d2") == [("d", "null")]
    assert version_list(database, bucket, key_marker="d", version_id_marker="null") == []
    # a key marker alone: after every version of that key
    assert version_list(database, bucket, key_marker="b")[0] == ("c/1", "null")
    # a version that is gone (deleted between pages): the rest of its key again
    assert version_list(database, bucket, key_marker="a", version_id_marker="zz")[0] == ("a", "a3")
    with pytest.raises(AwsError) as raised:
        version_list(database, bucket, version_id_marker="a2")
    assert raised.value.code == "InvalidArgument"
    assert raised.value.extra["ArgumentName"] == "version-id-marker"


@pytest.mark.parametrize("delimiter", ["", "/"])
def test_version_walks_return_every_version_once(
    database: Database, bucket: str, delimiter: str
) -> None:
    add_versions(database, bucket, VERSIONS)
    everything = run(database, lambda s: list_versions(s, bucket, delimiter=delimiter))
    expected = [(r.key, r.version_id) for r in everything.versions]
    for max_keys in range(1, 8):
        seen: list[tuple[str, str]] = []
        prefixes: list[str] = []
        key_marker = version_marker = ""
        for _ in range(100):
            page = versions(
                database,
                bucket,
                delimiter=delimiter,
                key_marker=key_marker,
                version_id_marker=version_marker,
                max_keys=max_keys,
            )
            assert len(page.versions) + len(page.common_prefixes) <= max_keys
            seen += [(r.key, r.version_id) for r in page.versions]
            prefixes += page.common_prefixes
            if not page.is_truncated:
                break
            assert page.next_key_marker is not None
            key_marker = page.next_key_marker
            version_marker = page.next_version_id_marker or ""
        assert seen == expected, max_keys
        assert prefixes == everything.common_prefixes, max_keys


# --- uploads and parts ------------------------------------------------------------------


def add_uploads(database: Database, bucket: str, uploads: list[tuple[str, str, int]]) -> None:
    """(key, upload id, seconds after WHEN it was initiated)."""
    database.run_sync(
        lambda s: s.execute(
            insert(Upload),
            [
                {
                    "upload_id": upload_id,
                    "bucket": bucket,
                    "key": key,
                    "initiated": WHEN.replace(second=seconds),
                    "owner_account": ACCOUNT,
                    "owner_canonical_id": CANONICAL,
                    "owner_display_name": "alice",
                    "initiator_arn": f"arn:aws:iam::{ACCOUNT}:user/dev/bob",
                }
                for key, upload_id, seconds in uploads
            ],
        )
    )


def test_uploads_in_key_then_initiation_order(database: Database, bucket: str) -> None:
    tag = secrets.token_hex(3)
    add_uploads(
        database,
        bucket,
        [
            ("k", f"{tag}-z", 1),
            ("k", f"{tag}-a", 3),
            ("k", f"{tag}-m", 2),
            ("dir/x", f"{tag}-d1", 0),
            ("dir/y", f"{tag}-d2", 0),
            ("a", f"{tag}-a1", 5),
        ],
    )
    page = run(database, lambda s: list_uploads(s, bucket))
    assert [(u.key, u.upload_id) for u in page.uploads] == [
        ("a", f"{tag}-a1"),
        ("dir/x", f"{tag}-d1"),
        ("dir/y", f"{tag}-d2"),
        ("k", f"{tag}-z"),
        ("k", f"{tag}-m"),
        ("k", f"{tag}-a"),
    ]
    assert (page.next_key_marker, page.next_upload_id_marker) == ("k", f"{tag}-a")
    page = run(database, lambda s: list_uploads(s, bucket, delimiter="/", max_uploads=2))
    assert [u.key for u in page.uploads] == ["a"] and page.common_prefixes == ["dir/"]
    assert page.is_truncated and page.next_key_marker == "dir/"
    assert page.next_upload_id_marker is None
    page = run(
        database,
        lambda s: list_uploads(s, bucket, delimiter="/", key_marker="dir/", max_uploads=2),
    )
    assert [u.upload_id for u in page.uploads] == [f"{tag}-z", f"{tag}-m"] and page.is_truncated
    page = run(
        database,
        lambda s: list_uploads(s, bucket, key_marker="k", upload_id_marker=f"{tag}-m"),
    )
    assert [u.upload_id for u in page.uploads] == [f"{tag}-a"] and not page.is_truncated
    # without a key marker the upload id marker is ignored
    page = run(database, lambda s: list_uploads(s, bucket, upload_id_marker=f"{tag}-m"))
    assert len(page.uploads) == 6
    page = run(database, lambda s: list_uploads(s, bucket, prefix="dir/"))
    assert [u.key for u in page.uploads] == ["dir/x", "dir/y"]


def add_parts(database: Database, bucket: str, upload_id: str, numbers: list[int]) -> None:
    add_uploads(database, bucket, [("big.bin", upload_id, 0)])
    database.run_sync(
        lambda s: s.add_all(
            Part(
                upload_id=upload_id,
                part_number=n,
                bucket=bucket,
                blob=f"blob-{n}",
                size=n * 100,
                etag=f"{n:032x}",
                last_modified=WHEN,
            )
            for n in numbers
        )
    )


def test_parts_in_number_order(database: Database, bucket: str) -> None:
    upload_id = "up-" + secrets.token_hex(4)
    add_parts(database, bucket, upload_id, [3, 1, 10, 2])
    page = run(database, lambda s: list_parts(s, upload_id))
    assert [p.part_number for p in page.parts] == [1, 2, 3, 10]
    assert not page.is_truncated and page.next_part_number_marker == 10
    assert page.upload.key == "big.bin"
    page = run(database, lambda s: list_parts(s, upload_id, part_number_marker=1, max_parts=2))
    assert [p.part_number for p in page.parts] == [2, 3]
    assert page.is_truncated and page.next_part_number_marker == 3
    page = run(database, lambda s: list_parts(s, upload_id, part_number_marker=10))
    assert page.parts == [] and page.next_part_number_marker == 10
    with pytest.raises(NoSuchUpload):
        run(database, lambda s: list_parts(s, "no-such-upload"))


# --- request values ---------------------------------------------------------------------


def test_max_keys_values() -> None:
    assert parse_max_keys(None) == 1000
    assert parse_max_keys(None, default=50) == 50
    assert parse_max_keys("0") == 0
    assert parse_max_keys("7") == 7
    assert parse_max_keys("5000") == 1000
    assert parse_max_keys("2147483647") == 1000
    for bad in ["", "x", "1.5", " 7", "--1", "\uff17", "2147483648", "-1", "99999999999999999999"]:
        with pytest.raises(AwsError) as raised:
            parse_max_keys(bad, name="max-uploads")
        assert raised.value.code == "InvalidArgument", bad
        assert raised.value.extra["ArgumentName"] == "max-uploads"
    assert parse_part_number_marker(None) == 0
    assert parse_part_number_marker("12") == 12
    for bad in ["x", "-1", "1e3"]:
        with pytest.raises(AwsError):
            parse_part_number_marker(bad)


def test_url_encoding() -> None:
    key = "dir/a b+c%d&\u00e9\U0001f600~*"
    encoded = encode_key(key, "url")
    assert encoded == "dir/a+b%2Bc%25d%26%C3%A9%F0%9F%98%80~%2A"
    assert unquote_plus(encoded) == key  # what botocore does with EncodingType=url
    assert encode_key(key, None) == key
    assert check_encoding_type(None) is None and check_encoding_type("url") == "url"
    for bad in ["URL", "base64", ""]:
        with pytest.raises(AwsError) as raised:
            encode_key("k", bad)
        assert raised.value.code == "InvalidArgument"
        assert raised.value.extra["ArgumentName"] == "encoding-type"


def test_continuation_tokens() -> None:
    for key in ["", "a", "dir/\u00e9\U0001f600", "x" * 1024]:
        token = make_token(key)
        assert token.isascii() and "=" not in token
        assert read_token(token) == key
    good = make_token("abc")
    for junk in [
        "",
        "not a token",
        "abc",
        good[:-1],
        good + "A",
        good + "B",
        "+" + good[1:],
        "\u00e9",
    ]:
        with pytest.raises(AwsError) as raised:
            read_token(junk)
        assert raised.value.code == "InvalidArgument", junk
        assert raised.value.message == "The continuation token provided is incorrect"


# --- XML documents ----------------------------------------------------------------------


def tags(body: bytes) -> list[str]:
    """The root's child element names, in document order, de-duplicated in runs."""
    names: list[str] = []
    for child in etree.fromstring(body):
        name = etree.QName(child).localname
        if not names or names[-1] != name:
            names.append(name)
    return names


@pytest.fixture
def listed(database: Database, bucket: str) -> tuple[Database, str]:
    add_keys(database, bucket, ["a b+c", "dir/x", "dir/y", "z\u00e9"])
    return database, bucket


def test_v1_xml(listed: tuple[Database, str]) -> None:
    database, bucket = listed
    page = objects(database, bucket, delimiter="/", max_keys=2)
    body = list_objects_v1_xml(
        bucket, page, prefix="", delimiter="/", marker="", max_keys=2, encoding_type=None
    )
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert tags(body) == [
        "Name",
        "Prefix",
        "Marker",
        "NextMarker",
        "MaxKeys",
        "Delimiter",
        "IsTruncated",
        "Contents",
        "CommonPrefixes",
    ]
    parsed = parse("ListObjects", body)
    assert parsed["Name"] == bucket and parsed["Prefix"] == "" and parsed["Marker"] == ""
    assert parsed["MaxKeys"] == 2 and parsed["Delimiter"] == "/" and parsed["IsTruncated"] is True
    assert parsed["NextMarker"] == "dir/"
    (entry,) = parsed["Contents"]
    assert entry["Key"] == "a b+c"
    assert entry["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    assert entry["Size"] == 5 and entry["StorageClass"] == "STANDARD"
    assert entry["Owner"] == {"ID": CANONICAL, "DisplayName": "alice"}
    assert entry["LastModified"].isoformat() == "2026-11-21T10:00:00+00:00"
    assert b"<LastModified>2026-11-21T10:00:00.000Z</LastModified>" in body
    assert parsed["CommonPrefixes"] == [{"Prefix": "dir/"}]
    # no NextMarker without a delimiter, nor when the listing is complete
    page = objects(database, bucket, max_keys=1)
    body = list_objects_v1_xml(
        bucket, page, prefix="", delimiter="", marker="", max_keys=1, encoding_type=None
    )
    assert "NextMarker" not in tags(body) and "Delimiter" not in tags(body)


def test_v1_xml_url_encoded(listed: tuple[Database, str]) -> None:
    database, bucket = listed
    page = objects(database, bucket, delimiter="/", start_after="a", max_keys=2)
    body = list_objects_v1_xml(
        bucket, page, prefix="", delimiter="/", marker="a", max_keys=2, encoding_type="url"
    )
    assert tags(body)[-3:] == ["IsTruncated", "Contents", "CommonPrefixes"]
    assert tags(body)[5:7] == ["Delimiter", "EncodingType"]
    parsed = parse("ListObjects", body)
    assert parsed["EncodingType"] == "url"
    assert [c["Key"] for c in parsed["Contents"]] == ["a+b%2Bc"]
    assert unquote_plus(parsed["Contents"][0]["Key"]) == "a b+c"
    page = objects(database, bucket, prefix="z\u00e9")
    body = list_objects_v1_xml(
        bucket, page, prefix="z\u00e9", delimiter="", marker="", max_keys=1000, encoding_type="url"
    )
    parsed = parse("ListObjects", body)
    assert parsed["Prefix"] == "z%C3%A9" and parsed["Contents"][0]["Key"] == "z%C3%A9"


def test_v2_xml(listed: tuple[Database, str]) -> None:
    database, bucket = listed
    page = objects(database, bucket, delimiter="/", max_keys=2)
    body = list_objects_v2_xml(
        bucket,
        page,
        prefix="",
        delimiter="/",
        start_after="",
        continuation_token=None,
        max_keys=2,
        encoding_type="url",
        fetch_owner=False,
    )
    assert tags(body) == [
        "Name",
        "Prefix",
        "NextContinuationToken",
        "KeyCount",
        "MaxKeys",
        "Delimiter",
        "EncodingType",
        "IsTruncated",
        "Contents",
        "CommonPrefixes",
    ]
    parsed = parse("ListObjectsV2", body)
    assert parsed["KeyCount"] == 2 and parsed["IsTruncated"] is True
    assert "Owner" not in parsed["Contents"][0]
    token = parsed["NextContinuationToken"]
    assert read_token(token) == "dir/"
    page = objects(database, bucket, delimiter="/", start_after=read_token(token), max_keys=2)
    body = list_objects_v2_xml(
        bucket,
        page,
        prefix="",
        delimiter="/",
        start_after="a",
        continuation_token=token,
        max_keys=2,
        encoding_type=None,
        fetch_owner=True,
    )
    parsed = parse("ListObjectsV2", body)
    assert parsed["ContinuationToken"] == token and "StartAfter" not in parsed
    assert [c["Key"] for c in parsed["Contents"]] == ["z\u00e9"]
    assert parsed["Contents"][0]["Owner"]["ID"] == CANONICAL
    assert parsed["IsTruncated"] is False and "NextContinuationToken" not in parsed
    body = list_objects_v2_xml(
        bucket,
        page,
        prefix="",
        delimiter="",
        start_after="a",
        continuation_token=None,
        max_keys=2,
        encoding_type=None,
        fetch_owner=False,
    )
    assert parse("ListObjectsV2", body)["StartAfter"] == "a"


def test_versions_xml(database: Database, bucket: str) -> None:
    add_versions(database, bucket, VERSIONS)
    page = run(database, lambda s: list_versions(s, bucket, max_keys=5))
    body = list_versions_xml(
        bucket,
        page,
        prefix="",
        delimiter="",
        key_marker="",
        version_id_marker="",
        max_keys=5,
        encoding_type=None,
    )
    assert tags(body)[:8] == [
        "Name",
        "Prefix",
        "KeyMarker",
        "VersionIdMarker",
        "NextKeyMarker",
        "NextVersionIdMarker",
        "MaxKeys",
        "IsTruncated",
    ]
    # versions and delete markers interleaved in listing order
    assert tags(body)[8:] == ["Version", "DeleteMarker", "Version"]
    parsed = parse("ListObjectVersions", body)
    assert parsed["NextKeyMarker"] == "b" and parsed["NextVersionIdMarker"] == "b2"
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in parsed["Versions"]] == [
        ("a", "a3", True),
        ("a", "a2", False),
        ("a", "a1", False),
        ("b", "b2", False),
    ]
    assert parsed["Versions"][0]["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    assert parsed["Versions"][0]["Owner"]["DisplayName"] == "alice"
    (marker,) = parsed["DeleteMarkers"]
    assert marker["Key"] == "b" and marker["VersionId"] == "bdel" and marker["IsLatest"] is True
    assert marker["Owner"]["ID"] == CANONICAL
    page = run(database, lambda s: list_versions(s, bucket, delimiter="/", prefix="c"))
    body = list_versions_xml(
        bucket,
        page,
        prefix="c",
        delimiter="/",
        key_marker="",
        version_id_marker="",
        max_keys=1000,
        encoding_type="url",
    )
    parsed = parse("ListObjectVersions", body)
    assert parsed["CommonPrefixes"] == [{"Prefix": "c/"}] and parsed["IsTruncated"] is False
    assert "NextKeyMarker" not in parsed and parsed["EncodingType"] == "url"


def test_uploads_and_parts_xml(database: Database, bucket: str) -> None:
    upload_id = "up-" + secrets.token_hex(4)
    add_parts(database, bucket, upload_id, [1, 2, 3])
    add_uploads(database, bucket, [("dir/a b", upload_id + "-2", 9)])
    page = run(database, lambda s: list_uploads(s, bucket, delimiter="/"))
    body = list_uploads_xml(
        bucket,
        page,
        prefix="",
        delimiter="/",
        key_marker="",
        upload_id_marker="",
        max_uploads=1000,
        encoding_type="url",
    )
    assert tags(body) == [
        "Bucket",
        "KeyMarker",
        "UploadIdMarker",
        "NextKeyMarker",
        "NextUploadIdMarker",
        "Delimiter",
        "Prefix",
        "MaxUploads",
        "EncodingType",
        "IsTruncated",
        "Upload",
        "CommonPrefixes",
    ]
    parsed = parse("ListMultipartUploads", body)
    (upload,) = parsed["Uploads"]
    assert upload["Key"] == "big.bin" and upload["UploadId"] == upload_id
    assert upload["Initiator"] == {
        "ID": f"arn:aws:iam::{ACCOUNT}:user/dev/bob",
        "DisplayName": "bob",
    }
    assert upload["Owner"] == {"ID": CANONICAL, "DisplayName": "alice"}
    assert upload["Initiated"].isoformat() == "2026-11-21T10:00:00+00:00"
    assert upload["StorageClass"] == "STANDARD"
    assert parsed["CommonPrefixes"] == [{"Prefix": "dir/"}]
    assert parsed["NextKeyMarker"] == "dir/" and parsed["IsTruncated"] is False

    parts = run(database, lambda s: list_parts(s, upload_id, part_number_marker=1, max_parts=1))
    body = list_parts_xml(bucket, parts, part_number_marker=1, max_parts=1)
    assert tags(body) == [
        "Bucket",
        "Key",
        "UploadId",
        "Initiator",
        "Owner",
        "StorageClass",
        "PartNumberMarker",
        "NextPartNumberMarker",
        "MaxParts",
        "IsTruncated",
        "Part",
    ]
    parsed = parse("ListParts", body)
    assert parsed["Bucket"] == bucket and parsed["Key"] == "big.bin"
    assert parsed["UploadId"] == upload_id
    assert parsed["PartNumberMarker"] == 1 and parsed["NextPartNumberMarker"] == 2
    assert parsed["MaxParts"] == 1 and parsed["IsTruncated"] is True
    assert parsed["Initiator"]["DisplayName"] == "bob"
    assert parsed["Parts"] == [
        {
            "PartNumber": 2,
            "LastModified": parsed["Parts"][0]["LastModified"],
            "ETag": f'"{2:032x}"',
            "Size": 200,
        }
    ]


# --- scale ------------------------------------------------------------------------------


def test_listing_100000_keys(database: Database, bucket: str) -> None:
    """A smoke test of scale: pages stay cheap in a big bucket (time printed, not asserted)."""
    top = [f"top-{i:05d}" for i in range(10_000)]
    nested = [f"dir{d:03d}/file-{i:04d}" for d in range(100) for i in range(900)]
    began = time.monotonic()
    add_keys(database, bucket, top + nested)
    loaded = time.monotonic()

    statements = 0

    def counted(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(database.engine, "before_cursor_execute", counted)
    try:
        entries = walk_v1(database, bucket, delimiter="/", max_keys=1000)
        delimited = time.monotonic()
        delimited_statements = statements
        assert len(entries) == 10_100
        assert [e for kind, e in entries if kind == "prefix"] == [
            f"dir{d:03d}/" for d in range(100)
        ]
        # each common prefix costs about one query, not a read of its 900 keys
        assert delimited_statements < 400
        keys = walk_v1(database, bucket, max_keys=1000)
        assert len(keys) == 100_000
        page = objects(database, bucket, prefix="dir042/", delimiter="/")
        assert len(page.contents) == 900 and not page.is_truncated
    finally:
        event.remove(database.engine, "before_cursor_execute", counted)
    done = time.monotonic()
    print(
        f"\n[{database.engine.dialect.name}] 100,000 keys: insert {loaded - began:.2f}s, "
        f"delimited walk (11 pages, {delimited_statements} statements) "
        f"{delimited - loaded:.2f}s, full walk (100 pages) {done - delimited:.2f}s"
    )
