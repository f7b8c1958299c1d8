"""Walrus sub-resources through boto3 against an in-process pipeline.

The pipeline runs on an aiohttp TestServer in a thread of its own (boto3 is
synchronous), over a real SQLite database and blob store, with a fake identity
service that knows two accounts' keys. :class:`WalrusServer` and the helpers here
are shared with ``test_walrus_post_upload``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestServer
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from eucalyptus.clc.identity.principal import Principal
from eucalyptus.common.config import EucaConf
from eucalyptus.common.db import Database, sqlite_url
from eucalyptus.common.errors import InvalidClientTokenId
from eucalyptus.common.ids import canonical_user_id
from eucalyptus.common.paths import EucaPaths
from eucalyptus.walrus import buckets, object_handlers, subresources
from eucalyptus.walrus.context import WalrusContext, WalrusLimits
from eucalyptus.walrus.migrations import MIGRATIONS
from eucalyptus.walrus.pipeline import Handler, S3Pipeline
from eucalyptus.walrus.storage import BlobStore
from eucalyptus.walrus.xmlutil import parse_xml, text

T = TypeVar("T")

OWNER_NUMBER = "111111111111"
OTHER_NUMBER = "222222222222"
OWNER_ID = canonical_user_id(OWNER_NUMBER)
OTHER_ID = canonical_user_id(OTHER_NUMBER)
REGION = "us-east-1"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _principal(number: str, name: str, key: str) -> Principal:
    return Principal(
        account_id=int(number[0]),
        account_number=number,
        account_name=name,
        user_id=1,
        user_name="admin",
        user_path="/",
        user_unique_id="AID" + key,
        access_key_id=key,
    )


#: access key -> (secret, principal)
KEYS: dict[str, tuple[str, Principal]] = {
    "AKIDOWNER": ("owner-secret", _principal(OWNER_NUMBER, "alice", "AKIDOWNER")),
    "AKIDOTHER": ("other-secret", _principal(OTHER_NUMBER, "bob", "AKIDOTHER")),
}


class FakeIdentity:
    """What Walrus asks the CLC: the two accounts above; nobody by e-mail."""

    async def resolve(self, access_key_id: str) -> tuple[str, Principal]:
        if access_key_id not in KEYS:
            raise InvalidClientTokenId("The AWS Access Key Id you provided does not exist.")
        return KEYS[access_key_id]

    async def account(self, **_kw: str) -> None:
        return None


async def _no_auto_continue(_request: web.Request) -> None:
    return None


class WalrusServer:
    """An S3Pipeline with ``handlers`` served by a TestServer on a thread's event loop."""

    def __init__(self, root: Path, handlers: Mapping[tuple[str, str, str], Handler]) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.db = Database(sqlite_url(root, "walrus"), "walrus")
        self.db.migrate(MIGRATIONS)
        (root / "bukkits").mkdir(exist_ok=True)
        self.store = BlobStore(root / "bukkits")
        self.ctx = WalrusContext(
            paths=EucaPaths(root),
            conf=EucaConf({}),
            db=self.db,
            store=self.store,
            identity=FakeIdentity(),  # type: ignore[arg-type]
            limits=WalrusLimits(),
            cloud_canonical_id=canonical_user_id("000000000001"),
        )
        self.pipeline = S3Pipeline(self.ctx, handlers)
        self.server: TestServer | None = None
        self.url = ""

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def start(self) -> None:
        self.thread.start()

        async def serve() -> TestServer:
            app = web.Application()
            app.router.add_route(
                "*", "/{tail:.*}", self.pipeline.handle, expect_handler=_no_auto_continue
            )
            server = TestServer(app, host="127.0.0.1")
            await server.start_server(loop=self.loop)
            return server

        self.server = self.run(serve())
        self.url = str(self.server.make_url("")).rstrip("/")

    def close(self) -> None:
        if self.server is not None:
            self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
        self.db.close()
        self.store.close()

    def s3(self, key: str = "AKIDOWNER") -> Any:
        """A boto3 S3 client signing with ``key``, path style."""
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=key,
            aws_secret_access_key=KEYS[key][0],
            region_name=REGION,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
            ),
        )

    def signed(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        key: str = "AKIDOWNER",
    ) -> requests.Response:
        """A raw request signed with SigV4 (for bodies boto3 would not send)."""
        url = self.url + path
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        S3SigV4Auth(Credentials(key, KEYS[key][0]), "s3", REGION).add_auth(request)
        return requests.request(
            method, url, data=body, headers=dict(request.headers.items()), timeout=30
        )


