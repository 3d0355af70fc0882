"""SDK overhead: maaskit's clients vs the official openai client vs raw httpx, and a
3-endpoint maaskit router vs a one-endpoint maaskit client.

All four call ``GET /v1/models`` of one local maaskit server, a route cheap enough that the
client's own work dominates. Reported: requests/s and client CPU time per request (the CPU
time of this process only, so the server's share does not blur the comparison).

Every client gets the listing it asked for: maaskit and openai return parsed, typed models,
and the raw httpx baseline does what a user of raw httpx who wants the models writes,
``raise_for_status()`` and then ``.json()`` (so it decodes the body, but builds no typed objects).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import httpx
import maaskit
import openai

from benchmarks._stats import median_of_cycles

CONCURRENCY = (1, 8, 64, 256)
#: Where the async clients are also measured from a burst start (below).
BURST_CONCURRENCY = (64, 256)
#: Thread-per-call sync clients only at these (256 threads measure the thread switching).
SYNC_CONCURRENCY = (1, 64)
API_KEY = "bench-key"


def _measure_sync(call: Callable[[], object], *, concurrency: int, total: int) -> dict[str, float]:
    for _ in range(min(total, 8)):
        call()
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    if concurrency == 1:
        for _ in range(total):
            call()
    else:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(lambda _: call(), range(total)))
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started
    return {"per_second": round(total / wall, 1), "cpu_ms_per_request": round(cpu / total * 1e3, 4)}


async def _measure_async(
    call: Callable[[], Awaitable[object]], *, concurrency: int, total: int, warm_up: int = 8
) -> dict[str, float]:
    await asyncio.gather(*(call() for _ in range(min(total, warm_up))))
    remaining = total
    cpu_started, wall_started = time.process_time(), time.perf_counter()

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started
    return {"per_second": round(total / wall, 1), "cpu_ms_per_request": round(cpu / total * 1e3, 4)}


def run(base_url: str, *, quick: bool) -> dict[str, Any]:
    """``base_url`` ends in ``/v1``; the server there must accept ``API_KEY``.

    Every client is measured once per cycle, in turn, and each figure is the median over the
    cycles: on a shared machine a single window per client swung the ratios by ±10 %.
    """
    total = 200 if quick else 1000
    cycles = [_one_cycle(base_url, total) for _ in range(1 if quick else 3)]
    found: dict[str, Any] = {
        "route": "GET /v1/models",
        "requests_per_point": total,
        "cycles": len(cycles),
        "results": median_of_cycles(cycles),
    }
    if not quick:
        found["instructions_per_call"] = instructions_per_call(base_url)
    return found


# One client's calls in a child process under callgrind: warm-up calls, then ``argv[2]`` more.
_CHILD = """
import sys, httpx, maaskit
which, count, url, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if which == "raw_httpx":
    raw = httpx.Client(headers={"Authorization": f"Bearer {key}"})
    call = lambda: raw.get(f"{url}/models").raise_for_status().json()
else:
    pool = httpx.Client()
    client = maaskit.Client(provider="openai", base_url=url, api_key=key, http_client=pool)
    call = client.models
for _ in range(20):
    call()
for _ in range(count):
    call()
