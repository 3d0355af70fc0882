"""An onnxruntime failure in the middle of a stream: the client gets an SSE error event, then
``[DONE]``, and the engine keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from maaskit_server.generation.engine import GenerationEngine
from maaskit_server.generation.events import ErrorEvent, FinishEvent
from maaskit_server.generation.model_config import GenerationModelConfig
from maaskit_server.generation.onnx_model import OnnxCausalLM
from maaskit_server.generation.params import SamplingParams
from maaskit_server.generation.token_text import TokenText
from maaskit_server.protocols.generation_run import GenerationRun
from maaskit_server.protocols.openai import completions
from tokenizers import Tokenizer


class FlakyModel(OnnxCausalLM):
    """The real model, except that forward call number ``fail_at`` raises (once)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls = 0
        self.fail_at: int | None = None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            self.fail_at = None
            raise RuntimeError("simulated onnxruntime failure")
        return super().forward(*args, **kwargs)


@pytest.fixture(scope="module")
def flaky(lm_dir: Path) -> Iterator[tuple[GenerationEngine, FlakyModel]]:
    model = FlakyModel(lm_dir / "model.onnx")
    tokenizer = Tokenizer.from_file(str(lm_dir / "tokenizer.json"))
    engine = GenerationEngine(GenerationModelConfig.from_folder(lm_dir), model, tokenizer)
    engine.start()
    yield engine, model
    engine.close()


async def test_a_failed_step_fails_its_requests_and_the_engine_recovers(
    flaky: tuple[GenerationEngine, FlakyModel],
) -> None:
    engine, model = flaky
    model.fail_at = model.calls + 3  # prefill, one decode step, then the failure
    handle = engine.submit(engine.encode("KING"), SamplingParams(max_tokens=20, temperature=0))
    events = [event async for event in handle.events(timeout=30)]
    assert isinstance(events[-1], ErrorEvent)
    assert "simulated onnxruntime failure" in events[-1].message
    assert engine.running_count == 0
    again = engine.submit(engine.encode("KING"), SamplingParams(max_tokens=4, temperature=0))
    finished = [e async for e in again.events(timeout=30) if isinstance(e, FinishEvent)]
    assert [e.reason for e in finished] == ["length"]


async def test_an_error_after_the_stream_began_is_an_sse_error_then_done(
    flaky: tuple[GenerationEngine, FlakyModel],
) -> None:
    engine, model = flaky
    runtime: Any = SimpleNamespace(engine=engine, token_text=TokenText(engine.tokenizer))
    params = SamplingParams(max_tokens=20, temperature=0)
    model.fail_at = model.calls + 4
    run = GenerationRun(runtime, [engine.encode("KING")], params)
    body = [
        chunk
        async for chunk in completions._stream(run, runtime, "tiny-shakespeare", False, True, [""])
    ]
    # A stream that fell behind writes several events in one body chunk.
    events = [
        event.removeprefix("data: ") for event in b"".join(body).decode().split("\n\n") if event
    ]
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "simulated onnxruntime failure" in error["message"]
    tokens = [json.loads(e) for e in events[:-2]]
    assert tokens  # text had been streamed before the failure
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in tokens)
    assert all(chunk["object"] == "text_completion" for chunk in tokens)