def serve(root: Path, *tables: Mapping[tuple[str, str, str], Any]) -> Iterator[WalrusServer]:
    handlers: dict[tuple[str, str, str], Handler] = {}
    every: list[Mapping[tuple[str, str, str], Any]] = [
        buckets.HANDLERS,
        object_handlers.HANDLERS,
        *tables,
    ]
    for table in every:
        handlers.update(table)
    server = WalrusServer(root, handlers)
    try:
        server.start()
        yield server
    finally:
        server.close()


def error_code(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The S3 error code ``call`` fails with."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return str(info.value.response["Error"]["Code"])


def xml_code(response: requests.Response) -> str:
    return text(parse_xml(response.content), "Code") or ""


def new_bucket_name() -> str:
    return "b-" + secrets.token_hex(6)


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def walrus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WalrusServer]:
    yield from serve(tmp_path_factory.mktemp("walrus"), subresources.HANDLERS)


@pytest.fixture(scope="module")
def s3(walrus: WalrusServer) -> Any:
    return walrus.s3()


@pytest.fixture(scope="module")
def other_s3(walrus: WalrusServer) -> Any:
    return walrus.s3("AKIDOTHER")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = new_bucket_name()
    s3.create_bucket(Bucket=name)
    return name


# --- ?acl ------------------------------------------------------------------------------


def grants_of(answer: Mapping[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for grant in answer["Grants"]:
        grantee = grant["Grantee"]
        found.add((grantee.get("ID") or grantee.get("URI") or "", grant["Permission"]))
    return found


def test_bucket_acl_default_and_canned(s3: Any, bucket: str) -> None:
    answer = s3.get_bucket_acl(Bucket=bucket)
    assert answer["Owner"]["ID"] == OWNER_ID
    assert answer["Owner"]["DisplayName"] == "alice"
    assert grants_of(answer) == {(OWNER_ID, "FULL_CONTROL")}
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert grants_of(s3.get_bucket_acl(Bucket=bucket)) == {
        (OWNER_ID, "FULL_CONTROL"),
        (ALL_USERS, "READ"),
    }


def test_bucket_acl_grant_headers(s3: Any, bucket: str) -> None:
    s3.put_bucket_acl(
        Bucket=bucket, GrantRead=f'id="{OTHER_ID}"', GrantFullControl=f"id={OWNER_ID}"
    )
    assert grants_of(s3.get_bucket_acl(Bucket=bucket)) == {
        (OWNER_ID, "FULL_CONTROL"),
        (OTHER_ID, "READ"),
    }


def test_bucket_acl_document_keeps_the_owner(s3: Any, other_s3: Any, bucket: str) -> None:
    assert error_code(other_s3.get_bucket_acl, Bucket=bucket) == "AccessDenied"
    policy = {
        "Owner": {"ID": OTHER_ID, "DisplayName": "bob"},
        "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": OWNER_ID}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "CanonicalUser", "ID": OTHER_ID}, "Permission": "READ_ACP"},
        ],
    }
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy)
    answer = other_s3.get_bucket_acl(Bucket=bucket)  # READ_ACP now granted
    assert answer["Owner"]["ID"] == OWNER_ID
    assert grants_of(answer) == {(OWNER_ID, "FULL_CONTROL"), (OTHER_ID, "READ_ACP")}
    assert error_code(other_s3.put_bucket_acl, Bucket=bucket, ACL="private") == "AccessDenied"


