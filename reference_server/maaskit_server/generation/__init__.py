"""Text generation for decoder-only ONNX language models.

The engine is a library of small parts (sampling, stop matching, incremental detokenization,
chat templates, a scheduler, an onnxruntime model wrapper) joined by :class:`GenerationEngine`,
which runs continuous batching on a dedicated thread and streams events to asyncio consumers.
Protocol code (the OpenAI routes) lives in ``maaskit_server.protocols``.
"""

from __future__ import annotations

from maaskit_server.generation.errors import (
    ContextLengthError,
    GenerationError,
    InvalidParameterError,
    QueueFullError,
)
from maaskit_server.generation.params import SamplingParams

__all__ = [
    "ContextLengthError",
    "GenerationError",
    "InvalidParameterError",
    "QueueFullError",
    "SamplingParams",
]
