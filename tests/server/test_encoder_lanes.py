"""Encoder lanes on the real default model: a busy model runs single-threaded batches side by
side, and their answers equal the whole-machine session's, input by input."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from maaskit_server import metrics
from maaskit_server.model_spec import read_model_spec
from maaskit_server.runtimes import RuntimeContext
from maaskit_server.runtimes.embeddings import EmbeddingRuntime

MODEL_DIR = Path(__file__).resolve().parents[2] / "reference_server/maaskit_server/models"
MODEL = "all-minilm-l6-v2"


@pytest.fixture(scope="module")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as pool:
        yield pool


def batches_run(model: str) -> float:
    for family in metrics.BATCH_SIZE.collect():
        for sample in family.samples:
            if sample.name.endswith("_count") and sample.labels.get("model") == model:
                return sample.value
    return 0.0


async def test_lanes_answer_like_the_whole_machine_session(executor: ThreadPoolExecutor) -> None:
    spec = read_model_spec(MODEL_DIR / MODEL)
    # Batches by count only: these texts span several length classes, and this test is about
    # how lanes share one queue (the token budget has its own tests in test_batching.py).
    spec = replace(spec, batching=replace(spec.batching, max_batch_tokens=None))
    context = RuntimeContext(executor, intra_op_threads=2, encoder_lanes=2)
    runtime = EmbeddingRuntime(spec, context)
    try:
        assert runtime.batcher.limits.lanes == 2
        texts = [f"Lane test sentence {i} about " + "words " * (i % 9) for i in range(24)]
        before = batches_run(MODEL)
        # One request of 24 inputs on an idle model: shared out to both lanes at once.
        vectors, tokens = await runtime.encode(texts, truncate_to=None)
        assert batches_run(MODEL) - before == 2
        alone = [runtime.infer_unbatched(ids) for ids in runtime.tokenizer.encode(texts)]
        np.testing.assert_allclose(np.stack(vectors), np.stack(alone), atol=1e-5)
        assert tokens == sum(len(ids) for ids in runtime.tokenizer.encode(texts))
        # Many concurrent single-input requests: every answer is its own text's.
        answers = await asyncio.gather(*(runtime.encode([t], truncate_to=None) for t in texts))
        np.testing.assert_allclose(np.stack([a[0][0] for a in answers]), np.stack(alone), atol=1e-5)
    finally:
        await runtime.close()


async def test_one_core_means_one_lane(executor: ThreadPoolExecutor) -> None:
    spec = read_model_spec(MODEL_DIR / MODEL)
    runtime = EmbeddingRuntime(spec, RuntimeContext(executor, intra_op_threads=1))
    try:
        assert runtime.batcher.limits.lanes == 1
        vectors, _ = await runtime.encode(["one lane"], truncate_to=None)
        assert vectors[0].shape == (384,)
    finally:
        await runtime.close()