"""
_FEW, _MANY = 20, 120


def _instructions(which: str, count: int, base_url: str) -> int:
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={os.path.join(folder, 'out')}",
                # The interpreter itself: a pyenv shim would be measured instead.
                os.path.realpath(sys.executable),
                "-c",
                _CHILD,
                which,
                str(count),
                base_url,
                API_KEY,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise RuntimeError(f"callgrind reported no total: {done.stderr[-500:]}")
    return int(match.group(1))


def instructions_per_call(base_url: str) -> dict[str, Any]:
    """CPU instructions per sync ``models()`` call, maaskit vs raw httpx (#19 target 4: a
    ratio of at most 1.15). Instruction counts do not depend on the machine's load, unlike
    CPU time; the difference of two runs (``_MANY`` and ``_FEW`` calls) cancels start-up."""
    if shutil.which("valgrind") is None:
        return {"skipped": "valgrind is not installed (apt-get install valgrind)"}
    per_call = {
        which: round(
            (_instructions(which, _MANY, base_url) - _instructions(which, _FEW, base_url))
            / (_MANY - _FEW)
        )
        for which in ("raw_httpx", "maaskit_sync")
    }
    return {**per_call, "ratio": round(per_call["maaskit_sync"] / per_call["raw_httpx"], 3)}


def _one_cycle(base_url: str, total: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for concurrency in CONCURRENCY:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        point: dict[str, Any] = {}
        if concurrency in SYNC_CONCURRENCY:
            point.update(_sync_points(base_url, limits, concurrency=concurrency, total=total))
        point.update(
            asyncio.run(_async_points(base_url, limits, concurrency=concurrency, total=total))
        )
        results[str(concurrency)] = point
    return results


def _sync_points(
    base_url: str, limits: httpx.Limits, *, concurrency: int, total: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    point: dict[str, Any] = {}
    with httpx.Client(limits=limits, headers=headers) as raw:

        def raw_call() -> object:
            return raw.get(f"{base_url}/models").raise_for_status().json()

        point["raw_httpx"] = _measure_sync(raw_call, concurrency=concurrency, total=total)
    sync_http = httpx.Client(limits=limits)
    with maaskit.Client(
        provider="openai", base_url=base_url, api_key=API_KEY, http_client=sync_http
    ) as client:
        point["maaskit_sync"] = _measure_sync(client.models, concurrency=concurrency, total=total)
    # A router over three endpoints (the same server under three names): what routing
    # (planning, bookkeeping, the ledger) adds to a call that succeeds at once.
    router_http = httpx.Client(limits=limits)
    endpoints = [
        maaskit.Endpoint(name=name, provider="openai", base_url=base_url, api_key=API_KEY)
        for name in ("first", "second", "third")
    ]
    with maaskit.Client(endpoints=endpoints, http_client=router_http) as router:
        point["maaskit_router3"] = _measure_sync(
            router.models, concurrency=concurrency, total=total
        )
    router_http.close()
    official = openai.OpenAI(
        base_url=base_url,
        api_key=API_KEY,
        # openai 3.x annotates its bundled httpx ("httpx2"); it uses this client as given.
        http_client=cast(Any, httpx.Client(limits=limits)),
    )
    point["openai_sync"] = _measure_sync(official.models.list, concurrency=concurrency, total=total)
    official.close()
    return point


async def _async_points(
    base_url: str, limits: httpx.Limits, *, concurrency: int, total: int
) -> dict[str, Any]:
    # Clients are made inside the running loop: an httpx.AsyncClient belongs to one loop.
    found: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(limits=limits, headers=headers) as raw:

        async def raw_call() -> object:
            return (await raw.get(f"{base_url}/models")).raise_for_status().json()

        found["raw_httpx_async"] = await _measure_async(
            raw_call, concurrency=concurrency, total=total
        )
    async with maaskit.AsyncClient(
        provider="openai",
        base_url=base_url,
        api_key=API_KEY,
        http_client=httpx.AsyncClient(limits=limits),
    ) as client:
        found["maaskit_async"] = await _measure_async(
            client.models, concurrency=concurrency, total=total
        )
    # The same client on aiohttp's connection pool (maaskit[aiohttp]; its default pool of 100).
    async with maaskit.AsyncClient(
        provider="openai", base_url=base_url, api_key=API_KEY, http_transport="aiohttp"
    ) as client:
        found["maaskit_async_aiohttp"] = await _measure_async(
            client.models, concurrency=concurrency, total=total
        )
    official = openai.AsyncOpenAI(
        base_url=base_url,
        api_key=API_KEY,
        http_client=cast(Any, httpx.AsyncClient(limits=limits)),
    )
    found["openai_async"] = await _measure_async(
        official.models.list, concurrency=concurrency, total=total
    )
    await official.close()
    if concurrency in BURST_CONCURRENCY:
        found.update(await _burst_points(base_url, concurrency=concurrency, total=2 * total))
    return found


async def _burst_points(base_url: str, *, concurrency: int, total: int) -> dict[str, Any]:
    """The AsyncClient as a user makes it (its own pools), on each transport, from a burst
    start: the first ``concurrency`` calls go out at once on a fresh client, as an app's first
    ``gather`` does, then ``total`` calls (2,000 in a full run) keep that many in flight.

    This is how issue #19 measured httpx's pool (5.1-5.9 ms of client CPU per call at 64,
    170-200 calls/s). httpcore's pool pays most after a burst: every request scans every
    connection (``is_idle``: ~5,400 calls per request over 1,000 calls, py-spy and cProfile),
    and the cost per call falls the longer the run goes on (5.3 ms over 1,000 calls, 1.9 over
    6,000), while aiohttp's stays flat. The ramped rows above warm up with 8 calls instead.
    """
    found: dict[str, Any] = {}
    for transport in ("httpx", "aiohttp"):
        async with maaskit.AsyncClient(
            provider="openai", base_url=base_url, api_key=API_KEY, http_transport=transport
        ) as client:
            name = "maaskit_async_burst" if transport == "httpx" else "maaskit_async_aiohttp_burst"
            found[name] = await _measure_async(
                client.models, concurrency=concurrency, total=total, warm_up=concurrency
            )
    return found
