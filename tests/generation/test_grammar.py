"""Constrained decoding in the engine: a grammar per row, free rows untouched, valid outputs."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from maaskit_server.generation.engine import GenerationEngine
from maaskit_server.generation.errors import InvalidParameterError
from maaskit_server.generation.events import ErrorEvent, FinishEvent, TokenEvent
from maaskit_server.generation.grammar import Grammar
from maaskit_server.generation.metrics import GenerationMetrics
from maaskit_server.generation.params import SamplingParams
from maaskit_server.generation.tools import split_call

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "height": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}},
        "alive": {"type": "boolean"},
    },
    "required": ["name", "age", "tags", "alive"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
    "required": ["city", "unit"],
}
ADD = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}
PHONE = r"\+?[0-9]{2}-[0-9]{3}-[0-9]{4}"
PROMPTS = ["To be, or not to be", "ROMEO:\nBut soft", "Now is the winter", "KING"]


async def generate(engine: GenerationEngine, prompt: str, params: SamplingParams) -> str:
    text, finished = await start(engine, prompt, params)
    return text + finished


def start(
    engine: GenerationEngine, prompt: str, params: SamplingParams
) -> asyncio.Future[tuple[str, str]]:
    """Submit now (so several submissions land in one admission), read the events later."""
    handle = engine.submit(engine.encode(prompt), params)

    async def read() -> tuple[str, str]:
        text = ""
        async for event in handle.events(timeout=60):
            assert not isinstance(event, ErrorEvent), event.message
            if isinstance(event, TokenEvent):
                text += event.text
            elif isinstance(event, FinishEvent):
                # A constrained row ends with its grammar, well inside its token budget.
                assert params.grammar is None or event.reason == "stop", (event.reason, text)
                return text, event.text
        raise AssertionError("no finish event")

    return asyncio.ensure_future(read())


def constrained(grammar: Grammar, seed: int) -> SamplingParams:
    return SamplingParams(max_tokens=200, temperature=1.0, seed=seed, grammar=grammar)


def check_person(text: str) -> None:
    jsonschema.validate(json.loads(text), PERSON)


def check_phone(text: str) -> None:
    assert re.fullmatch(PHONE, text), text


def check_choice(text: str) -> None:
    assert text in {"yes", "no", "maybe"}, text


def check_call(text: str) -> None:
    call = split_call(text)
    schemas = {"get_weather": WEATHER, "add": ADD}
    assert call.name in schemas, text
    jsonschema.validate(json.loads(call.arguments), schemas[call.name])


async def test_constrained_and_free_rows_share_one_batch(lm_dir: Path) -> None:
    metrics = GenerationMetrics()
    engine = GenerationEngine.from_folder(lm_dir, "tiny-shakespeare")
    assert engine.config.max_running_sequences >= 8
    greedy = SamplingParams(max_tokens=24, temperature=0.0)
    grammars = [
        (Grammar.json_schema(PERSON, param="p"), check_person),
        (Grammar.regex(PHONE, param="r"), check_phone),
        (Grammar.choice(["yes", "no", "maybe"], param="c"), check_choice),
        (Grammar.tool_call([("get_weather", WEATHER), ("add", ADD)]), check_call),
    ]
    try:
        engine.start()
        alone = [await generate(engine, prompt, greedy) for prompt in PROMPTS]
        engine.close()
        # Submitted while the engine thread is stopped: all eight rows are admitted together.
        engine = GenerationEngine.from_folder(lm_dir, "tiny-shakespeare", metrics=metrics)
        free = [start(engine, prompt, greedy) for prompt in PROMPTS]
        bound = [start(engine, "CORIOLANUS:", constrained(g, 7)) for g, _ in grammars]
        engine.start()
        free_texts = [text + tail for text, tail in await asyncio.gather(*free)]
        bound_texts = [text + tail for text, tail in await asyncio.gather(*bound)]
    finally:
        engine.close()
    # The free rows' masks were "everything": they generate exactly what they do alone.
    assert free_texts == alone
    for (_, check), text in zip(grammars, bound_texts, strict=True):
        check(text)
    buckets = {
        sample.labels["le"]: sample.value
        for sample in next(iter(metrics.batch_size.collect())).samples
        if sample.name.endswith("_bucket")
    }
    # Some decode step ran seven or eight rows, free and constrained, in one onnxruntime call
    # (a choice of one token may already have ended at the prefill).
    assert buckets["8.0"] > buckets["6.0"]


@pytest.fixture(scope="module")
def engine(lm_dir: Path) -> Any:
    engine = GenerationEngine.from_folder(lm_dir, "tiny-shakespeare")
    engine.start()
    yield engine
    engine.close()


@pytest.mark.parametrize("seed", range(12))
async def test_json_schema_outputs_validate_for_many_seeds(
    engine: GenerationEngine, seed: int
) -> None:
    grammar = Grammar.json_schema(PERSON, param="p")
    first = await generate(engine, PROMPTS[seed % 4], constrained(grammar, seed))
    check_person(first)
    # Reproducible under the seed, like unconstrained sampling.
    assert await generate(engine, PROMPTS[seed % 4], constrained(grammar, seed)) == first


async def test_json_object_and_tool_calls_end_inside_the_budget(engine: GenerationEngine) -> None:
    tools = Grammar.tool_call([("get_weather", WEATHER), ("add", ADD)])
    for seed in range(8):
        obj = json.loads(await generate(engine, "KING", constrained(Grammar.json_object(), seed)))
        assert isinstance(obj, dict)
        check_call(await generate(engine, "KING", constrained(tools, seed)))


def test_bad_grammars_are_invalid_parameters(engine: GenerationEngine) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        engine.grammars.check(Grammar.regex("(unclosed", param="guided_regex"), "guided_regex")
    assert caught.value.param == "guided_regex"
    with pytest.raises(InvalidParameterError):
        Grammar.json_schema([1, 2], param="response_format")
    with pytest.raises(InvalidParameterError):
        Grammar.choice([], param="guided_choice")
    with pytest.raises(InvalidParameterError):
        engine.grammars.check(Grammar.lark("start: nothing_defined", param="g"), "g")


def test_default_bounds_keep_outputs_valid_for_the_original_schema() -> None:
    from maaskit_server.generation.grammar import _bound_lengths

    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "s": {"type": "string", "minLength": 40},
            "fixed": {"type": "string", "maxLength": 3},
            "n": {"type": "number", "minimum": 5},
            "i": {"type": "integer", "maximum": -3},
            "xs": {"type": "array", "items": {"type": "integer"}, "minItems": 6},
            "free": {"type": "object"},
        },
    }
    bounded: dict[str, Any] = _bound_lengths(schema)
    props = bounded["properties"]
    assert props["s"]["maxLength"] == 40  # never below the schema's own minimum
    assert props["fixed"]["maxLength"] == 3  # the schema's own bound wins
    assert props["n"]["minimum"] == 5
    assert props["n"]["maximum"] >= 5
    assert props["i"]["maximum"] == -3
    assert props["i"]["minimum"] <= -3
    assert props["xs"]["maxItems"] == 6
    assert props["free"]["additionalProperties"] is False
    assert bounded["additionalProperties"] is False
    assert schema["properties"]["s"] == {"type": "string", "minLength": 40}  # not modified
