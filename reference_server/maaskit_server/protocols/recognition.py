"""Token classification (entities) shared by the HF task route and ``/v1/token-classification``.

The Inference API ``token-classification`` task on ``POST /models/{name}``, as
``huggingface_hub.InferenceClient.token_classification`` calls it.

Body: ``{"inputs": str | [str], "parameters": {"aggregation_strategy", "ignore_labels",
"stride"}}``. Answer for one text: a list of entities, for a list of texts: one list per text.
With an aggregation strategy other than ``none`` (the default here is ``simple``, as the
Inference API serves NER models) each entity is ``{"entity_group", "score", "word", "start",
"end"}``; with ``none`` each token is ``{"entity", "score", "index", "word", "start", "end"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from ..errors import APIError
from ..runtimes.token_classification import STRATEGIES, TokenClassificationRuntime
from ..state import get_state

ErrorFactory = Callable[[str], APIError]
DEFAULT_STRATEGY = "simple"


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


# What parse_parameters checks, for the OpenAPI document (next to the checks, so the two cannot
# drift); a strategy is read in any case.
PARAMETERS: dict[str, Any] = {
    "aggregation_strategy": {
        "type": "string",
        "pattern": f"^({'|'.join(map(_any_case, STRATEGIES))})$",
    },
    "ignore_labels": {"type": "array", "items": {"type": "string"}},
    "stride": {"type": "integer", "minimum": 0},
}


def parse_parameters(parameters: dict[str, Any], error: ErrorFactory) -> dict[str, Any]:
    """``aggregation_strategy``, ``ignore_labels`` and ``stride`` checked, as runtime kwargs."""
    strategy = parameters.get("aggregation_strategy")
    strategy = DEFAULT_STRATEGY if strategy is None else strategy
    if not isinstance(strategy, str) or strategy.lower() not in STRATEGIES:
        raise error(f"`aggregation_strategy` must be one of {', '.join(STRATEGIES)}.")
    ignore = parameters.get("ignore_labels")
    if ignore is None:
        ignore = ["O"]
    if not isinstance(ignore, list) or not all(isinstance(label, str) for label in ignore):
        raise error("`ignore_labels` must be a list of label names.")
    stride = parameters.get("stride")
    if isinstance(stride, float) and stride.is_integer() and abs(stride) <= 2**53:
        stride = int(stride)  # the document says integer, and JSON Schema takes 2.0 as one
    if stride is not None and (
        isinstance(stride, bool) or not isinstance(stride, int) or stride < 0
    ):
        raise error("`stride` must be a non-negative integer.")
    kwargs: dict[str, Any] = {"strategy": strategy.lower(), "ignore_labels": tuple(ignore)}
    if stride is not None:
        kwargs["stride"] = stride
    return kwargs


async def recognise(
    request: Request, model: str, texts: list[str], kwargs: dict[str, Any]
) -> tuple[list[list[dict[str, Any]]], int]:
    """Each text's entities, and the prompt tokens the model read."""
    runtime = get_state(request).repository.runtime(model, TokenClassificationRuntime)
    result = await runtime.recognise(texts, **kwargs)
    return result.entities, result.prompt_tokens