def test_bucket_acl_errors(walrus: WalrusServer, s3: Any, bucket: str) -> None:
    document = s3.get_bucket_acl  # a valid document to send back
    body = _acl_xml(OWNER_ID)
    response = walrus.signed("PUT", f"/{bucket}?acl", body, {"x-amz-acl": "public-read"})
    assert (response.status_code, xml_code(response)) == (400, "InvalidRequest")
    response = walrus.signed("PUT", f"/{bucket}?acl", b"<AccessControlPolicy><Owner/>")
    assert (response.status_code, xml_code(response)) == (400, "MalformedACLError")
    grants = [
        {
            "Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "x@example.com"},
            "Permission": "READ",
        }
    ]
    code = error_code(
        s3.put_bucket_acl,
        Bucket=bucket,
        AccessControlPolicy={"Owner": {"ID": OWNER_ID}, "Grants": grants},
    )
    assert code == "UnresolvableGrantByEmailAddress"
    assert error_code(s3.put_bucket_acl, Bucket=bucket, ACL="no-such-acl") == "InvalidArgument"
    assert grants_of(document(Bucket=bucket)) == {(OWNER_ID, "FULL_CONTROL")}


def _acl_xml(owner: str) -> bytes:
    return (
        '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Owner><ID>{owner}</ID></Owner><AccessControlList/></AccessControlPolicy>"
    ).encode()


# --- ?versioning and ?versions ---------------------------------------------------------


def _versions(s3: Any, bucket: str, **kwargs: Any) -> list[tuple[str, str, bool, bool]]:
    """(key, version id, is latest, is delete marker) in listing order."""
    answer = s3.list_object_versions(Bucket=bucket, **kwargs)
    entries = [
        (item["Key"], item["VersionId"], item["IsLatest"], False)
        for item in answer.get("Versions", [])
    ] + [
        (item["Key"], item["VersionId"], item["IsLatest"], True)
        for item in answer.get("DeleteMarkers", [])
    ]
    return sorted(entries, key=lambda entry: (entry[0], not entry[2]))


def test_versioning_state_machine(s3: Any, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"unversioned")
    assert _versions(s3, bucket) == [("k", "null", True, False)]

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert first != second and "null" not in (first, second)
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [item["VersionId"] for item in versions] == [second, first, "null"]  # newest first
    assert [item["IsLatest"] for item in versions] == [True, False, False]

    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    assert error_code(s3.get_object, Bucket=bucket, Key="k") == "NoSuchKey"
    latest = [entry for entry in _versions(s3, bucket) if entry[2]]
    assert latest == [("k", marker["VersionId"], True, True)]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=first)["Body"].read() == b"one"

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    s3.put_object(Bucket=bucket, Key="k", Body=b"suspended")
    ids = {entry[1] for entry in _versions(s3, bucket)}
    assert ids == {first, second, marker["VersionId"], "null"}  # versions kept
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"suspended"
    s3.put_object(Bucket=bucket, Key="k", Body=b"replaced")  # replaces the null version
    assert len(_versions(s3, bucket)) == 4


def test_versioning_errors(walrus: WalrusServer, s3: Any, other_s3: Any, bucket: str) -> None:
    code = error_code(
        s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration={"Status": "On"}
    )
    assert code == "MalformedXML"
    code = error_code(
        s3.put_bucket_versioning,
        Bucket=bucket,
        VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"},
    )
    assert code == "InvalidArgument"
    response = walrus.signed(
        "PUT", f"/{bucket}?versioning", b"<VersioningConfiguration></VersioningConfiguration>"
    )
    assert xml_code(response) == "IllegalVersioningConfigurationException"
    response = walrus.signed("PUT", f"/{bucket}?versioning", b"<Versioning><Status>")
    assert xml_code(response) == "MalformedXML"
    assert error_code(other_s3.get_bucket_versioning, Bucket=bucket) == "AccessDenied"
    code = error_code(
        other_s3.put_bucket_versioning,
        Bucket=bucket,
        VersioningConfiguration={"Status": "Enabled"},
    )
    assert code == "AccessDenied"
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


