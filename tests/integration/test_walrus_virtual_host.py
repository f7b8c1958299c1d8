"""Virtual-host style: ``Host: <bucket>.walrus.test:<port>`` with WALRUS_DOMAIN="walrus.test".

There is no DNS for walrus.test: each request is signed by botocore for the URL
``http://<bucket>.walrus.test:<port>/<key>`` (SigV4 with ``S3SigV4Auth``, SigV2 with
``HmacV1Auth`` and the ``/<bucket>/<key>`` auth path botocore itself uses for virtual
hosts), then sent with ``requests`` to 127.0.0.1 with that Host header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
import requests
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree

from tests.support import Cloud, Walrus

pytestmark = pytest.mark.timeout(60)

DOMAIN = "walrus.test"
NS = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}


@pytest.fixture(scope="module")
def walrus(cloud: Cloud) -> Iterator[Walrus]:
    running = Walrus(cloud, extra_conf={"WALRUS_DOMAIN": DOMAIN})
    try:
        running.start()
        yield running
    finally:
        running.close()


class VirtualHost:
    """Signs and sends requests for ``<bucket>.walrus.test`` to the local Walrus."""

    def __init__(self, walrus: Walrus, key: tuple[str, str] | None, *, sigv2: bool) -> None:
        self.port = walrus.port
        self.key = key
        self.sigv2 = sigv2

    def url(self, bucket: str | None, key: str = "", query: str = "") -> str:
        host = f"{bucket}.{DOMAIN}" if bucket else DOMAIN
        return f"http://{host}:{self.port}/{quote(key, safe='/~')}" + (f"?{query}" if query else "")

    def sign(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> AWSRequest:
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        if self.key is None:
            return request
        credentials = Credentials(*self.key)
        if self.sigv2:
            parts = urlsplit(url)
            host = parts.hostname or ""
            if host.endswith("." + DOMAIN):  # virtual host: the bucket is signed in the path
                request.auth_path = f"/{host.removesuffix('.' + DOMAIN)}{parts.path}"
            HmacV1Auth(credentials).add_auth(request)
        else:
            S3SigV4Auth(credentials, "s3", "eucalyptus").add_auth(request)
        return request

    def send(
        self,
        method: str,
        bucket: str | None,
        key: str = "",
        *,
        query: str = "",
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        url = self.url(bucket, key, query)
        signed = self.sign(method, url, body, dict(headers or {}))
        parts = urlsplit(url)
        sent_headers = {name: str(value) for name, value in signed.headers.items()}
        sent_headers["Host"] = parts.netloc
        local = f"http://127.0.0.1:{self.port}{parts.path}" + (
            f"?{parts.query}" if parts.query else ""
        )
        return requests.request(method, local, data=body, headers=sent_headers, timeout=10)


@pytest.fixture(scope="module", params=["sigv4", "sigv2"])
def vhost(request: pytest.FixtureRequest, cloud: Cloud, walrus: Walrus) -> VirtualHost:
    return VirtualHost(walrus, cloud.admin_key, sigv2=request.param == "sigv2")


def name(vhost: VirtualHost, base: str) -> str:
    return f"vh-{'v2' if vhost.sigv2 else 'v4'}-{base}"


def ok(response: requests.Response, status: int = 200) -> requests.Response:
    assert response.status_code == status, response.text
    return response


def code(response: requests.Response) -> str:
    return etree.fromstring(response.content).findtext("Code") or ""


def test_bucket_and_object_round_trip(vhost: VirtualHost, walrus: Walrus, cloud: Cloud) -> None:
    bucket = name(vhost, "round")
    ok(vhost.send("PUT", bucket))
    ok(vhost.send("HEAD", bucket))
    listing = ok(vhost.send("GET", None))  # the domain itself: the service
    names = etree.fromstring(listing.content).xpath("//s3:Bucket/s3:Name/text()", namespaces=NS)
    assert bucket in names

    key = "dir/ünïcode key with spaces+plus.txt"
    data = b"virtually hosted"
    put = ok(vhost.send("PUT", bucket, key, body=data, headers={"Content-Type": "text/plain"}))
    assert put.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = ok(vhost.send("GET", bucket, key))
    assert got.content == data and got.headers["Content-Type"] == "text/plain"

    ok(vhost.send("PUT", bucket, "other", body=b"2"))
    listed = etree.fromstring(ok(vhost.send("GET", bucket, query="prefix=dir%2F")).content)
    assert listed.xpath("//s3:Contents/s3:Key/text()", namespaces=NS) == [key]
    assert listed.findtext("s3:Name", namespaces=NS) == bucket
    v2 = etree.fromstring(ok(vhost.send("GET", bucket, query="list-type=2&delimiter=%2F")).content)
    assert v2.xpath("//s3:CommonPrefixes/s3:Prefix/text()", namespaces=NS) == ["dir/"]
    assert v2.xpath("//s3:Contents/s3:Key/text()", namespaces=NS) == ["other"]

    # the same object, path style on the same Walrus
    path_style = VirtualHost(walrus, cloud.admin_key, sigv2=vhost.sigv2)
    url = f"http://127.0.0.1:{walrus.port}/services/Walrus/{bucket}/{quote(key)}"
    signed = path_style.sign("GET", url, b"", {})
    assert requests.get(url, headers=dict(signed.headers.items()), timeout=10).content == data

    ok(vhost.send("DELETE", bucket, key), 204)
    ok(vhost.send("DELETE", bucket, "other"), 204)
    assert code(vhost.send("GET", bucket, key)) == "NoSuchKey"
    ok(vhost.send("DELETE", bucket), 204)
    assert vhost.send("HEAD", bucket).status_code == 404


def test_acl_subresource_and_anonymous_read(vhost: VirtualHost, walrus: Walrus) -> None:
    bucket = name(vhost, "acl")
    ok(vhost.send("PUT", bucket))
    ok(vhost.send("PUT", bucket, "page", body=b"hello"))
    anonymous = VirtualHost(walrus, None, sigv2=False)
    assert code(anonymous.send("GET", bucket, "page")) == "AccessDenied"
    ok(vhost.send("PUT", bucket, "page", query="acl", headers={"x-amz-acl": "public-read"}))
    policy = etree.fromstring(ok(vhost.send("GET", bucket, "page", query="acl")).content)
    uris = policy.xpath("//s3:Grantee/s3:URI/text()", namespaces=NS)
    assert uris == ["http://acs.amazonaws.com/groups/global/AllUsers"]
    assert anonymous.send("GET", bucket, "page").content == b"hello"
    bucket_acl = etree.fromstring(ok(vhost.send("GET", bucket, query="acl")).content)
    assert bucket_acl.xpath("//s3:Permission/text()", namespaces=NS) == ["FULL_CONTROL"]


def test_presigned_urls_on_a_virtual_host(cloud: Cloud, walrus: Walrus) -> None:
    vhost = VirtualHost(walrus, cloud.admin_key, sigv2=False)
    bucket = "vh-presigned"
    ok(vhost.send("PUT", bucket))
    ok(vhost.send("PUT", bucket, "file.txt", body=b"presigned"))
    credentials = Credentials(*cloud.admin_key)
    v2 = AWSRequest(method="GET", url=vhost.url(bucket, "file.txt"))
    v2.auth_path = "/vh-presigned/file.txt"
    HmacV1QueryAuth(credentials, expires=300).add_auth(v2)
    v4 = AWSRequest(method="GET", url=vhost.url(bucket, "file.txt"))
    S3SigV4QueryAuth(credentials, "s3", "eucalyptus", expires=300).add_auth(v4)
    for signed in (v2, v4):
        parts = urlsplit(signed.url)
        assert parts.hostname == "vh-presigned.walrus.test"
        response = requests.get(
            f"http://127.0.0.1:{walrus.port}{parts.path}?{parts.query}",
            headers={"Host": parts.netloc},
            timeout=10,
        )
        assert (response.status_code, response.content) == (200, b"presigned"), response.text


def test_host_names_follow_dns_rules(vhost: VirtualHost) -> None:
    response = vhost.send("PUT", "under_score")  # a Walrus name, but no DNS name
    assert (response.status_code, code(response)) == (400, "InvalidBucketName")
    response = vhost.send("GET", "no-such-bucket-vh", "k")
    assert (response.status_code, code(response)) == (404, "NoSuchBucket")
