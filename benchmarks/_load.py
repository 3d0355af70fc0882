"""A bounded async load generator: a fixed number of requests at a fixed concurrency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from benchmarks._stats import LatencySummary, summarise


async def _run(
    url: str,
    make_body: Callable[[int], dict[str, Any]],
    *,
    concurrency: int,
    total: int,
    headers: dict[str, str],
    timeout_s: float,
) -> LatencySummary:
    latencies: list[float] = []
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(limits=limits, timeout=timeout_s, headers=headers) as client:

        async def worker() -> None:
            nonlocal next_index
            while next_index < total:
                index = next_index
                next_index += 1
                started = time.perf_counter()
                response = await client.post(url, json=make_body(index))
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}: {response.text}")

        # One warm-up round so connection set-up is not measured.
        await asyncio.gather(*(client.post(url, json=make_body(i)) for i in range(concurrency)))
        started = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(worker() for _ in range(concurrency))), timeout=timeout_s
        )
        wall = time.perf_counter() - started
    return summarise(latencies, wall)


def post_load(
    url: str,
    make_body: Callable[[int], dict[str, Any]],
    *,
    concurrency: int,
    total: int,
    headers: dict[str, str] | None = None,
    timeout_s: float = 300.0,
) -> LatencySummary:
    """POST ``total`` bodies to ``url`` from ``concurrency`` workers; every answer must be 200."""
    return asyncio.run(
        _run(
            url,
            make_body,
            concurrency=concurrency,
            total=total,
            headers=headers or {},
            timeout_s=timeout_s,
        )
    )