def test_list_versions_paging_prefix_delimiter(s3: Any, other_s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made: dict[str, list[str]] = {}
    for key in ("a", "a", "dir/x", "dir/y", "b+c"):
        made.setdefault(key, []).append(s3.put_object(Bucket=bucket, Key=key)["VersionId"])
    seen: list[tuple[str, str]] = []
    kwargs: dict[str, Any] = {"MaxKeys": 2}
    while True:
        page = s3.list_object_versions(Bucket=bucket, **kwargs)
        seen += [(item["Key"], item["VersionId"]) for item in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        kwargs["KeyMarker"] = page["NextKeyMarker"]
        kwargs["VersionIdMarker"] = page["NextVersionIdMarker"]
    assert seen == [
        ("a", made["a"][1]),
        ("a", made["a"][0]),
        ("b+c", made["b+c"][0]),
        ("dir/x", made["dir/x"][0]),
        ("dir/y", made["dir/y"][0]),
    ]
    page = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/"]
    page = s3.list_object_versions(Bucket=bucket, Prefix="dir/", EncodingType="url")
    assert [item["Key"] for item in page["Versions"]] == ["dir/x", "dir/y"]
    code = error_code(s3.list_object_versions, Bucket=bucket, EncodingType="base64")
    assert code == "InvalidArgument"
    assert error_code(other_s3.list_object_versions, Bucket=bucket) == "AccessDenied"
    s3.put_bucket_acl(Bucket=bucket, GrantRead=f"id={OTHER_ID}")
    assert len(other_s3.list_object_versions(Bucket=bucket)["Versions"]) == 5


# --- ?logging --------------------------------------------------------------------------


def test_logging_round_trip(s3: Any, other_s3: Any, bucket: str) -> None:
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)
    target = new_bucket_name()
    s3.create_bucket(Bucket=target)
    status = {
        "LoggingEnabled": {
            "TargetBucket": target,
            "TargetPrefix": "logs/",
            "TargetGrants": [
                {"Grantee": {"Type": "CanonicalUser", "ID": OTHER_ID}, "Permission": "READ"}
            ],
        }
    }
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus=status)
    enabled = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
    assert enabled["TargetBucket"] == target
    assert enabled["TargetPrefix"] == "logs/"
    assert enabled["TargetGrants"][0]["Grantee"]["ID"] == OTHER_ID
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)
    assert error_code(other_s3.get_bucket_logging, Bucket=bucket) == "AccessDenied"


def test_logging_target_must_exist_and_be_ours(s3: Any, other_s3: Any, bucket: str) -> None:
    missing = {"LoggingEnabled": {"TargetBucket": "no-such-target", "TargetPrefix": ""}}
    code = error_code(s3.put_bucket_logging, Bucket=bucket, BucketLoggingStatus=missing)
    assert code == "InvalidTargetBucketForLogging"
    foreign = new_bucket_name()
    other_s3.create_bucket(Bucket=foreign)
    theirs = {"LoggingEnabled": {"TargetBucket": foreign, "TargetPrefix": "x"}}
    code = error_code(s3.put_bucket_logging, Bucket=bucket, BucketLoggingStatus=theirs)
    assert code == "InvalidTargetBucketForLogging"
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)


# --- ?tagging --------------------------------------------------------------------------


