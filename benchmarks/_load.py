"""A bounded async load generator: a fixed number of requests at a fixed concurrency.

Each simulated client owns its own ``httpx.AsyncClient`` with one connection, as separate users
would. One shared client with a 64-connection pool spends ~10 ms of CPU per request in
httpcore's pool bookkeeping on this kind of machine, which capped the whole harness near
100 req/s and starved the server under test of CPU (profiled with py-spy).
"""

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
    # Every client warms its connection up first; the clock starts when all are ready.
    ready = asyncio.Barrier(concurrency + 1)

    async def client_loop(warm_up_index: int) -> None:
        nonlocal next_index
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(limits=limits, timeout=timeout_s, headers=headers) as client:
            (await client.post(url, json=make_body(warm_up_index))).raise_for_status()
            await ready.wait()
            while next_index < total:
                index = next_index
                next_index += 1
                started = time.perf_counter()
                response = await client.post(url, json=make_body(index))
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}: {response.text}")

    tasks = [asyncio.create_task(client_loop(i)) for i in range(concurrency)]
    await asyncio.wait_for(ready.wait(), timeout=timeout_s)
    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=timeout_s)
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
    """POST ``total`` bodies to ``url`` from ``concurrency`` clients; every answer must be 200."""
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
