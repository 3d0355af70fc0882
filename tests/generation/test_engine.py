"""The continuous-batching engine on the real model: threads, queues, cancellation, limits."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from maaskit_server.generation.engine import GenerationEngine
from maaskit_server.generation.errors import ContextLengthError, QueueFullError
from maaskit_server.generation.events import ErrorEvent, TokenEvent
from maaskit_server.generation.onnx_model import OnnxCausalLM
from maaskit_server.generation.params import SamplingParams

PROMPTS = [
    "To be, or not to be",
    "ROMEO:\nBut soft",
    "Now is the winter",
    "KING",
    "What light through yonder window breaks? It is the east",
    "O",
    "Friends, Romans, countrymen",
    "All the world's a stage",
]
GREEDY = SamplingParams(max_tokens=24, temperature=0.0)


@dataclasses.dataclass
class Result:
    texts: dict[int, str]
    tokens: dict[int, list[int]]
    reasons: dict[int, str]
    counts: dict[int, int]


@pytest.fixture(scope="module")
def engine(lm_dir: Path) -> Iterator[GenerationEngine]:
    engine = GenerationEngine.from_folder(lm_dir, "tiny-shakespeare")
    engine.start()
    yield engine
    engine.close()


async def run(engine: GenerationEngine, prompt: str, params: SamplingParams) -> Result:
    handle = engine.submit(engine.encode(prompt), params)
    result = Result({}, {}, {}, {})
    async for event in handle.events(timeout=30):
        assert not isinstance(event, ErrorEvent), event.message
        result.texts[event.index] = result.texts.get(event.index, "") + event.text
        if isinstance(event, TokenEvent):
            result.tokens.setdefault(event.index, []).append(event.token.token_id)
        else:
            result.reasons[event.index] = event.reason
            result.counts[event.index] = event.completion_tokens
    return result


async def wait_until(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_concurrent_greedy_streams_match_their_solo_runs(engine: GenerationEngine) -> None:
    alone = [await run(engine, prompt, GREEDY) for prompt in PROMPTS]
    steps_before, sequences_before = _histogram(engine)
    together = await asyncio.gather(*(run(engine, prompt, GREEDY) for prompt in PROMPTS))
    steps_after, sequences_after = _histogram(engine)
    assert [r.tokens for r in together] == [r.tokens for r in alone]
    assert [r.texts for r in together] == [r.texts for r in alone]
    # Each sequence's first token comes from its prefill, the other 23 from decode steps: the
    # 8 x 23 sequence-steps ran in fewer onnxruntime calls, so steps held several sequences.
    assert sequences_after - sequences_before == len(PROMPTS) * (24 - 1)
    assert steps_after - steps_before < sequences_after - sequences_before


async def test_max_tokens_ends_with_length(engine: GenerationEngine) -> None:
    result = await run(engine, "To be", SamplingParams(max_tokens=5, temperature=0.0))
    assert result.reasons == {0: "length"}
    assert result.counts == {0: 5}
    assert len(result.tokens[0]) == 5
    assert result.texts[0] == engine.decode(result.tokens[0])


async def test_a_stop_string_ends_the_text_before_it(engine: GenerationEngine) -> None:
    full = (await run(engine, PROMPTS[0], GREEDY)).texts[0]
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    assert len(stop) == 3
    stopped = await run(engine, PROMPTS[0], dataclasses.replace(GREEDY, stop=(stop,)))
    assert stopped.reasons == {0: "stop"}
    assert stopped.texts[0] == full[: full.index(stop)]
    assert stop not in stopped.texts[0]


async def test_min_tokens_holds_back_stop_strings_until_it_is_reached(
    engine: GenerationEngine,
) -> None:
    # vLLM's rule: the text of the first min_tokens tokens is never searched for stop strings.
    full = await run(engine, PROMPTS[0], GREEDY)
    pieces = [engine.decode([token]) for token in full.tokens[0]]
    early = next(i for i, piece in enumerate(pieces) if len(piece.strip()) >= 2 and i >= 1)
    stop = pieces[early].strip()[:2]
    first = full.texts[0].index(stop)
    assert first < len("".join(pieces[: early + 1]))  # within the first early+1 tokens
    params = dataclasses.replace(GREEDY, stop=(stop,), min_tokens=early + 1)
    held = await run(engine, PROMPTS[0], params)
    # A later one counts, also one that begins in the last character of the unsearched text.
    later = full.texts[0].find(stop, len("".join(pieces[: early + 1])) - 1)
    if later < 0:  # the stop string never comes again: the sequence runs to its length
        assert held.reasons == {0: "length"}
        assert held.texts[0] == full.texts[0]
    else:
        assert held.reasons == {0: "stop"}
        assert held.texts[0] == full.texts[0][:later]
    assert len(held.texts[0]) > first  # went on past the stop string of its first tokens
    plain = await run(engine, PROMPTS[0], dataclasses.replace(GREEDY, stop=(stop,)))
    assert plain.texts[0] == full.texts[0][:first]


async def test_the_same_seed_gives_the_same_text(engine: GenerationEngine) -> None:
    params = SamplingParams(max_tokens=16, temperature=1.0, top_p=0.95, seed=1234)
    first = await run(engine, "KING", params)
    second = await run(engine, "KING", params)
    other = await run(engine, "KING", dataclasses.replace(params, seed=99))
    assert first.tokens == second.tokens
    assert first.tokens != other.tokens


async def test_n_choices_are_distinct_and_indexed(engine: GenerationEngine) -> None:
    params = SamplingParams(max_tokens=12, temperature=1.0, seed=7, n=3)
    result = await run(engine, "O", params)
    assert sorted(result.tokens) == [0, 1, 2]
    assert len({tuple(t) for t in result.tokens.values()}) == 3
    assert result.reasons == {0: "length", 1: "length", 2: "length"}


async def test_each_of_n_choices_equals_a_single_request_with_its_seed(
    engine: GenerationEngine,
) -> None:
    # The choices share one prefill (forked KV cache); each must still be its own sequence.
    params = SamplingParams(max_tokens=12, temperature=1.0, seed=40, n=3)
    together = await run(engine, "To be, or not", params)
    for index in range(3):
        alone = await run(
            engine, "To be, or not", dataclasses.replace(params, seed=40 + index, n=1)
        )
        assert alone.tokens[0] == together.tokens[index]


async def test_eos_ends_the_choice_without_text(engine: GenerationEngine) -> None:
    first_token = (await run(engine, "KING", GREEDY)).tokens[0][0]
    config = dataclasses.replace(engine.config, eos_token_ids=frozenset({first_token}))
    eos_engine = GenerationEngine(config, engine.model, engine.tokenizer)
    eos_engine.start()
    try:
        result = await run(eos_engine, "KING", GREEDY)
        ignoring = await run(eos_engine, "KING", dataclasses.replace(GREEDY, ignore_eos=True))
    finally:
        eos_engine.close()
    assert result.reasons == {0: "stop"}
    assert result.counts == {0: 1}
    assert result.texts == {0: ""}
    assert ignoring.reasons == {0: "length"}
    assert ignoring.counts == {0: GREEDY.max_tokens}


async def test_cancelling_frees_the_slot_and_the_engine_keeps_serving(
    engine: GenerationEngine,
) -> None:
    long = SamplingParams(max_tokens=200, temperature=0.0, ignore_eos=True)
    handle = engine.submit(engine.encode("O"), long)
    first = await asyncio.wait_for(handle.queue.get(), 10)
    assert isinstance(first, TokenEvent)
    assert engine.running_count == 1
    handle.cancel()
    assert await wait_until(lambda: engine.running_count == 0)
    gauge = engine.metrics.running.labels(model="tiny-shakespeare")
    assert await wait_until(lambda: gauge._value.get() == 0)
    produced = handle.queue.qsize() + 1
    assert produced < 200  # it really stopped early
    assert (await run(engine, "KING", SamplingParams(max_tokens=3))).reasons == {0: "length"}


async def test_a_full_waiting_queue_refuses_new_work(engine: GenerationEngine) -> None:
    config = dataclasses.replace(engine.config, max_running_sequences=1, max_waiting=1)
    narrow = GenerationEngine(config, engine.model, engine.tokenizer)
    # Not started: nothing leaves the queue, so the limits are observed deterministically.
    prompt = narrow.encode("KING")
    narrow.submit(prompt, GREEDY)
    with pytest.raises(QueueFullError):
        narrow.submit(prompt, GREEDY)
    narrow.start()
    try:
        assert await wait_until(lambda: narrow.waiting_count == 0)
        second = await run(narrow, "KING", SamplingParams(max_tokens=2, temperature=0.0))
        assert second.counts == {0: 2}
    finally:
        narrow.close()


class RecordingModel(OnnxCausalLM):
    """The real model, remembering the (batch, tokens) shape of every call."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.shapes: list[tuple[int, int]] = []

    def forward(self, input_ids: Any, *args: Any) -> Any:
        self.shapes.append(tuple(input_ids.shape))
        return super().forward(input_ids, *args)


