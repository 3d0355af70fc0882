"""The onnxruntime decode loop itself, on the real default model (skips until it is committed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from maaskit_server.generation.kv_batch import DecodeBatch
from maaskit_server.generation.onnx_model import OnnxCausalLM
from tokenizers import Tokenizer

PROMPTS = [
    "To be, or not to be",
    "ROMEO:\nWhat light through yonder window",
    "Now is the winter of our discontent made glorious summer by this sun of York",
    "A",
]


@pytest.fixture(scope="module")
def model(lm_dir: Path) -> OnnxCausalLM:
    return OnnxCausalLM(lm_dir / "model.onnx")


@pytest.fixture(scope="module")
def tokenizer(lm_dir: Path) -> Tokenizer:
    return Tokenizer.from_file(str(lm_dir / "tokenizer.json"))


def greedy(
    batch: DecodeBatch[int], prompts: dict[int, list[int]], steps: int
) -> dict[int, list[int]]:
    """Plain greedy decoding of several prompts sharing ``batch``; ``steps`` tokens each."""
    generated: dict[int, list[int]] = {}
    for key, ids in prompts.items():
        generated[key] = [int(np.argmax(batch.prefill(key, ids)))]
    for _ in range(steps - 1):
        logits = batch.step({key: tokens[-1] for key, tokens in generated.items()})
        for key, row in logits.items():
            generated[key].append(int(np.argmax(row)))
    return generated


def test_the_graph_is_read_as_an_optimum_kv_cache_export(model: OnnxCausalLM, lm_dir: Path) -> None:
    # The layout is read from the graph; config.json says what the trained model really is.
    config = json.loads((lm_dir / "config.json").read_text())
    assert model.kv is not None
    assert model.kv.num_layers == config["n_layer"]
    assert model.kv.num_heads == config["n_head"]
    assert model.kv.head_dim == config["n_embd"] // config["n_head"]
    assert model.has_position_ids
    assert model.has_attention_mask
    assert model.vocab_size == config["vocab_size"]


def test_greedy_decoding_reproduces_transformers_generate(
    model: OnnxCausalLM, greedy_fixture: dict[str, Any]
) -> None:
    for prompt_ids, expected in fixture_cases(greedy_fixture):
        got = greedy(DecodeBatch(model), {0: prompt_ids}, len(expected))[0]
        assert got == expected


def test_batched_greedy_decoding_reproduces_transformers_generate(
    model: OnnxCausalLM, greedy_fixture: dict[str, Any]
) -> None:
    cases = fixture_cases(greedy_fixture)
    steps = max(len(expected) for _, expected in cases)
    got = greedy(DecodeBatch(model), {i: ids for i, (ids, _) in enumerate(cases)}, steps)
    for index, (_, expected) in enumerate(cases):
        # A continuation that ended with EOS is shorter; the batch kept decoding past it.
        assert got[index][: len(expected)] == expected


def test_batched_decoding_equals_decoding_alone(model: OnnxCausalLM, tokenizer: Tokenizer) -> None:
    prompts = {i: tokenizer.encode(p).ids for i, p in enumerate(PROMPTS)}
    assert len({len(ids) for ids in prompts.values()}) > 1  # left padding is exercised
    alone = {key: greedy(DecodeBatch(model), {key: ids}, 24)[key] for key, ids in prompts.items()}
    assert greedy(DecodeBatch(model), prompts, 24) == alone


def test_sequences_joining_and_leaving_mid_batch_are_unaffected(
    model: OnnxCausalLM, tokenizer: Tokenizer
) -> None:
    prompts = [tokenizer.encode(p).ids for p in PROMPTS]
    alone = [greedy(DecodeBatch(model), {0: ids}, 12)[0] for ids in prompts]
    batch: DecodeBatch[int] = DecodeBatch(model)
    generated: dict[int, list[int]] = {}
    active: set[int] = set()
    joins_at_step = {0: 0, 1: 3, 2: 5, 3: 5}
    sizes_seen: set[int] = set()
    for step in range(60):
        for key, at in joins_at_step.items():
            if at == step:
                generated[key] = [int(np.argmax(batch.prefill(key, prompts[key])))]
                active.add(key)
        for key in sorted(active):
            if len(generated[key]) == 12:
                batch.remove(key)
                active.discard(key)
        if not active:
            break
        sizes_seen.add(len(active))
        for key, row in batch.step({key: generated[key][-1] for key in active}).items():
            generated[key].append(int(np.argmax(row)))
    assert {1, 2, 3} <= sizes_seen  # the batch really grew and shrank
    assert [generated[k] for k in range(4)] == alone


def greedy_prefilled_together(
    batch: DecodeBatch[int], prompts: dict[int, list[int]], steps: int
) -> dict[int, list[int]]:
    """Like greedy(), but every prompt is prefilled in one left-padded call."""
    logits = batch.prefill_many(list(prompts.items()))
    generated = {key: [int(np.argmax(row))] for key, row in zip(prompts, logits, strict=True)}
    for _ in range(steps - 1):
        rows = batch.step({key: tokens[-1] for key, tokens in generated.items()})
        for key, row in rows.items():
            generated[key].append(int(np.argmax(row)))
    return generated


def test_prompts_prefilled_together_decode_as_if_alone(
    model: OnnxCausalLM, tokenizer: Tokenizer
) -> None:
    prompts = {i: tokenizer.encode(p).ids for i, p in enumerate(PROMPTS)}
    assert len({len(ids) for ids in prompts.values()}) > 1  # the prefill is left-padded
    alone = {key: greedy(DecodeBatch(model), {key: ids}, 24)[key] for key, ids in prompts.items()}
    assert greedy_prefilled_together(DecodeBatch(model), prompts, 24) == alone
    # The padded rows' logits are the solo ones, not merely their argmax.
    together = DecodeBatch[int](model).prefill_many(list(prompts.items()))
    for row, (key, ids) in enumerate(prompts.items()):
        solo = DecodeBatch[int](model).prefill(key, ids)
        np.testing.assert_allclose(together[row], solo, rtol=1e-4, atol=1e-4)


def test_prompts_prefilled_together_reproduce_transformers_generate(
    model: OnnxCausalLM, greedy_fixture: dict[str, Any]
) -> None:
    cases = fixture_cases(greedy_fixture)
    steps = max(len(expected) for _, expected in cases)
    prompts = {i: ids for i, (ids, _) in enumerate(cases)}
    got = greedy_prefilled_together(DecodeBatch(model), prompts, steps)
    for index, (_, expected) in enumerate(cases):
        assert got[index][: len(expected)] == expected


def test_a_batched_prefill_joins_a_batch_that_is_already_decoding(
    model: OnnxCausalLM, tokenizer: Tokenizer
) -> None:
    prompts = [tokenizer.encode(p).ids for p in PROMPTS]
    alone = [greedy(DecodeBatch(model), {0: ids}, 10)[0] for ids in prompts]
    batch: DecodeBatch[int] = DecodeBatch(model)
    generated = {0: [int(np.argmax(batch.prefill(0, prompts[0])))]}
    for step in range(12):
        if step == 3:
            logits = batch.prefill_many([(1, prompts[1]), (2, prompts[2]), (3, prompts[3])])
            for key, row in zip((1, 2, 3), logits, strict=True):
                generated[key] = [int(np.argmax(row))]
        active = {key: tokens[-1] for key, tokens in generated.items() if len(tokens) < 10}
        for key in set(generated) - set(active):
            batch.remove(key)
        if not active:
            break
        for key, row in batch.step(active).items():
            generated[key].append(int(np.argmax(row)))
    assert [generated[k] for k in range(4)] == alone


def test_refeeding_without_a_cache_gives_the_same_tokens(
    model: OnnxCausalLM, tokenizer: Tokenizer
) -> None:
    prompts = {i: tokenizer.encode(p).ids for i, p in enumerate(PROMPTS[:3])}
    cached = greedy(DecodeBatch(model, use_cache=True), prompts, 10)
    assert greedy(DecodeBatch(model, use_cache=False), prompts, 10) == cached


def fixture_cases(data: dict[str, Any]) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, greedy continuation of transformers generate()) per fixture prompt."""
    return [(list(c["prompt_ids"]), list(c["output_ids"])) for c in data["cases"]]