def test_bucket_tagging_round_trip(s3: Any, other_s3: Any, bucket: str) -> None:
    assert error_code(s3.get_bucket_tagging, Bucket=bucket) == "NoSuchTagSet"
    tags = [{"Key": "project", "Value": "walrus"}, {"Key": "empty", "Value": ""}]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tags
    assert error_code(other_s3.get_bucket_tagging, Bucket=bucket) == "AccessDenied"
    assert error_code(other_s3.delete_bucket_tagging, Bucket=bucket) == "AccessDenied"
    answer = s3.delete_bucket_tagging(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_code(s3.get_bucket_tagging, Bucket=bucket) == "NoSuchTagSet"


@pytest.mark.parametrize(
    "tags",
    [
        [{"Key": "aws:reserved", "Value": "x"}],
        [{"Key": "same", "Value": "1"}, {"Key": "same", "Value": "2"}],
        [{"Key": "k" * 129, "Value": "x"}],
        [{"Key": "k", "Value": "v" * 257}],
        [{"Key": f"k{i}", "Value": "x"} for i in range(51)],
    ],
    ids=["aws-prefix", "duplicate", "long-key", "long-value", "too-many"],
)
def test_bucket_tagging_invalid(s3: Any, bucket: str, tags: list[dict[str, str]]) -> None:
    code = error_code(s3.put_bucket_tagging, Bucket=bucket, Tagging={"TagSet": tags})
    assert code == "InvalidTag"


def test_bucket_tagging_malformed(walrus: WalrusServer, bucket: str) -> None:
    response = walrus.signed("PUT", f"/{bucket}?tagging", b"<Tagging><Tags/></Tagging>")
    assert (response.status_code, xml_code(response)) == (400, "MalformedXML")
    body = b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>"
    response = walrus.signed("PUT", f"/{bucket}?tagging", body)
    assert xml_code(response) == "MalformedXML"
    body = b"<Tagging><TagSet><Tag><Key/><Value>v</Value></Tag></TagSet></Tagging>"
    assert xml_code(walrus.signed("PUT", f"/{bucket}?tagging", body)) == "InvalidTag"


def test_object_tagging(s3: Any, other_s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"data", ContentType="text/plain")
    assert s3.get_object_tagging(Bucket=bucket, Key="obj")["TagSet"] == []
    tags = [{"Key": "colour", "Value": "blue"}]
    s3.put_object_tagging(Bucket=bucket, Key="obj", Tagging={"TagSet": tags})
    assert s3.get_object_tagging(Bucket=bucket, Key="obj")["TagSet"] == tags
    head = s3.head_object(Bucket=bucket, Key="obj")
    assert head["ContentType"] == "text/plain"
    eleven = [{"Key": f"k{i}", "Value": "v"} for i in range(11)]
    code = error_code(s3.put_object_tagging, Bucket=bucket, Key="obj", Tagging={"TagSet": eleven})
    assert code == "InvalidTag"
    code = error_code(other_s3.get_object_tagging, Bucket=bucket, Key="obj")
    assert code == "AccessDenied"
    answer = s3.delete_object_tagging(Bucket=bucket, Key="obj")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_object_tagging(Bucket=bucket, Key="obj")["TagSet"] == []
    assert error_code(s3.get_object_tagging, Bucket=bucket, Key="missing") == "NoSuchKey"


def test_object_tagging_by_version(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=bucket, Key="v", Body=b"1")["VersionId"]
    new = s3.put_object(Bucket=bucket, Key="v", Body=b"2")["VersionId"]
    answer = s3.put_object_tagging(
        Bucket=bucket, Key="v", VersionId=old, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}
    )
    assert answer["VersionId"] == old
    assert s3.get_object_tagging(Bucket=bucket, Key="v", VersionId=old)["TagSet"] == [
        {"Key": "a", "Value": "b"}
    ]
    latest = s3.get_object_tagging(Bucket=bucket, Key="v")
    assert latest["TagSet"] == [] and latest["VersionId"] == new


def test_object_tags_are_not_headers(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"data")
    s3.put_object_tagging(
        Bucket=bucket, Key="obj", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}
    )
    head = s3.head_object(Bucket=bucket, Key="obj")
    assert subresources.TAGGING_KEY not in head["ResponseMetadata"]["HTTPHeaders"]


# --- ?cors -----------------------------------------------------------------------------

CORS = {
    "CORSRules": [
        {
            "ID": "web",
            "AllowedOrigins": ["https://*.example.com"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["x-amz-*", "content-type"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 300,
        },
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
    ]
}


def test_cors_round_trip(s3: Any, other_s3: Any, bucket: str) -> None:
    assert error_code(s3.get_bucket_cors, Bucket=bucket) == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=CORS)
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == CORS["CORSRules"]
    assert error_code(other_s3.get_bucket_cors, Bucket=bucket) == "AccessDenied"
    assert error_code(other_s3.put_bucket_cors, Bucket=bucket, CORSConfiguration=CORS) == (
        "AccessDenied"
    )
    answer = s3.delete_bucket_cors(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_code(s3.get_bucket_cors, Bucket=bucket) == "NoSuchCORSConfiguration"


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}, "InvalidRequest"),
        ({"AllowedOrigins": ["*.*.example"], "AllowedMethods": ["GET"]}, "InvalidRequest"),
        (
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["**"]},
            "InvalidRequest",
        ),
        ({"AllowedOrigins": [], "AllowedMethods": ["GET"]}, "MalformedXML"),
    ],
    ids=["method", "origin-wildcards", "header-wildcards", "no-origin"],
)
def test_cors_invalid(s3: Any, bucket: str, rule: dict[str, Any], code: str) -> None:
    config = {"CORSRules": [rule]}
    assert error_code(s3.put_bucket_cors, Bucket=bucket, CORSConfiguration=config) == code