async def test_requests_that_arrive_together_are_prefilled_in_one_call(
    lm_dir: Path, engine: GenerationEngine
) -> None:
    model = RecordingModel(lm_dir / "model.onnx")
    together = GenerationEngine(engine.config, model, engine.tokenizer)
    # Submitted before the engine thread starts, so all four are admitted at the same step.
    tasks = [asyncio.ensure_future(run(together, prompt, GREEDY)) for prompt in PROMPTS[:4]]
    await asyncio.sleep(0)
    assert together.waiting_count == 4
    together.start()
    try:
        results = await asyncio.gather(*tasks)
    finally:
        together.close()
    alone = [await run(engine, prompt, GREEDY) for prompt in PROMPTS[:4]]
    assert [r.tokens for r in results] == [r.tokens for r in alone]
    longest = max(len(engine.encode(prompt)) for prompt in PROMPTS[:4])
    assert model.shapes[0] == (4, longest)  # one left-padded prefill of all four
    assert all(shape == (4, 1) for shape in model.shapes[1:])


def test_prompts_that_do_not_fit_are_refused(engine: GenerationEngine) -> None:
    limit = engine.config.max_context_tokens
    assert engine.max_new_tokens(10, None) == limit - 10
    with pytest.raises(ContextLengthError, match=f"maximum context length is {limit}"):
        engine.max_new_tokens(limit, None)
    with pytest.raises(
        ContextLengthError, match=rf"\(10 in the prompt, {limit} in the completion\)"
    ):
        engine.max_new_tokens(10, limit)


