"""The server core's runtime for ``text-generation`` model folders: one engine per model."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from tokenizers import Tokenizer

from maaskit_server.generation.engine import GenerationEngine
from maaskit_server.generation.metrics import server_metrics
from maaskit_server.generation.model_config import GenerationModelConfig
from maaskit_server.generation.onnx_model import OnnxCausalLM
from maaskit_server.generation.params import SamplingParams
from maaskit_server.generation.token_text import TokenText
from maaskit_server.inputs import InputTooLongError
from maaskit_server.model_spec import ModelSpec
from maaskit_server.runtimes import RuntimeContext
from maaskit_server.tokenization import chars_per_token_bound

_WARMUP_TIMEOUT_SECONDS = 60.0


class GenerationRuntime:
    """Created in a worker thread by the model repository; starts the engine thread."""

    task: ClassVar[str] = "text-generation"

    def __init__(self, spec: ModelSpec, context: RuntimeContext) -> None:
        self.spec = spec
        config = GenerationModelConfig.from_folder(spec.path, spec.name)
        tokenizer = Tokenizer.from_file(str(spec.tokenizer_path))
        # One intra-op thread decodes as fast as two for small models and leaves a core free.
        model = OnnxCausalLM(spec.onnx_path, intra_op_threads=context.intra_op_threads or 1)
        self.engine = GenerationEngine(config, model, tokenizer, metrics=server_metrics())
        self.token_text = TokenText(tokenizer)
        # No prompt longer than this can fit the context: refused before it is tokenized.
        self.max_prompt_chars = config.max_context_tokens * chars_per_token_bound(tokenizer)
        self._executor = context.executor
        _ = self.engine.grammars  # built here, in the loading thread, not on a first request
        self.engine.start()

    async def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, tokenized in the thread pool: a prompt can be megabytes.

        A prompt longer than any context-filling text is a 400 before tokenization.
        """
        if len(text) > self.max_prompt_chars:
            raise InputTooLongError(
                f"The prompt has {len(text)} characters, more than this model's context of "
                f"{self.max_context_tokens} tokens could hold; shorten it.",
                param=None,
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.engine.encode, text)

    @property
    def max_context_tokens(self) -> int:
        return self.engine.config.max_context_tokens

    async def warmup(self) -> None:
        prompt = self.engine.encode("Hello") or [0]
        params = SamplingParams(max_tokens=1, temperature=0.0)
        handle = self.engine.submit(prompt, params, observed=False)
        async for _ in handle.events(timeout=_WARMUP_TIMEOUT_SECONDS):
            pass

    async def close(self) -> None:
        await asyncio.to_thread(self.engine.close)

    def describe(self) -> dict[str, Any]:
        config = self.engine.config
        return {
            "max_model_len": config.max_context_tokens,
            "max_running_sequences": config.max_running_sequences,
            "max_waiting": config.max_waiting,
            "kv_cache": self.engine.model.kv is not None,
            "chat_template": "default" if self.engine.chat_template.is_default else "model",
        }