def test_cors_too_many_rules(s3: Any, bucket: str) -> None:
    rules = [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101
    code = error_code(s3.put_bucket_cors, Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert code == "MalformedXML"


def test_cors_preflight(walrus: WalrusServer, s3: Any, bucket: str) -> None:
    url = f"{walrus.url}/{bucket}/some/key"
    asks = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"}
    response = requests.options(url, headers=asks, timeout=30)
    assert (response.status_code, xml_code(response)) == (403, "AccessForbidden")
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=CORS)
    response = requests.options(
        url,
        headers={**asks, "Access-Control-Request-Headers": "X-Amz-Date, Content-Type"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert response.headers["Access-Control-Allow-Headers"] == "x-amz-date, content-type"
    assert response.headers["Access-Control-Max-Age"] == "300"
    assert response.headers["Access-Control-Expose-Headers"] == "ETag"
    anywhere = {"Origin": "http://else.where", "Access-Control-Request-Method": "GET"}
    response = requests.options(f"{walrus.url}/{bucket}", headers=anywhere, timeout=30)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    refused = {"Origin": "http://else.where", "Access-Control-Request-Method": "PUT"}
    response = requests.options(url, headers=refused, timeout=30)
    assert (response.status_code, xml_code(response)) == (403, "AccessForbidden")
    odd_header = {**asks, "Access-Control-Request-Headers": "authorization"}
    assert requests.options(url, headers=odd_header, timeout=30).status_code == 403
    response = requests.options(url, headers={"Access-Control-Request-Method": "GET"}, timeout=30)
    assert (response.status_code, xml_code(response)) == (400, "BadRequest")
    response = requests.options(f"{walrus.url}/no-such-bucket-here", headers=asks, timeout=30)
    assert xml_code(response) == "NoSuchBucket"


# --- ?lifecycle ------------------------------------------------------------------------


def test_lifecycle_round_trip(s3: Any, other_s3: Any, bucket: str) -> None:
    code = error_code(s3.get_bucket_lifecycle_configuration, Bucket=bucket)
    assert code == "NoSuchLifecycleConfiguration"
    rules = [
        {
            "ID": "logs",
            "Filter": {"Prefix": "logs/"},
            "Status": "Enabled",
            "Expiration": {"Days": 30},
        },
        {
            "ID": "tmp",
            "Filter": {"Prefix": "tmp/"},
            "Status": "Disabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
        },
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules
    code = error_code(other_s3.get_bucket_lifecycle_configuration, Bucket=bucket)
    assert code == "AccessDenied"
    answer = s3.delete_bucket_lifecycle(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    code = error_code(s3.get_bucket_lifecycle_configuration, Bucket=bucket)
    assert code == "NoSuchLifecycleConfiguration"


def _rule(**extra: str) -> str:
    parts = {"ID": "r", "Prefix": "", "Status": "Enabled", "Expiration": "<Days>1</Days>", **extra}
    return (
        "<Rule>"
        + "".join(f"<{name}>{value}</{name}>" for name, value in parts.items() if value != "-")
        + "</Rule>"
    )


@pytest.mark.parametrize(
    ("rules", "code"),
    [
        (_rule(Status="Maybe"), "MalformedXML"),
        (_rule(Expiration="<Days>0</Days>"), "InvalidArgument"),
        (_rule(Expiration="<Date>2030-01-01T12:00:00Z</Date>"), "InvalidArgument"),
        (_rule(Expiration="<Days>1</Days><Date>2030-01-01T00:00:00Z</Date>"), "MalformedXML"),
        (_rule(Expiration="-"), "InvalidRequest"),
        (_rule(Prefix="-"), "MalformedXML"),
        (_rule(Filter="<Prefix>a</Prefix>"), "MalformedXML"),
        (_rule() + _rule(), "InvalidArgument"),
        (_rule(ID="x" * 256), "InvalidArgument"),
        ("", "MalformedXML"),
    ],
    ids=[
        "status",
        "zero-days",
        "not-midnight",
        "days-and-date",
        "no-action",
        "no-filter",
        "prefix-and-filter",
        "duplicate-id",
        "long-id",
        "no-rules",
    ],
)
def test_lifecycle_invalid(walrus: WalrusServer, bucket: str, rules: str, code: str) -> None:
    body = f"<LifecycleConfiguration>{rules}</LifecycleConfiguration>".encode()
    response = walrus.signed("PUT", f"/{bucket}?lifecycle", body)
    assert (response.status_code, xml_code(response)) == (400, code)


def test_lifecycle_midnight_date_accepted(walrus: WalrusServer, s3: Any, bucket: str) -> None:
    body = (
        "<LifecycleConfiguration>"
        + _rule(Expiration="<Date>2030-01-01T00:00:00.000Z</Date>")
        + "</LifecycleConfiguration>"
    ).encode()
    assert walrus.signed("PUT", f"/{bucket}?lifecycle", body).status_code == 200
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rules[0]["Expiration"]["Date"].year == 2030


# --- ?policy ---------------------------------------------------------------------------


def _policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )


def test_policy_round_trip(s3: Any, other_s3: Any, bucket: str) -> None:
    assert error_code(s3.get_bucket_policy, Bucket=bucket) == "NoSuchBucketPolicy"
    answer = s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket))
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(_policy(bucket))
    assert error_code(other_s3.get_bucket_policy, Bucket=bucket) == "AccessDenied"
    code = error_code(other_s3.put_bucket_policy, Bucket=bucket, Policy=_policy(bucket))
    assert code == "AccessDenied"
    answer = s3.delete_bucket_policy(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_code(s3.get_bucket_policy, Bucket=bucket) == "NoSuchBucketPolicy"


@pytest.mark.parametrize(
    "policy",
    [
        "not json",
        "[]",
        '{"Version": "2012-10-17"}',
        '{"Statement": []}',
        '{"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}',
        '{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}',
        '{"Version": "1999-01-01", "Statement": [{"Effect": "Allow", "Principal": "*",'
        ' "Action": "s3:*", "Resource": "*"}]}',
        json.dumps({"Statement": [{"Effect": "Allow"}], "Pad": "x" * 21000}),
    ],
    ids=[
        "not-json",
        "array",
        "no-statement",
        "empty",
        "effect",
        "no-principal",
        "version",
        "too-large",
    ],
)
def test_policy_invalid(s3: Any, bucket: str, policy: str) -> None:
    assert error_code(s3.put_bucket_policy, Bucket=bucket, Policy=policy) == "MalformedPolicy"


# --- shared rules ----------------------------------------------------------------------


def test_configuration_bodies_are_size_limited(walrus: WalrusServer, bucket: str) -> None:
    padding = "<!-- " + "x" * (65 * 1024) + " -->"
    body = f"<CORSConfiguration>{padding}</CORSConfiguration>".encode()
    response = walrus.signed("PUT", f"/{bucket}?cors", body)
    assert (response.status_code, xml_code(response)) == (400, "MalformedXML")
    doctype = b'<!DOCTYPE x [<!ENTITY e "y">]><Tagging><TagSet/></Tagging>'
    assert xml_code(walrus.signed("PUT", f"/{bucket}?tagging", doctype)) == "MalformedXML"


def test_content_md5_is_checked(walrus: WalrusServer, bucket: str) -> None:
    body = b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"
    wrong = {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}  # the MD5 of nothing
    response = walrus.signed("PUT", f"/{bucket}?tagging", body, wrong)
    assert (response.status_code, xml_code(response)) == (400, "BadDigest")


def test_missing_bucket(s3: Any) -> None:
    assert error_code(s3.get_bucket_versioning, Bucket="no-such-bucket-x") == "NoSuchBucket"
    assert error_code(s3.get_bucket_acl, Bucket="no-such-bucket-x") == "NoSuchBucket"


def test_anonymous_is_refused(walrus: WalrusServer, bucket: str) -> None:
    for sub in ("versioning", "logging", "tagging", "cors", "lifecycle", "policy", "acl"):
        response = requests.get(f"{walrus.url}/{bucket}?{sub}", timeout=30)
        assert (response.status_code, xml_code(response)) == (403, "AccessDenied"), sub