async def test_refeeding_engine_gives_the_same_tokens(
    lm_dir: Path, engine: GenerationEngine
) -> None:
    refeed = GenerationEngine(engine.config, engine.model, engine.tokenizer, use_cache=False)
    refeed.start()
    try:
        params = SamplingParams(max_tokens=8, temperature=0.0)
        results = await asyncio.gather(*(run(refeed, p, params) for p in PROMPTS[:3]))
    finally:
        refeed.close()
    expected = [await run(engine, p, params) for p in PROMPTS[:3]]
    assert [r.tokens for r in results] == [r.tokens for r in expected]


def _histogram(engine: GenerationEngine) -> tuple[float, float]:
    registry = engine.metrics.registry
    labels = {"model": "tiny-shakespeare"}
    count = registry.get_sample_value("maaskit_generation_decode_batch_size_count", labels)
    total = registry.get_sample_value("maaskit_generation_decode_batch_size_sum", labels)
    return count or 0.0, total or 0.0


async def test_shutting_down_ends_running_and_waiting_requests_with_an_error(
    engine: GenerationEngine,
) -> None:
    config = dataclasses.replace(
        engine.config, max_running_sequences=1, max_waiting=4, step_delay_ms=20
    )
    slow = GenerationEngine(config, engine.model, engine.tokenizer)
    slow.start()
    params = SamplingParams(max_tokens=100, temperature=0.0, ignore_eos=True)
    handles = [slow.submit(slow.encode(p), params) for p in PROMPTS[:3]]
    first = await asyncio.wait_for(handles[0].queue.get(), 10)
    assert isinstance(first, TokenEvent)
    assert slow.waiting_count == 2
    await asyncio.to_thread(slow.close)
    for handle in handles:
        events = [event async for event in handle.events(timeout=5)]
        assert isinstance(events[-1], ErrorEvent)
        assert "shutting down" in events[-1].message


async def test_the_engine_reproduces_the_greedy_fixture(
    engine: GenerationEngine, greedy_fixture: dict[str, Any]
) -> None:
    params = SamplingParams(max_tokens=int(greedy_fixture["max_new_tokens"]), temperature=0.0)

    async def generate(prompt_ids: list[int]) -> list[int]:
        handle = engine.submit(prompt_ids, params)
        events = [event async for event in handle.events(timeout=30)]
        return [event.token.token_id for event in events if isinstance(event, TokenEvent)]

    cases = greedy_fixture["cases"]
    results = await asyncio.gather(*(generate(case["prompt_ids"]) for case in cases))
    assert results == [case["output_ids"] for case in cases]
