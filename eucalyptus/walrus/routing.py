"""From an HTTP request line to (bucket, key, sub-resource).

Three addressings reach the same store:

* path style under the service path: ``/services/Walrus/<bucket>/<key>``;
* path style at the root of the port: ``/<bucket>/<key>`` (S3 test suites);
* virtual-host style: ``Host: <bucket>.<WALRUS_DOMAIN>`` with ``/<key>``.

The key is everything after the bucket's slash, percent-decoded as UTF-8, so it may
hold any character including ``/`` (and start with one). It never names a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from eucalyptus.walrus.errors import InvalidURI, KeyTooLongError

SERVICE_PATH = "/services/Walrus"
MAX_KEY_BYTES = 1024


#: sub-resources by level, in the order they are looked for; list-type=2 is "list-v2"
BUCKET_SUBRESOURCES = (
    "acl",
    "cors",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "policy",
    "tagging",
    "uploads",
    "versioning",
    "versions",
    "website",
    "notification",
    "requestPayment",
    "accelerate",
    "encryption",
    "ownershipControls",
    "publicAccessBlock",
    "object-lock",
    "replication",
    "analytics",
    "metrics",
    "inventory",
    "intelligent-tiering",
    "policyStatus",
)
OBJECT_SUBRESOURCES = (
    "acl",
    "tagging",
    "uploads",
    "uploadId",
    "retention",
    "legal-hold",
    "torrent",
    "restore",
    "select",
    "attributes",
)

_HOST_PORT = re.compile(r"^(\[[^\]]*\]|[^:]*)(?::\d+)?$")


@dataclass(frozen=True)
class Route:
    """Where a request goes: ``level`` is service, bucket or object."""

    bucket: str | None
    key: str | None
    #: the path as sent, without the query (still percent-encoded)
    raw_path: str
    #: "/services/Walrus" when the request came under the service path, else ""
    prefix: str
    #: the bucket came from the Host header
    virtual: bool

    @property
    def level(self) -> str:
        if self.bucket is None:
            return "service"
        return "bucket" if self.key is None else "object"

    @property
    def resource(self) -> str:
        """``/bucket/key`` for error bodies."""
        if self.bucket is None:
            return "/"
        return f"/{self.bucket}" + ("" if self.key is None else f"/{self.key}")


def host_name(host: str) -> str:
    """The Host header without its port, lower-cased."""
    match = _HOST_PORT.match(host.strip())
    return (match.group(1) if match else host).lower()


def _decode(raw: str) -> str:
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise InvalidURI() from None


def route(raw_path: str, host: str, domain: str) -> Route:
    """Split a request path (no query) into bucket and key; see the module doc."""
    path = raw_path or "/"
    prefix = ""
    if path == SERVICE_PATH or path.startswith(SERVICE_PATH + "/"):
        prefix = SERVICE_PATH
        path = path[len(SERVICE_PATH) :] or "/"
    name = host_name(host)
    if domain and name.endswith("." + domain.lower()):
        bucket = name[: -len(domain) - 1]
        key = _decode(path[1:]) if len(path) > 1 else None
        return _checked(Route(bucket, key, raw_path, prefix, virtual=True))
    rest = path[1:] if path.startswith("/") else path
    if not rest:
        return Route(None, None, raw_path, prefix, virtual=False)
    bucket_raw, slash, key_raw = rest.partition("/")
    bucket = _decode(bucket_raw)
    key = _decode(key_raw) if slash and key_raw else None
    return _checked(Route(bucket, key, raw_path, prefix, virtual=False))


def _checked(found: Route) -> Route:
    if found.key is not None and len(found.key.encode("utf-8")) > MAX_KEY_BYTES:
        raise KeyTooLongError(Size=str(len(found.key.encode("utf-8"))), MaxSizeAllowed="1024")
    return found


def subresource(level: str, query: dict[str, str]) -> str:
    """The sub-resource a query names ("" for none; "list-v2" for ListObjectsV2)."""
    names = BUCKET_SUBRESOURCES if level == "bucket" else OBJECT_SUBRESOURCES
    if level == "object" and "uploadId" in query:
        return "uploadId"
    for name in names:
        if name in query:
            return name
    if level == "bucket" and query.get("list-type") == "2":
        return "list-v2"
    return ""
