"""``python -m benchmarks soak``: mixed clients against one server for a bounded time.

``concurrency`` async clients (default 64) loop over chat (plain and streamed), completions,
embeddings and classification, each request with its own ``Idempotency-Key`` so the
idempotency store fills up as in production. Reported: errors (any non-2xx, transport error
or incomplete stream; target 0), the server's RSS after warm-up and at the end (target: < 10 %
growth), p99 latency per window (its drift), and the idempotency store's entries and bytes
(bounded by ``--idempotency-max-entries``; visible on the admin route, read here).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from benchmarks._process import free_port
from benchmarks._stats import percentile

API_KEY = "soak-key-0123456789"
ADMIN_KEY = "soak-admin-0123456789"
LM, EMBEDDER, CLASSIFIER = "tiny-shakespeare", "all-minilm-l6-v2", "sentiment"
_NOTEWORTHY = ("WARNING", "ERROR", "CRITICAL", "Traceback")


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _requests() -> itertools.cycle[tuple[str, dict[str, Any]]]:
    chat = {"model": LM, "messages": [{"role": "user", "content": "Speak"}], "max_tokens": 16}
    return itertools.cycle(
        [
            ("/v1/chat/completions", chat),
            ("/v1/chat/completions", {**chat, "stream": True}),
            ("/v1/completions", {"model": LM, "prompt": "To be", "max_tokens": 16}),
            ("/v1/embeddings", {"model": EMBEDDER, "input": ["soak one", "soak two"]}),
            ("/v1/classify", {"model": CLASSIFIER, "input": ["a fine day"]}),
        ]
    )


async def _client(
    http: httpx.AsyncClient,
    deadline: float,
    offset: int,
    samples: list[tuple[float, float]],
    errors: list[str],
) -> None:
    work = _requests()
    for _ in range(offset):
        next(work)
    while time.monotonic() < deadline:
        path, body = next(work)
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        started = time.monotonic()
        try:
            if body.get("stream"):
                async with http.stream("POST", path, json=body, headers=headers) as response:
                    lines = [line async for line in response.aiter_lines() if line]
                ok = response.status_code == 200 and lines[-1:] == ["data: [DONE]"]
            else:
                response = await http.post(path, json=body, headers=headers)
                ok = response.status_code == 200
            if not ok:
                errors.append(f"{path}: {response.status_code}")
        except httpx.HTTPError as exc:
            errors.append(f"{path}: {exc!r}")
        samples.append((started, time.monotonic() - started))


async def _soak(
    base_url: str, pid: int, seconds: float, warmup_s: float, concurrency: int
) -> dict[str, Any]:
    samples: list[tuple[float, float]] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=120
    ) as http:
        began = time.monotonic()
        deadline = began + seconds
        tasks = [
            asyncio.create_task(_client(http, deadline, n, samples, errors))
            for n in range(concurrency)
        ]
        windows = max(1, int(seconds // 60) or 4)
        width = seconds / windows
        admin = {"X-MaaSKit-Admin-Key": ADMIN_KEY}
        # The store's size at the end of every window: it must level off at its bound.
        store_per_window: list[dict[str, int]] = []
        sampler = asyncio.create_task(_sample_store(http, admin, began, width, store_per_window))
        await asyncio.sleep(min(warmup_s, seconds))
        rss_after_warmup = _rss_bytes(pid)
        await asyncio.gather(*tasks)
        sampler.cancel()
        rss_end = _rss_bytes(pid)
        store = (await http.get("/_maaskit/idempotency", headers=admin)).json()
    p99s = []
    for index in range(windows):
        window = sorted(
            latency for start, latency in samples if index <= (start - began) / width < index + 1
        )
        p99s.append(round(percentile(window, 0.99) * 1000, 2))
    return {
        "seconds": seconds,
        "concurrency": concurrency,
        "requests": len(samples),
        "errors": len(errors),
        "error_examples": errors[:5],
        "rss_after_warmup_mb": round(rss_after_warmup / 1e6, 1),
        "rss_end_mb": round(rss_end / 1e6, 1),
        "rss_growth_pct": round(100 * (rss_end - rss_after_warmup) / max(1, rss_after_warmup), 2),
        "p99_ms_per_window": p99s,
        "idempotency": {key: store[key] for key in ("entries", "stored_bytes", "executed")},
        "idempotency_per_window": store_per_window,
    }


async def _sample_store(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    began: float,
    width: float,
    found: list[dict[str, int]],
) -> None:
    for index in itertools.count(1):
        await asyncio.sleep(max(0.0, began + index * width - time.monotonic()))
        with contextlib.suppress(httpx.HTTPError):
            store = (await http.get("/_maaskit/idempotency", headers=admin)).json()
            found.append({key: store[key] for key in ("entries", "stored_bytes", "executed")})


def run(models_dir: Path, *, seconds: float, concurrency: int, max_entries: int) -> dict[str, Any]:
    port = free_port()
    command = [
        sys.executable, "-m", "maaskit_server", "--models", str(models_dir), "--port", str(port),
        "--api-key", API_KEY, "--enable-faults", "--fault-admin-key", ADMIN_KEY,
        "--no-access-log", "--idempotency-max-entries", str(max_entries),
    ]  # fmt: skip
    # The server's own warnings and errors go into the result: an error count alone does not
    # say whether the server or the client gave up on a connection.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below, after the server)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the soak server did not become ready")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        warmup = min(60.0, seconds / 5)
        load_before = os.getloadavg()
        found = asyncio.run(_soak(base_url, process.pid, seconds, warmup, concurrency))
        found["idempotency_max_entries"] = max_entries
        found["idempotency_bounded"] = found["idempotency"]["entries"] <= max_entries
        # The machine is shared: its load around the run says how much the figures can be trusted.
        found["load_average_before"] = [round(value, 2) for value in load_before]
        found["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
        log.seek(0)
        lines = log.read().decode("utf-8", "replace").splitlines()
        found["server_warnings"] = [line for line in lines if line.startswith(_NOTEWORTHY)][:20]
        return found
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
