"""The ``hf`` provider: request building and dispatch (answer shapes are in ``_parsing``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote

from ..._exceptions import ResponseValidationError
from ..._http import HttpRequest, HttpResponse
from ..._tasks import CHAT, CLASSIFY, COMPLETE, EMBED, MODELS, Task
from ...types import (
    ChatRequest,
    ClassificationRequest,
    CompletionRequest,
    EmbeddingRequest,
    Result,
)
from .. import _ranking as ranking
from .._base import Provider, StreamDecoder
from .._parsing import error_message_from_body, load_json, parse_with
from ..openai import OpenAIProvider, SSEJsonDecoder
from . import _parsing as shapes

__all__ = ["HFProvider", "tgi_parameters"]

ChunkT = TypeVar("ChunkT", bound=Result)
ResultT = TypeVar("ResultT", bound=Result)

TaskRoute = Literal["inference", "tei"]
GenerateRoute = Literal["tgi", "inference"]

# Neutral names that TGI spells differently.
_RENAMED = {"max_tokens": "max_new_tokens", "max_completion_tokens": "max_new_tokens"}


def tgi_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """Call keywords → TGI ``parameters``. ``max_tokens`` → ``max_new_tokens``; ``stop`` a list;
    ``temperature=0`` (greedy in OpenAI terms, refused by TGI) → ``do_sample: false``;
    ``top_p >= 1`` (no nucleus cut, refused by TGI) is dropped; ``details`` defaults to true so
    the finish reason comes back; anything else (``repetition_penalty``, ``do_sample``,
    ``return_full_text``, ``truncate``, ``grammar``…) is passed unchanged."""
    out: dict[str, Any] = {"details": True}
    for key, value in params.items():
        if value is None:
            continue
        if key == "n":
            if value != 1:
                raise ValueError("the hf provider generates one text per prompt; n must be 1")
            continue
        if key == "stop":
            if isinstance(value, str):
                value = [value]
            elif not (isinstance(value, (list, tuple)) and all(isinstance(s, str) for s in value)):
                raise TypeError("stop must be a str or a list of str")
            out["stop"] = list(value)
        elif key == "temperature" and value == 0:
            out["do_sample"] = False
        elif key == "top_p" and isinstance(value, (int, float)) and value >= 1:
            continue
        else:
            out[_RENAMED.get(key, key)] = value
    return out


class HFProvider(Provider):
    """Hugging Face endpoints. ``base_url`` is one model's endpoint, unless
    ``model_in_path=True``: then it is a prefix and each call goes to ``{base_url}/{model}``
    (as ``https://router.huggingface.co/hf-inference/models`` or the reference server's
    ``/models``).

    Routes per task (relative to the model endpoint), chosen by the options:

    * ``classify_route``: ``"inference"`` (default) POSTs ``{"inputs": [...]}`` to the endpoint
      itself; ``"tei"`` POSTs ``{"inputs": [[text], ...]}`` to ``/predict``.
    * ``embed_route``: ``"inference"`` (default) POSTs ``{"inputs": [...]}`` to the endpoint;
      ``"tei"`` POSTs to ``/embed``.
    * ``complete_route``: ``"tgi"`` (default) POSTs ``{"inputs", "parameters"}`` to
      ``/generate``, streaming from ``/generate_stream``; ``"inference"`` POSTs the same body
      (with ``"stream"``) to the endpoint itself.
    * chat is always ``/v1/chat/completions`` (TGI's OpenAI route); models is ``GET /info``.
    """

    name = "hf"

    def __init__(
        self,
        *,
        classify_route: TaskRoute = "inference",
        embed_route: TaskRoute = "inference",
        complete_route: GenerateRoute = "tgi",
        model_in_path: bool = False,
    ) -> None:
        for option, value, allowed in (
            ("classify_route", classify_route, ("inference", "tei")),
            ("embed_route", embed_route, ("inference", "tei")),
            ("complete_route", complete_route, ("tgi", "inference")),
        ):
            if value not in allowed:
                raise ValueError(f"{option} must be one of {allowed}, got {value!r}")
        if not isinstance(model_in_path, bool):
            raise TypeError("model_in_path must be True or False")
        self.classify_route = classify_route
        self.embed_route = embed_route
        self.complete_route = complete_route
        self.model_in_path = model_in_path
        self._openai = OpenAIProvider()

    def __repr__(self) -> str:
        return (
            f"HFProvider(classify_route={self.classify_route!r}, embed_route={self.embed_route!r}"
            f", complete_route={self.complete_route!r}, model_in_path={self.model_in_path!r})"
        )

    def supports(self, task: Task[Any, Any, Any]) -> bool:
        if task is MODELS:
            # /info describes the one model behind an endpoint; a prefix has no listing.
            return not self.model_in_path
        return task in (CHAT, COMPLETE, EMBED, CLASSIFY) or task in ranking.RANKING_TASKS

    def _path(self, model: str | None, route: str) -> str:
        parts = [quote(model, safe="/")] if self.model_in_path and model else []
        return "/".join(parts + ([route] if route else []))

    def build_request(self, task: Task[Any, Any, Any], request: Any) -> HttpRequest:
        if not self.supports(task):
            raise NotImplementedError(
                f"the hf provider has no {task.name!r} task"
                + (" with model_in_path=True" if task is MODELS else "")
            )
        if task in ranking.RANKING_TASKS:  # TEI's /rerank and /similarity
            return ranking.tei_request(request, self._path)
        if isinstance(request, ChatRequest):
            described = self._openai.build_request(CHAT, request)
            return dataclasses.replace(
                described, path=self._path(request.model, "v1/chat/completions")
            )
        if isinstance(request, CompletionRequest):
            return self._generate(request)
        if isinstance(request, ClassificationRequest):
            if self.classify_route == "tei":
                body = {"inputs": [[text] for text in request.input], **request.params}
                return self._post(request.model, "predict", body)
            return self._post(
                request.model, "", self._inference_body(request.input, request.params)
            )
        if isinstance(request, EmbeddingRequest):
            if self.embed_route == "tei":
                body = {"inputs": request.input, **request.params}
                return self._post(request.model, "embed", body)
            return self._post(
                request.model, "", self._inference_body(request.input, request.params)
            )
        return HttpRequest(method="GET", path=self._path(None, "info"))

    @staticmethod
    def _inference_body(inputs: list[str], params: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"inputs": inputs}
        if params:
            body["parameters"] = dict(params)
        return body

    def _post(self, model: str, route: str, body: Any) -> HttpRequest:
        return HttpRequest(method="POST", path=self._path(model, route), json=body)

    def _generate(self, request: CompletionRequest) -> HttpRequest:
        prompt = request.prompt
        if isinstance(prompt, list):
            if len(prompt) != 1:
                raise ValueError("the hf provider generates from one prompt per call")
            prompt = prompt[0]
        body: dict[str, Any] = {"inputs": prompt, "parameters": tgi_parameters(request.params)}
        if self.complete_route == "tgi":
            route = "generate_stream" if request.stream else "generate"
        else:
            route = ""
            body["stream"] = request.stream
        return self._post(request.model, route, body)

    def parse_response(self, task: Task[Any, ResultT, Any], response: HttpResponse) -> ResultT:
        if task is CHAT:
            return self._openai.parse_response(task, response)
        if task in ranking.RANKING_TASKS:
            return cast(ResultT, ranking.parse_tei(task, response))
        build: Callable[[Any], Result]
        if task is COMPLETE:
            headers = {k.lower(): v for k, v in response.headers.items()}
            build = lambda payload: shapes.completion(payload, headers)  # noqa: E731
        elif task is EMBED:
            build = shapes.embeddings
        elif task is CLASSIFY:
            build = shapes.classification
        elif task is MODELS:
            build = shapes.info_models
        else:
            raise NotImplementedError(f"the hf provider has no {task.name!r} task")
        payload = load_json(response.body)
        return cast(ResultT, parse_with(task.name, response.body, payload, build))

    def stream_decoder(self, task: Task[Any, Any, ChunkT]) -> StreamDecoder[ChunkT]:
        if task is CHAT:
            return self._openai.stream_decoder(task)
        if task is COMPLETE:
            build = cast(Callable[[Any], ChunkT], shapes.completion_chunk)
            # TGI sends no [DONE]: the stream ends with the event that carries ``details``.
            return SSEJsonDecoder(task.name, build)
        raise NotImplementedError(f"the hf provider cannot stream {task.name!r}")

    def error_message(self, response: HttpResponse) -> str | None:
        return error_message_from_body(response.body)

    def retry_hint(self, response: HttpResponse) -> float | None:
        try:
            return shapes.estimated_time(load_json(response.body))
        except ResponseValidationError:
            return None
