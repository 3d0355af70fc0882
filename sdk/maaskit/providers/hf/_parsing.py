"""Hugging Face answer shapes (Inference API, TGI, TEI) → neutral types. Pure functions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...types import (
    ClassificationResponse,
    ClassificationResult,
    Completion,
    CompletionChunk,
    EmbeddingResponse,
    ModelInfo,
    ModelList,
    Usage,
)

__all__ = [
    "classification",
    "completion",
    "completion_chunk",
    "embeddings",
    "error_text",
    "estimated_time",
    "info_models",
    "pool",
]

# TGI's finish reasons and the neutral (OpenAI) names.
_FINISH_REASONS = {"length": "length", "eos_token": "stop", "stop_sequence": "stop"}


def _labels(items: Any, index: int) -> ClassificationResult:
    if not isinstance(items, list) or not items:
        raise ValueError(f"input {index} has no list of {{label, score}}")
    scores: dict[str, float] = {}
    for item in items:
        if not isinstance(item, Mapping):
            raise TypeError(f"input {index}: a prediction must be an object, got {item!r}")
        scores[str(item["label"])] = float(item["score"])
    label = max(scores, key=scores.__getitem__)
    # HF answers are sorted by score, not by class index, so ``probs`` stays empty.
    return ClassificationResult(index=index, label=label, score=scores[label], scores=scores)


def classification(payload: Any) -> ClassificationResponse:
    """``[[{label, score}, …], …]`` (one list per input), or a flat ``[{label, score}, …]``:
    the labels of a single input (what TEI and a single-input call answer)."""
    if not isinstance(payload, list) or not payload:
        raise ValueError("expected a non-empty list of predictions")
    per_input = payload if all(isinstance(p, list) for p in payload) else [payload]
    return ClassificationResponse(
        results=[_labels(items, i) for i, items in enumerate(per_input)], raw=payload
    )


def _is_vector(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
    )


def pool(value: Any) -> list[float]:
    """One input's features as one vector: a vector as is; a token matrix ``[[float]]``
    (models without a pooling layer) mean-pooled over tokens; leading size-1 axes (the
    ``[1, tokens, d]`` of a transformers pipeline) squeezed first."""
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        if _is_vector(value[0]):
            return [float(x) for x in value[0]]
        value = value[0]
    if _is_vector(value):
        return [float(x) for x in value]
    if isinstance(value, list) and value and all(_is_vector(row) for row in value):
        width = len(value[0])
        if any(len(row) != width for row in value):
            raise ValueError("token vectors of different lengths")
        return [sum(float(row[d]) for row in value) / len(value) for d in range(width)]
    raise ValueError("features must be a vector or a matrix of token vectors per input")


def embeddings(payload: Any) -> EmbeddingResponse:
    """``[[float], …]`` one vector per input (sentence-transformers, TEI ``/embed``) or
    ``[[[float]]]`` token vectors per input, mean-pooled; a bare ``[float]`` is one input."""
    if _is_vector(payload):
        return EmbeddingResponse(vectors=[[float(x) for x in payload]], raw=payload)
    if not isinstance(payload, list) or not payload:
        raise ValueError("expected a non-empty list of feature arrays")
    return EmbeddingResponse(vectors=[pool(item) for item in payload], raw=payload)


def _finish(details: Any) -> str | None:
    if not isinstance(details, Mapping) or details.get("finish_reason") is None:
        return None
    reason = str(details["finish_reason"])
    return _FINISH_REASONS.get(reason, reason)


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def _usage(details: Any, headers: Mapping[str, str]) -> Usage | None:
    generated = details.get("generated_tokens") if isinstance(details, Mapping) else None
    prefill = details.get("prefill") if isinstance(details, Mapping) else None
    # TGI sends the counts as headers too; the prompt count only there (or in ``prefill``
    # when ``decoder_input_details`` was asked for).
    prompt = _header_int(headers, "x-prompt-tokens")
    if prompt is None and isinstance(prefill, list) and prefill:
        prompt = len(prefill)
    if generated is None:
        generated = _header_int(headers, "x-generated-tokens")
    if prompt is None and generated is None:
        return None
    p, c = prompt or 0, int(generated or 0)
    return Usage(prompt_tokens=p, completion_tokens=c, total_tokens=p + c)


def completion(payload: Any, headers: Mapping[str, str]) -> Completion:
    """TGI ``/generate`` answers an object, the Inference API (and TGI's ``/``) a list."""
    items: Sequence[Any] = payload if isinstance(payload, list) else [payload]
    if not items:
        raise ValueError("expected at least one generation")
    texts: list[str] = []
    for item in items:
        text = item["generated_text"]
        if not isinstance(text, str):
            raise TypeError("generated_text must be a string")
        texts.append(text)
    first = items[0].get("details")
    return Completion(
        texts=texts,
        finish_reasons=[_finish(item.get("details")) for item in items],
        usage=_usage(first, headers),
        raw=payload,
    )


def completion_chunk(payload: Any) -> CompletionChunk:
    """A TGI stream event: ``{"token": {"id", "text", "special"}, "generated_text",
    "details"}``. Special tokens (``</s>``…) add no text, so the chunks join to exactly
    ``generated_text``; the last event carries ``details`` with the finish reason."""
    token = payload["token"]
    if not isinstance(token, Mapping):
        raise TypeError("token must be an object")
    text = token.get("text") or ""
    if not isinstance(text, str):
        raise TypeError("token.text must be a string")
    details = payload.get("details")
    return CompletionChunk(
        text="" if token.get("special") else text,
        finish_reason=_finish(details),
        usage=_usage(details, {}) if isinstance(details, Mapping) else None,
        raw=payload,
    )


def info_models(payload: Any) -> ModelList:
    """TGI's and TEI's ``GET /info``: the one model the endpoint serves."""
    model_id = payload["model_id"]
    if not isinstance(model_id, str):
        raise TypeError("model_id must be a string")
    return ModelList(data=[ModelInfo(id=model_id, raw=payload)], raw=payload)


def error_text(payload: Any) -> str | None:
    """``{"error": "…", "error_type": "…"}`` (TGI), ``{"error": "…"}`` or ``{"error": ["…"]}``
    (the Inference API's validation errors), or OpenAI's shape from TGI's ``/v1``."""
    if not isinstance(payload, Mapping):
        return None
    error = payload.get("error")
    if isinstance(error, list) and error:
        return "; ".join(e if isinstance(e, str) else json.dumps(e) for e in error)
    if isinstance(error, str):
        return error
    if isinstance(error, Mapping) and isinstance(error.get("message"), str):
        return str(error["message"])
    for key in ("message", "detail"):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    return None


def estimated_time(payload: Any) -> float | None:
    """The Inference API's ``estimated_time`` (seconds until a loading model is ready)."""
    if not isinstance(payload, Mapping):
        return None
    value = payload.get("estimated_time")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return float(value)
