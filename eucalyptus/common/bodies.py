"""Reading an HTTP body whole, but never more than a limit.

Shared by every endpoint that buffers a body (the Query APIs, the SOAP server) and
by the SOAP client for responses. A declared ``Content-Length`` over the limit is
refused before anything is read; otherwise the stream is read to its end and
refused as soon as it passes the limit, so at most ``limit + one chunk`` bytes are
ever held.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import StreamReader

CHUNK = 65536


async def read_limited(
    stream: StreamReader,
    declared_length: int | None,
    limit: int,
    too_large: Callable[[], Exception],
) -> bytes:
    """The whole body of ``stream``; raises ``too_large()`` past ``limit`` bytes."""
    if declared_length is not None and declared_length > limit:
        raise too_large()
    data = bytearray()
    async for chunk in stream.iter_chunked(CHUNK):
        data += chunk
        if len(data) > limit:
            raise too_large()
    return bytes(data)
