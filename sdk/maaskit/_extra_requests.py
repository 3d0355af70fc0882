"""Neutral requests of ``infer()``, ``rerank()`` and ``similarity()``, and the checks on their
answers that do not depend on the provider (shared by ``Client`` and ``AsyncClient``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._call_options import CallOptions, split_call_options
from ._exceptions import (
    InvalidRequestError,
    InvalidRequestTypeError,
    ResponseValidationError,
    UnsupportedTaskError,
)
from ._router import Router
from ._tasks import Task
from ._validation import check_model, check_texts
from .types import (
    InferRequest,
    RerankRequest,
    RerankResponse,
    SimilarityRequest,
    SimilarityResponse,
)
from .types._tensors import coerce_inputs, coerce_outputs

__all__ = [
    "check_extra_body",
    "check_rerank",
    "check_similarity",
    "check_supported",
    "infer_request",
    "per_call_options",
    "rerank_request",
    "similarity_request",
]


def check_supported(router: Router, single: bool, task: Task[Any, Any, Any]) -> None:
    """A one-endpoint client refuses a task its provider lacks before anything is sent (a
    router says which endpoints could not serve it, through ``NoEndpointAvailable``)."""
    if not single:
        return
    (endpoint,) = router.endpoints
    if not endpoint.serves_task(task.name):
        hint = {
            "infer": "raw tensors need the kserve provider (KServe v2 / Triton / MLServer)",
            "rerank": "reranking needs the openai (vLLM) or hf (TEI) provider",
            "similarity": "similarity needs the openai (vLLM) or hf (TEI) provider",
        }.get(task.name, "")
        raise UnsupportedTaskError(
            f"provider {endpoint.protocol.name!r} has no {task.name!r} task"
            + (f"; {hint}" if hint else "")
        )


def per_call_options(**options: Any) -> CallOptions | None:
    """The per-call options given as keywords (``None`` means not given)."""
    return split_call_options({k: v for k, v in options.items() if v is not None})[1]


def _check_mapping(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidRequestTypeError(f"{name} must be a mapping with str keys")
    return dict(value)


def _check_optional_str(name: str, value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidRequestTypeError(f"{name} must be a non-empty str")
    return value


def infer_request(
    *,
    model: Any,
    inputs: Any,
    outputs: Any,
    parameters: Any,
    binary_data: Any,
    binary_inputs: Any,
    model_version: Any,
    request_id: Any,
) -> InferRequest:
    for name, flag in (("binary_data", binary_data), ("binary_inputs", binary_inputs)):
        if not isinstance(flag, bool):
            raise InvalidRequestTypeError(f"{name} must be True or False, got {flag!r}")
    return InferRequest(
        model=check_model(model),
        inputs=coerce_inputs(inputs),
        outputs=coerce_outputs(outputs),
        parameters=_check_mapping("parameters", parameters),
        binary_data=binary_data,
        binary_inputs=binary_inputs,
        model_version=_check_optional_str("model_version", model_version),
        id=_check_optional_str("request_id", request_id),
    )


def _check_query(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidRequestTypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise InvalidRequestError(f"{name} must not be empty")
    return value


def rerank_request(
    *,
    model: Any,
    query: Any,
    documents: Any,
    top_n: Any,
    return_documents: Any,
    params: Mapping[str, Any],
) -> RerankRequest:
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        raise InvalidRequestError(f"top_n must be a positive int, got {top_n!r}")
    if not isinstance(return_documents, bool):
        raise InvalidRequestTypeError(
            f"return_documents must be True or False, got {return_documents!r}"
        )
    return RerankRequest(
        model=check_model(model),
        query=_check_query("query", query),
        documents=check_texts("documents", documents),
        top_n=top_n,
        return_documents=return_documents,
        params=dict(params),
    )


def similarity_request(
    *, model: Any, source: Any, sentences: Any, params: Mapping[str, Any]
) -> SimilarityRequest:
    return SimilarityRequest(
        model=check_model(model),
        source=_check_query("source", source),
        sentences=check_texts("sentences", sentences),
        params=dict(params),
    )


def check_rerank(result: RerankResponse, request: RerankRequest) -> RerankResponse:
    """Indices must name documents that were sent; ``top_n`` holds whatever the server did
    (TEI has no ``top_n``). ``document`` is the caller's own text (``request`` is the request
    before masking): a server that echoes no text, or echoes the masked one, gives it back the
    same way."""
    count = len(request.documents)
    for item in result.results:
        if item.index >= count:
            raise ResponseValidationError(
                f"rerank result index {item.index} is out of range for {count} documents",
                body=str(result.raw)[:2000],
            )
        if request.return_documents or item.document is not None:
            item.document = request.documents[item.index]
    if request.top_n is not None:
        result.results = result.results[: request.top_n]
    return result


def check_similarity(result: SimilarityResponse, request: SimilarityRequest) -> SimilarityResponse:
    if len(result.scores) != len(request.sentences):
        raise ResponseValidationError(
            f"{len(result.scores)} similarity scores for {len(request.sentences)} sentences",
            body=str(result.raw)[:2000],
        )
    return result


def check_extra_body(extra_body: Any) -> dict[str, Any]:
    return _check_mapping("extra_body", extra_body)
