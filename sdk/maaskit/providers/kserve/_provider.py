"""The ``kserve`` provider: request building and answer parsing over the tensors module."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast
from urllib.parse import quote

from ..._http import HttpRequest, HttpResponse
from ..._tasks import CLASSIFY, COMPLETE, EMBED, INFER, MODELS, Task
from ...types import (
    ClassificationRequest,
    ClassificationResponse,
    ClassificationResult,
    Completion,
    CompletionChunk,
    CompletionRequest,
    EmbeddingRequest,
    EmbeddingResponse,
    InferOutput,
    InferRequest,
    InferResponse,
    ModelInfo,
    ModelList,
    Result,
)
from .._base import Provider, StreamDecoder
from .._parsing import (
    error_message_from_body,
    load_json,
    parse_with,
)
from ..openai import SSEJsonDecoder
from ._tensors import Tensor, encode_binary, parse_outputs

__all__ = ["KServeProvider"]

ChunkT = TypeVar("ChunkT", bound=Result)
ResultT = TypeVar("ResultT", bound=Result)


def _check_name(option: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{option} must be a non-empty str")
    return value


class KServeProvider(Provider):
    """Open Inference Protocol v2 (see the package docstring for the tensor convention)."""

    name = "kserve"

    def __init__(
        self,
        *,
        input_name: str = "text",
        probabilities_output: str = "probabilities",
        label_output: str = "label",
        labels_output: str = "labels",
        embedding_output: str = "embedding",
        labels: Sequence[str] | None = None,
        model_version: str | None = None,
        binary_output: bool = False,
    ) -> None:
        self.input_name = _check_name("input_name", input_name)
        self.probabilities_output = _check_name("probabilities_output", probabilities_output)
        self.label_output = _check_name("label_output", label_output)
        self.labels_output = _check_name("labels_output", labels_output)
        self.embedding_output = _check_name("embedding_output", embedding_output)
        if labels is not None:
            if isinstance(labels, str) or not all(isinstance(x, str) for x in labels):
                raise TypeError("labels must be a list of str")
            labels = list(labels)
        self.labels = labels
        if model_version is not None:
            _check_name("model_version", model_version)
        self.model_version = model_version
        if not isinstance(binary_output, bool):
            raise TypeError("binary_output must be True or False")
        self.binary_output = binary_output

    def supports(self, task: Task[Any, Any, Any]) -> bool:
        return task in (CLASSIFY, EMBED, COMPLETE, MODELS, INFER)

    # -- requests ----------------------------------------------------------------------------

    def _model_path(self, model: str, version: Any, action: str) -> str:
        path = f"v2/models/{quote(model, safe='')}"
        version = self.model_version if version is None else version
        if version is not None:
            path += f"/versions/{quote(_check_name('model_version', version), safe='')}"
        return f"{path}/{action}" if action else path

    def build_request(self, task: Task[Any, Any, Any], request: Any) -> HttpRequest:
        if isinstance(request, (ClassificationRequest, EmbeddingRequest)):
            return self._infer(request.model, request.input, request.params)
        if isinstance(request, CompletionRequest):
            return self._generate(request)
        if isinstance(request, InferRequest):
            return self._infer_tensors(request)
        if task is MODELS:
            # The v2 protocol has no model list; Triton's repository extension has one.
            return HttpRequest(method="POST", path="v2/repository/index", json={})
        raise NotImplementedError(
            f"the kserve provider has no {task.name!r} task (the v2 protocol has no chat; "
            "use classify, embed, complete or models)"
        )

    def _infer(self, model: str, texts: list[str], params: Mapping[str, Any]) -> HttpRequest:
        extra = dict(params)
        version = extra.pop("model_version", None)
        # [n, 1], not [n]: a Triton model with dynamic batching (max_batch_size > 0, dims [1])
        # rejects [n] with 400; the reference server, KServe and MLServer take either.
        tensor = {"name": self.input_name, "shape": [len(texts), 1], "datatype": "BYTES"}
        body: dict[str, Any] = {"inputs": [{**tensor, "data": list(texts)}]}
        if self.binary_output:
            extra["binary_data_output"] = True
        if extra:
            body["parameters"] = extra
        return HttpRequest(method="POST", path=self._model_path(model, version, "infer"), json=body)

    def _infer_tensors(self, request: InferRequest) -> HttpRequest:
        """``infer()``: the caller's tensors as JSON, the outputs it names (binary where asked
        for, or where the provider's ``binary_output`` or the call's ``binary_data`` says)."""
        binary = request.binary_data or self.binary_output
        raw: list[bytes] = []
        if request.binary_inputs:
            inputs = []
            for tensor in request.inputs:
                data = encode_binary(tensor.datatype, tensor.data)
                raw.append(data)
                description = tensor.to_json()
                del description["data"]
                description["parameters"] = {**tensor.parameters, "binary_data_size": len(data)}
                inputs.append(description)
        else:
            inputs = [tensor.to_json() for tensor in request.inputs]
        body: dict[str, Any] = {"inputs": inputs}
        if request.id is not None:
            body["id"] = request.id
        if request.outputs:
            body["outputs"] = [output.to_json(binary) for output in request.outputs]
        parameters = dict(request.parameters)
        if binary and not request.outputs:
            parameters["binary_data_output"] = True
        if parameters:
            body["parameters"] = parameters
        path = self._model_path(request.model, request.model_version, "infer")
        if not request.binary_inputs:
            return HttpRequest(method="POST", path=path, json=body)
        # Triton's binary tensor extension: the JSON header, then each input's bytes in order.
        header_text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        header = header_text.encode()
        return HttpRequest(
            method="POST",
            path=path,
            content=header + b"".join(raw),
            headers={
                "Content-Type": "application/octet-stream",
                "Inference-Header-Content-Length": str(len(header)),
            },
        )

    def _generate(self, request: CompletionRequest) -> HttpRequest:
        prompt = request.prompt
        if isinstance(prompt, list):
            if len(prompt) != 1:
                raise ValueError("the kserve provider generates from one prompt per call")
            prompt = prompt[0]
        parameters = dict(request.params)
        version = parameters.pop("model_version", None)
        if parameters.get("n", 1) != 1:
            raise ValueError("the kserve provider generates one text per prompt; n must be 1")
        parameters.pop("n", None)
        if "max_completion_tokens" in parameters:
            parameters["max_tokens"] = parameters.pop("max_completion_tokens")
        if request.stream:
            # Triton's vLLM backend streams only when asked to, even on generate_stream.
            parameters["stream"] = True
        action = "generate_stream" if request.stream else "generate"
        body = {"text_input": prompt, "parameters": parameters}
        path = self._model_path(request.model, version, action)
        return HttpRequest(method="POST", path=path, json=body)

    def health_request(self, *, ready: bool = False) -> HttpRequest:
        """``GET /v2/health/live`` (or ``/ready``): a 200 answer means yes."""
        return HttpRequest(method="GET", path=f"v2/health/{'ready' if ready else 'live'}")

    def metadata_request(self, model: str, version: str | None = None) -> HttpRequest:
        """``GET /v2/models/{model}[/versions/{version}]``: name, versions, inputs, outputs."""
        return HttpRequest(method="GET", path=self._model_path(model, version, ""))

    # -- answers -----------------------------------------------------------------------------

    def parse_response(self, task: Task[Any, ResultT, Any], response: HttpResponse) -> ResultT:
        build: Callable[[Any], Result]
        if task is CLASSIFY:
            build = lambda _: self._classification(response)  # noqa: E731
        elif task is EMBED:
            build = lambda _: self._embeddings(response)  # noqa: E731
        elif task is COMPLETE:
            build = _completion
        elif task is MODELS:
            build = _repository_index
        elif task is INFER:
            build = lambda _: _infer_response(response)  # noqa: E731
        else:
            raise NotImplementedError(f"the kserve provider has no {task.name!r} task")
        # Binary answers are not JSON as a whole: their parsers read the body themselves.
        payload = None if task in (CLASSIFY, EMBED, INFER) else load_json(response.body)
        return cast(ResultT, parse_with(task.name, response.body, payload, build))

    def _output(self, outputs: Mapping[str, Tensor], name: str) -> Tensor:
        if name not in outputs:
            raise KeyError(f"no output tensor {name!r} (outputs: {', '.join(outputs) or 'none'})")
        return outputs[name]

    def _embeddings(self, response: HttpResponse) -> EmbeddingResponse:
        header, outputs = parse_outputs(response.body, response.headers)
        rows = self._output(outputs, self.embedding_output).rows()
        vectors = [[float(x) for x in row] for row in rows]
        return EmbeddingResponse(model=header.get("model_name"), vectors=vectors, raw=header)

    def _classification(self, response: HttpResponse) -> ClassificationResponse:
        header, outputs = parse_outputs(response.body, response.headers)
        rows = self._output(outputs, self.probabilities_output).rows()
        names = self.labels
        if names is None and self.labels_output in outputs:
            names = _label_names(outputs[self.labels_output])
        top = outputs[self.label_output].texts() if self.label_output in outputs else None
        if top is not None and len(top) != len(rows):
            raise ValueError(f"{len(top)} labels for {len(rows)} rows of probabilities")
        results = [
            _result(i, [float(p) for p in row], names, top[i] if top else None)
            for i, row in enumerate(rows)
        ]
        return ClassificationResponse(model=header.get("model_name"), results=results, raw=header)

    def stream_decoder(self, task: Task[Any, Any, ChunkT]) -> StreamDecoder[ChunkT]:
        if task is not COMPLETE:
            raise NotImplementedError(f"the kserve provider cannot stream {task.name!r}")
        return SSEJsonDecoder(task.name, cast(Callable[[Any], ChunkT], _completion_chunk))

    def error_message(self, response: HttpResponse) -> str | None:
        return error_message_from_body(response.body)


def _infer_response(response: HttpResponse) -> InferResponse:
    header, tensors = parse_outputs(response.body, response.headers)
    outputs = [
        InferOutput(
            name=t.name,
            datatype=t.datatype,
            shape=t.shape,
            # BYTES as bytes whichever way they came (JSON text or binary).
            data=[x.encode("utf-8") if isinstance(x, str) else x for x in t.data]
            if t.datatype == "BYTES"
            else t.data,
            parameters=dict(t.parameters),
        )
        for t in tensors.values()
    ]
    version = header.get("model_version")
    return InferResponse(
        model_name=header.get("model_name"),
        model_version=None if version is None else str(version),
        id=header.get("id"),
        parameters=header.get("parameters") or {},
        outputs=outputs,
        raw=header,
    )


def _label_names(tensor: Tensor) -> list[str]:
    """The class names of a ``labels`` output: ``[k]``, or ``[n, k]`` from a Triton model with
    dynamic batching (every output of one has the batch dimension), each row the same names."""
    rows = [
        [e.decode("utf-8") if isinstance(e, bytes) else str(e) for e in row]
        for row in tensor.rows()
    ]
    if any(row != rows[0] for row in rows[1:]):
        raise ValueError(f"the rows of output {tensor.name!r} name different labels")
    return rows[0]


def _result(
    index: int, probs: list[float], names: list[str] | None, top: str | None
) -> ClassificationResult:
    if not probs:
        raise ValueError(f"row {index} of probabilities is empty")
    best = max(range(len(probs)), key=probs.__getitem__)
    if names is not None:
        if len(names) != len(probs):
            raise ValueError(f"{len(names)} label names for {len(probs)} probabilities")
        scores = dict(zip(names, probs, strict=True))
        label = top if top is not None else names[best]
        if label not in scores:
            raise ValueError(f"label {label!r} is not one of the label names {names}")
    elif top is not None:
        # Only the top label is named: its probability is the largest one.
        label, scores = top, {top: probs[best]}
    else:
        scores = {str(i): p for i, p in enumerate(probs)}
        label = str(best)
    return ClassificationResult(
        index=index, label=label, score=scores[label], scores=scores, probs=probs
    )


def _completion(payload: Any) -> Completion:
    text = payload["text_output"]
    if not isinstance(text, str):
        raise TypeError("text_output must be a string")
    return Completion(
        model=payload.get("model_name"), texts=[text], finish_reasons=[None], raw=payload
    )


def _completion_chunk(payload: Any) -> CompletionChunk:
    text = payload["text_output"]
    if not isinstance(text, str):
        raise TypeError("text_output must be a string")
    return CompletionChunk(model=payload.get("model_name"), text=text, raw=payload)


def _repository_index(payload: Any) -> ModelList:
    if not isinstance(payload, list):
        raise TypeError("the repository index must be a list")
    return ModelList(data=[ModelInfo(id=str(m["name"]), raw=m) for m in payload], raw=payload)
