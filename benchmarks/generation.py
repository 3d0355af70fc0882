"""Generation throughput: the server's streams next to a raw onnxruntime decode loop.

``python -m benchmarks.generation [--models DIR] [--model NAME] [--tokens N] [--quick]``

Rows (all greedy, same prompts, same number of new tokens per stream):

* ``raw onnxruntime loop``: the ceiling, a plain KV-cache greedy loop at batch 1, no server;
  and the same loop with 8 rows in one batch, whose gain bounds what any server's batching gets.
* ``engine, in process``: maaskit's GenerationEngine without HTTP (sampling, detokenization,
  stop matching and the engine thread included).
* ``server, N streams``: N concurrent SSE streams through ``POST /v1/completions`` on a real
  ``python -m maaskit_server`` process; aggregate tokens/s over all streams.

Beside them, at 1 and 8 streams: the CPU the load generator itself took (it shares the machine
with the server), and the server's engine-thread and event-loop CPU per generated token (thread
CPU time from /proc, not wall clock), so a note can say where each microsecond goes.

Figures are printed as a table and written to ``benchmarks/results/generation.json``. A script,
not a test: nothing here asserts a speed.

Each row is the median of several cycles that visit every row in turn, so that the ratios compare
measurements taken under the same conditions: on a shared machine a single short window per row
made the 8-stream/1-stream ratio of one unchanged build swing between 2.6 and 4.2. The range of
the per-cycle ratios is reported beside the ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
import onnxruntime as ort
from prometheus_client.parser import text_string_to_metric_families
from tokenizers import Tokenizer

from benchmarks._load import run_on_fast_loop
from benchmarks._machine import describe_machine
from benchmarks._process import free_port, running
from benchmarks._threads import busiest_other_thread, thread_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ROOT / "reference_server" / "maaskit_server" / "models"
RESULTS = Path(__file__).resolve().parent / "results"
PROMPTS = [
    "To be, or not to be, that is the question:",
    "ROMEO:\nBut soft, what light through yonder window breaks?",
    "Now is the winter of our discontent",
    "Friends, Romans, countrymen, lend me your ears;",
    "All the world's a stage, and all the men and women merely players.",
    "KING RICHARD III:\nA horse! a horse!",
    "O Romeo, Romeo! wherefore art thou Romeo?",
    "Is this a dagger which I see before me,",
]


def raw_decode_tokens_per_second(
    model_dir: Path, new_tokens: int, repeats: int, *, batch: int = 1
) -> tuple[float, float]:
    """Greedy decoding with a bare onnxruntime session, ``batch`` rows at once.

    At batch 1 this is the ceiling for one stream. At batch 8 (the same prompt in every row, so
    no padding) its gain over batch 1 is the most any batching server could gain on this model
    and machine: onnxruntime's own cost per step, with nothing else around it.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_dir / "model.onnx"), options)
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    past_inputs = [i for i in session.get_inputs() if i.name.startswith("past_key_values")]
    heads, head_dim = past_inputs[0].shape[1], past_inputs[0].shape[3]
    outputs = ["logits", *(name.replace("past_key_values", "present") for name in
                           (i.name for i in past_inputs))]  # fmt: skip
    generated = 0
    started, cpu_started = time.perf_counter(), time.thread_time()
    for index in range(max(1, repeats // batch)):
        ids = tokenizer.encode(PROMPTS[index % len(PROMPTS)]).ids
        past = {i.name: np.zeros((batch, heads, 0, head_dim), np.float32) for i in past_inputs}
        feed_ids = np.asarray([ids] * batch, np.int64)
        length = 0
        for _ in range(new_tokens):
            width = feed_ids.shape[1]
            feed = {
                "input_ids": feed_ids,
                "attention_mask": np.ones((batch, length + width), np.int64),
                "position_ids": np.broadcast_to(
                    np.arange(length, length + width, dtype=np.int64), (batch, width)
                ),
                **past,
            }
            logits, *present = session.run(outputs, feed)
            past = {i.name: value for i, value in zip(past_inputs, present, strict=True)}
            length += width
            feed_ids = np.argmax(logits[:, -1], axis=-1).astype(np.int64)[:, None]
            generated += batch
    cpu_us = (time.thread_time() - cpu_started) / generated * 1e6
    return generated / (time.perf_counter() - started), cpu_us


def engine_tokens_per_second(model_dir: Path, new_tokens: int, repeats: int) -> float:
    rate, _ = engine_streams(model_dir, new_tokens, repeats, streams=1)
    return rate


def engine_streams(
    model_dir: Path, new_tokens: int, rounds: int, *, streams: int
) -> tuple[float, float]:
    """The engine without HTTP: ``streams`` callers each submitting ``rounds`` requests back to
    back; tokens/s and the engine thread's CPU microseconds per token.

    Beside the server's engine-thread CPU at the same stream count, this separates what the
    engine itself costs from what serving HTTP next to it costs the engine thread.
    """
    from maaskit_server.generation.engine import GenerationEngine
    from maaskit_server.generation.params import SamplingParams

    engine = GenerationEngine.from_folder(model_dir)
    engine.start()
    params = SamplingParams(max_tokens=new_tokens, temperature=0.0, ignore_eos=True)

    async def one(prompt: str) -> int:
        handle = engine.submit(engine.encode(prompt), params)
        count = 0
        async for event in handle.events(timeout=120):
            count += hasattr(event, "token")
        return count

    async def caller(offset: int) -> int:
        count = 0
        for index in range(rounds):
            count += await one(PROMPTS[(index + offset) % len(PROMPTS)])
        return count

    async def all_runs() -> tuple[int, float, float]:
        await one(PROMPTS[0])  # warm-up
        thread = engine._thread
        assert thread is not None
        assert thread.native_id is not None
        before = thread_cpu_seconds(os.getpid()).get(thread.native_id, 0.0)
        started = time.perf_counter()
        total = sum(await asyncio.gather(*(caller(i) for i in range(streams))))
        seconds = time.perf_counter() - started
        cpu = thread_cpu_seconds(os.getpid()).get(thread.native_id, 0.0) - before
        return total, seconds, cpu

    try:
        total, seconds, cpu = asyncio.run(all_runs())
    finally:
        engine.close()
    return total / seconds, cpu / total * 1e6


@dataclass(frozen=True)
class StreamWindow:
    """One timed window of N concurrent streams, with the CPU each side spent in it."""

    tokens_per_second: float
    # The benchmark process's own CPU over the window's wall time: the load generator shares
    # the machine with the server under test, so every core-second it takes is the server's.
    client_cpu_share: float
    client_cpu_us_per_token: float
    # The server's engine thread and event-loop thread, CPU microseconds per generated token
    # (None where /proc cannot be read).
    engine_cpu_us_per_token: float | None
    loop_cpu_us_per_token: float | None
    # The engine thread's CPU over the window's wall time: below 1, it waited (for requests
    # between one stream's end and its next request, or for the GIL), which the raw loop never
    # does. And the mean rows per decode step (from /metrics), 8 for 8 streams in lockstep.
    engine_busy_share: float | None
    mean_decode_batch: float | None


async def server_tokens_per_second(
    base_url: str, model: str, streams: int, new_tokens: int, rounds: int, server_pid: int
) -> StreamWindow:
    """Aggregate tokens/s of ``streams`` concurrent SSE streams, each sending back to back.

    The streams run on aiohttp and count tokens from the final usage chunk only: the previous
    httpx client split every line and parsed it, and took ~0.5 of a core at 8 streams on a
    2-core machine, CPU the server under test then lacked (its 8-stream figure rose by a quarter
    with a lighter client; see ``client CPU share`` in the figures).
    """

    async def stream(session: aiohttp.ClientSession, prompt: str) -> int:
        body = {
            "model": model,
            "prompt": prompt,
            "max_tokens": new_tokens,
            "temperature": 0,
            "ignore_eos": True,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        chunks: list[bytes] = []
        async with session.post(f"{base_url}/v1/completions", json=body) as response:
            response.raise_for_status()
            async for chunk in response.content.iter_any():
                chunks.append(chunk)
        return _completion_tokens(b"".join(chunks))

    connector = aiohttp.TCPConnector(limit=streams + 2)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await stream(session, PROMPTS[0])  # warm-up: first-request costs are not throughput

        # Each stream is a client sending its requests back to back, so N streams stay N
        # concurrent streams throughout; rounds joined by a barrier left the engine idle while
        # the last stream of a round finished and the next round connected.
        async def client_loop(offset: int) -> int:
            count = 0
            for round_index in range(rounds):
                count += await stream(session, PROMPTS[(round_index + offset) % len(PROMPTS)])
            return count

        steps_before = await _decode_steps(session, base_url, model)
        threads_before = thread_cpu_seconds(server_pid)
        started, cpu_started = time.perf_counter(), time.process_time()
        total = sum(await asyncio.gather(*(client_loop(i) for i in range(streams))))
        wall = time.perf_counter() - started
        client_cpu = time.process_time() - cpu_started
        threads_after = thread_cpu_seconds(server_pid)
        steps_after = await _decode_steps(session, base_url, model)
    engine_us = loop_us = busy = None
    if threads_after and total:
        # The event loop runs in the server's main thread; the engine thread is the busiest
        # of the others (onnxruntime runs in it: intra- and inter-op pools of one thread).
        loop_cpu = threads_after[server_pid] - threads_before.get(server_pid, 0.0)
        engine_cpu = busiest_other_thread(threads_before, threads_after, server_pid)
        engine_us, loop_us = engine_cpu / total * 1e6, loop_cpu / total * 1e6
        busy = engine_cpu / wall
    per_token = client_cpu / total * 1e6 if total else 0.0
    rows, steps = (after - before for after, before in zip(steps_after, steps_before, strict=True))
    batch = rows / steps if steps else None
    return StreamWindow(total / wall, client_cpu / wall, per_token, engine_us, loop_us, busy, batch)


async def _decode_steps(
    session: aiohttp.ClientSession, base_url: str, model: str
) -> tuple[float, float]:
    """Rows decoded and decode steps run so far: the decode batch-size histogram's sum and count."""
    async with session.get(f"{base_url}/metrics") as response:
        response.raise_for_status()
        text = await response.text()
    found = {"sum": 0.0, "count": 0.0}
    for family in text_string_to_metric_families(text):
        if family.name != "maaskit_generation_decode_batch_size":
            continue
        for sample in family.samples:
            part = sample.name.rpartition("_")[2]
            if part in found and sample.labels.get("model") == model:
                found[part] = sample.value
    return found["sum"], found["count"]


def _completion_tokens(body: bytes) -> int:
    """``usage.completion_tokens`` of a completed SSE stream (its last JSON chunk)."""
    for line in reversed(body.splitlines()):
        if line.startswith(b"data: {"):
            usage = json.loads(line[6:]).get("usage")
            if usage:
                return int(usage["completion_tokens"])
    raise RuntimeError("the stream ended without a usage chunk")


def run(
    models_dir: Path, *, quick: bool, model: str = "tiny-shakespeare", tokens: int = 64
) -> dict[str, Any]:
    """Every row of the table, plus the ratio the targets speak of; used by ``benchmarks run``."""
    model_dir = models_dir / model
    repeats = 2 if quick else 8
    cycles = 1 if quick else 3
    samples: dict[str, list[float]] = {}

    def measure(name: str, rate: float) -> None:
        samples.setdefault(name, []).append(rate)

    raw_name, engine_name = "raw onnxruntime loop, 1 stream", "engine in process, 1 stream"
    raw8_name = "raw onnxruntime loop, 8 rows in one batch"
    raw_cpu: dict[int, list[float]] = {}
    engine8_cpu: list[float] = []
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = ["-m", "maaskit_server", "--models", str(models_dir), "--port", str(port),
               "--no-access-log"]  # fmt: skip
    # Per stream count: the client's CPU share, engine and loop CPU per token, every cycle.
    sides: dict[int, list[StreamWindow]] = {}
    with running(command, f"{base_url}/ready") as server:
        ttft_ms = run_on_fast_loop(
            time_to_first_token_ms(base_url, model, samples=3 if quick else 10)
        )
        # Every cycle visits the raw rows and the server rows in turn (the idle server costs
        # nothing meanwhile), so the server's 8/1 and the raw loop's 8/1 of one cycle were
        # measured under the same load.
        for _ in range(cycles):
            for batch, name in ((1, raw_name), (8, raw8_name)):
                rate, cpu_us = raw_decode_tokens_per_second(
                    model_dir, tokens, batch * repeats, batch=batch
                )
                measure(name, rate)
                raw_cpu.setdefault(batch, []).append(cpu_us)
            measure(engine_name, engine_tokens_per_second(model_dir, tokens, repeats))
            _, engine_us = engine_streams(model_dir, tokens, max(1, repeats // 4), streams=8)
            engine8_cpu.append(engine_us)
            for streams in (1, 4, 8):
                rounds = max(1, repeats // streams) if quick else max(2, 16 // streams)
                window = run_on_fast_loop(
                    server_tokens_per_second(base_url, model, streams, tokens, rounds, server.pid)
                )
                measure(f"server, {streams} concurrent stream(s)", window.tokens_per_second)
                sides.setdefault(streams, []).append(window)
    rows = {name: statistics.median(values) for name, values in samples.items()}
    single = rows["server, 1 concurrent stream(s)"]
    figures: dict[str, Any] = {f"{name} (tokens/s)": round(rate, 1) for name, rate in rows.items()}
    figures["server time to first token, p50 (ms)"] = round(ttft_ms, 2)
    raw = rows[raw_name]
    figures["server 1 stream / raw loop"] = round(single / raw, 3)
    figures["server 8 streams / 1 stream (target >= 4)"] = round(
        rows["server, 8 concurrent stream(s)"] / single, 3
    )
    # No server can batch better than onnxruntime does alone: the bound on the ratio above.
    figures["raw batch 8 / raw batch 1 (the most batching can gain here)"] = round(
        rows[raw8_name] / raw, 3
    )
    per_cycle = [
        eight / one
        for one, eight in zip(
            samples["server, 1 concurrent stream(s)"],
            samples["server, 8 concurrent stream(s)"],
            strict=True,
        )
    ]
    figures["server 8 streams / 1 stream, per cycle (min-max)"] = (
        f"{min(per_cycle):.2f}-{max(per_cycle):.2f}"
    )
    over_raw = [
        ratio * one / eight
        for ratio, one, eight in zip(per_cycle, samples[raw_name], samples[raw8_name], strict=True)
    ]
    figures["server 8/1 over raw 8/1, per cycle (min-max)"] = (
        f"{min(over_raw):.2f}-{max(over_raw):.2f}"
    )
    for batch, cpu_values in raw_cpu.items():
        median_us = statistics.median(cpu_values)
        figures[f"raw loop CPU per token, batch {batch} (us)"] = round(median_us, 1)
    figures["server 8/1 over raw batch 8/1 (target >= 0.9)"] = round(
        figures["server 8 streams / 1 stream (target >= 4)"]
        / figures["raw batch 8 / raw batch 1 (the most batching can gain here)"],
        3,
    )
    for streams in (1, 8):
        windows = sides[streams]
        figures[f"load generator CPU / wall, {streams} stream(s)"] = round(
            statistics.median(w.client_cpu_share for w in windows), 3
        )
        figures[f"load generator CPU per token, {streams} stream(s) (us)"] = round(
            statistics.median(w.client_cpu_us_per_token for w in windows), 1
        )
        for side, values in (
            ("engine thread", [w.engine_cpu_us_per_token for w in windows]),
            ("event loop", [w.loop_cpu_us_per_token for w in windows]),
        ):
            known = [v for v in values if v is not None]
            if known:
                figures[f"server {side} CPU per token, {streams} stream(s) (us)"] = round(
                    statistics.median(known), 1
                )
        for name, values in (
            ("server engine thread CPU / wall", [w.engine_busy_share for w in windows]),
            ("server mean rows per decode step", [w.mean_decode_batch for w in windows]),
        ):
            known = [v for v in values if v is not None]
            if known:
                figures[f"{name}, {streams} stream(s)"] = round(statistics.median(known), 3)
    if engine8_cpu:
        figures["engine in process, 8 streams: engine thread CPU per token (us)"] = round(
            statistics.median(engine8_cpu), 1
        )
    # The same ratio in CPU time: what the engine thread (the bottleneck at 8 streams) spends
    # per token at 1 and 8 streams, over what the raw loop spends at batch 1 and 8. Other load
    # on a shared machine moves it far less than the wall-clock ratio above.
    engine_1 = figures.get("server engine thread CPU per token, 1 stream(s) (us)")
    engine_8 = figures.get("server engine thread CPU per token, 8 stream(s) (us)")
    if engine_1 and engine_8:
        raw_gain = statistics.median(raw_cpu[1]) / statistics.median(raw_cpu[8])
        figures["engine CPU 1/8 over raw loop CPU 1/8"] = round(engine_1 / engine_8 / raw_gain, 3)
    return {
        "model": model,
        "new_tokens_per_stream": tokens,
        "cycles": cycles,
        "samples": {name: [round(v, 1) for v in values] for name, values in samples.items()},
        "figures": figures,
    }


async def time_to_first_token_ms(base_url: str, model: str, *, samples: int) -> float:
    """Median time from sending a streamed completion to its first content chunk."""
    body = {"model": model, "prompt": PROMPTS[1], "max_tokens": 8, "temperature": 0, "stream": True}
    found: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        for _ in range(samples + 1):  # the first one warms up
            started = time.perf_counter()
            async with client.stream("POST", "/v1/completions", json=body) as response:
                response.raise_for_status()
                async for line in response.aiter_lines():
                    if line.startswith("data: {"):
                        found.append((time.perf_counter() - started) * 1000.0)
                        break
    ordered = sorted(found[1:])
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    parser.add_argument("--model", default="tiny-shakespeare")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per stream")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    args = parser.parse_args()
    result = run(args.models, quick=args.quick, model=args.model, tokens=args.tokens)
    print(f"\nGeneration, {args.model}, {args.tokens} new tokens per stream, greedy")
    for name, value in result["figures"].items():
        print(f"{name:<52} {value:>10}")
    result["machine"] = describe_machine()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generation.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
