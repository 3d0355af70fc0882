"""A bounded async load generator: a fixed number of requests at a fixed concurrency.

Each simulated client owns its own ``httpx.AsyncClient`` with one connection, as separate users
would. One shared client with a 64-connection pool spends ~10 ms of CPU per request in
httpcore's pool bookkeeping on this kind of machine, which capped the whole harness near
100 req/s and starved the server under test of CPU (profiled with py-spy).

The generator shares the machine with the server under test, so every millisecond of CPU it
spends is taken from that server: it runs on uvloop when installed, its clients share one SSL
context (building 64 costs ~1.5 s of CPU per point), its clients run on aiohttp's transport for
httpx (``httpx-aiohttp``, the ``maaskit[aiohttp]`` extra) when installed, which spends less CPU
per request than httpcore, and it reports its own CPU time per request next to the figures, so a
reader can see how much of the machine the harness itself took.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx

from benchmarks._stats import LatencySummary, summarise

T = TypeVar("T")


def _client_class() -> type[httpx.AsyncClient]:
    try:
        from httpx_aiohttp import HttpxAiohttpClient
    except ImportError:  # pragma: no cover - the dev extra installs it
        return httpx.AsyncClient
    return HttpxAiohttpClient


TRANSPORT = "aiohttp" if _client_class() is not httpx.AsyncClient else "httpx"


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
    tls = ssl.create_default_context()  # loopback is plain HTTP; httpx builds one per client
    # Every client warms its connection up first; the clock starts when all are ready.
    # (An Event and a count rather than asyncio.Barrier, which needs Python 3.11.)
    warmed = 0
    ready = asyncio.Event()

    async def client_loop(warm_up_index: int) -> None:
        nonlocal next_index, warmed
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with _client_class()(
            limits=limits, timeout=timeout_s, headers=headers, verify=tls
        ) as client:
            (await client.post(url, json=make_body(warm_up_index))).raise_for_status()
            warmed += 1
            if warmed == concurrency:
                ready.set()
            await ready.wait()
            while next_index < total:
                index = next_index
                next_index += 1
                started = time.perf_counter()
                try:
                    response = await client.post(url, json=make_body(index))
                except (httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectTimeout):
                    # The server closed this keep-alive connection while it sat idle (a
                    # client that waited long at the start on a loaded machine): the request
                    # never reached it, so it is sent again on a new connection. (httpx-aiohttp
                    # 0.2 reports that as ConnectTimeout.)
                    response = await client.post(url, json=make_body(index))
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}: {response.text}")

    tasks = [asyncio.create_task(client_loop(i)) for i in range(concurrency)]
    await asyncio.wait_for(ready.wait(), timeout=timeout_s)
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=timeout_s)
    wall = time.perf_counter() - started
    return summarise(latencies, wall, client_cpu_s=time.process_time() - cpu_started)


def run_on_fast_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on uvloop when it is installed (less CPU per request than asyncio's)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with maaskit[server] on CPython/Unix
        return asyncio.run(coroutine)
    result: T = uvloop.run(coroutine)
    return result


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
    return run_on_fast_loop(
        _run(
            url,
            make_body,
            concurrency=concurrency,
            total=total,
            headers=headers or {},
            timeout_s=timeout_s,
        )
    )
