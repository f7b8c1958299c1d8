"""Authenticated Euare GetUser calls per second against one CLC process (SigV4).

Starts a real ``eucalyptus-cloud`` on a fresh temporary root (SQLite, or PostgreSQL
with ``--db-url``), then drives it from this process with ``--concurrency``
keep-alive connections, each request signed anew with SigV4 exactly as boto3 signs
it. Prints requests/s and the p50 / p90 / p99 latency. Bounded: stops after
``--requests`` requests or ``--seconds`` seconds, whichever comes first. Only
loopback is addressed.

    .venv/bin/python -m bench.iam_getuser [--requests 20000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from eucalyptus.common.auth import SigningKeyCache, sign_v4_headers
from tests.support import Cloud

BODY = b"Action=GetUser&Version=2010-05-08"


async def drive(
    url: str, key: tuple[str, str], total: int, concurrency: int, seconds: float
) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    failures = 0
    remaining = total
    cache = SigningKeyCache()
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal remaining, failures
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                headers = sign_v4_headers(
                    "POST",
                    url,
                    {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                    BODY,
                    key[0],
                    key[1],
                    region="eucalyptus",
                    service="iam",
                    now=datetime.now(UTC),
                    key_cache=cache,
                )
                started = time.perf_counter()
                async with session.post(url, data=BODY, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        failures += 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return latencies, elapsed, failures


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="euca-bench-") as tmp:
        cloud = Cloud(Path(tmp), log_level="INFO")
        cloud.initialize()
        cloud.start()
        try:
            url = cloud.url("Euare")
            asyncio.run(drive(url, cloud.admin_key, args.warmup, args.concurrency, 30))
            latencies, elapsed, failures = asyncio.run(
                drive(url, cloud.admin_key, args.requests, args.concurrency, args.seconds)
            )
        finally:
            cloud.close()
    ordered = sorted(latencies)
    print(
        "bench: iam GetUser, SigV4, one CLC process, database "
        f"{'PostgreSQL' if cloud.pg_name else 'SQLite'}"
    )
    print(
        f"requests     {len(latencies)} ({failures} failed) in {elapsed:.2f} s, "
        f"concurrency {args.concurrency}"
    )
    print(f"throughput   {len(latencies) / elapsed:.0f} requests/s")
    print(f"latency p50  {percentile(ordered, 0.50) * 1000:.2f} ms")
    print(f"latency p90  {percentile(ordered, 0.90) * 1000:.2f} ms")
    print(f"latency p99  {percentile(ordered, 0.99) * 1000:.2f} ms")
    print(f"latency mean {statistics.fmean(ordered) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
