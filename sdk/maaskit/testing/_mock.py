"""``maaskit_mock``: respx routes that answer like each provider, from simple arguments.

Every method registers (or replaces) one route and returns the ``respx.Route``, so a test can
also assert on ``route.call_count`` or ``route.calls.last.request``. Common keywords:

* ``errors=[503, 429]``: the first calls answer these statuses (in the protocol's error shape,
  with ``Retry-After: retry_after`` when given), the following ones the normal answer;
* ``status=500``: every call answers that error.

Streaming follows the request: a body with ``"stream": true`` (Ollama: unless ``false``) gets
SSE / NDJSON pieces of the reply; ``stream_error_after=N`` sends an in-band error event after
N pieces. Every request is recorded: ``mock.requests``, ``mock.last_json()``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx
import respx

from .._async_client import AsyncClient
from .._client import Client
from .._retry import RetryPolicy
from ..providers import HFProvider, Provider
from . import _mock_bodies as bodies
from . import _mock_ranking as ranking
from ._mock_protocols import HFMock, KServeMock, OllamaMock, ProtocolMock

__all__ = ["MOCK_HOST", "MaaSKitMock", "OpenAIMock"]

MOCK_HOST = "maaskit.mock"
MOCK_API_KEY = "maaskit-mock-key"


class OpenAIMock(ProtocolMock):
    """OpenAI-compatible routes under ``base_url`` (``…/v1``)."""

    def chat(
        self,
        reply: str = "Hello!",
        *,
        finish_reason: str = "stop",
        stream_error_after: int | None = None,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        def answer(request: httpx.Request) -> httpx.Response:
            body = bodies.request_json(request) or {}
            model = body.get("model", "mock-model")
            prompt = sum(len(str(m.get("content", ""))) // 4 + 1 for m in body.get("messages", []))
            pieces = bodies.split_reply(reply)
            if body.get("stream"):
                return self._sse(
                    self._chat_events(model, pieces, finish_reason), stream_error_after
                )
            message = {"role": "assistant", "content": reply}
            return httpx.Response(
                200,
                json={
                    "id": "chatcmpl-mock",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
                    "usage": bodies.usage(prompt, len(pieces)),
                },
            )

        return self._route("POST", "/chat/completions", answer, errors, retry_after, status)

    @staticmethod
    def _chat_events(model: str, pieces: list[str], finish: str) -> list[Any]:
        base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": model}

        def event(delta: dict[str, Any], reason: str | None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}

        events = [event({"role": "assistant", "content": ""}, None)]
        events += [event({"content": piece}, None) for piece in pieces]
        return [*events, event({}, finish)]

    def _sse(self, events: list[Any], error_after: int | None) -> httpx.Response:
        if error_after is not None:
            # +1: the first event carries only the role.
            events = [*events[: error_after + 1], bodies.openai_error(500, "mocked stream error")]
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, content=bodies.sse(events), headers=headers)

    def completions(
        self,
        reply: str = "Hello!",
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        def answer(request: httpx.Request) -> httpx.Response:
            body = bodies.request_json(request) or {}
            model = body.get("model", "mock-model")
            pieces = bodies.split_reply(reply)
            if body.get("stream"):
                events = [
                    {"id": "cmpl-mock", "model": model, "choices": [{"index": 0, "text": p}]}
                    for p in pieces
                ]
                return self._sse(events, None)
            choice = {"index": 0, "text": reply, "finish_reason": "stop"}
            payload = {"id": "cmpl-mock", "object": "text_completion", "model": model}
            usage = bodies.usage(1, len(pieces))
            return httpx.Response(200, json={**payload, "choices": [choice], "usage": usage})

        return self._route("POST", "/completions", answer, errors, retry_after, status)

    def embeddings(
        self,
        dim: int = 384,
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        """One vector per input, derived from its text (``fake_vector(text, dim)``)."""

        def answer(request: httpx.Request) -> httpx.Response:
            body = bodies.request_json(request) or {}
            texts = bodies.texts_of(body.get("input"))
            base64 = body.get("encoding_format") == "base64"
            data = []
            for index, text in enumerate(texts):
                vector = bodies.fake_vector(text, dim)
                embedding: Any = bodies.base64_floats(vector) if base64 else vector
                data.append({"object": "embedding", "index": index, "embedding": embedding})
            usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
            model = body.get("model", "mock-model")
            return httpx.Response(
                200, json={"object": "list", "model": model, "data": data, "usage": usage}
            )

        return self._route("POST", "/embeddings", answer, errors, retry_after, status)

    def classify(
        self,
        labels: Sequence[str] = bodies.DEFAULT_LABELS,
        *,
        label: str | None = None,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        """vLLM's ``/classify`` shape, with every label's probability (``label`` gets 0.8)."""

        def answer(request: httpx.Request) -> httpx.Response:
            body = bodies.request_json(request) or {}
            data = []
            for index, text in enumerate(bodies.texts_of(body.get("input"))):
                probs = bodies.fake_scores(labels, label, text)
                top = labels[probs.index(max(probs))]
                data.append(
                    {
                        "index": index,
                        "label": top,
                        "probs": probs,
                        "num_classes": len(labels),
                        "labels": list(labels),
                    }
                )
            model = body.get("model", "mock-model")
            return httpx.Response(200, json={"object": "list", "model": model, "data": data})

        return self._route("POST", "/classify", answer, errors, retry_after, status)

    def rerank(
        self,
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        """vLLM's ``/rerank``: documents best first by the cosine of their ``fake_vector``."""
        return self._route("POST", "/rerank", ranking.vllm_rerank, errors, retry_after, status)

    def score(
        self,
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        """vLLM's ``/score``: ``text_1`` against each ``text_2`` (the SDK's ``similarity()``)."""
        return self._route("POST", "/score", ranking.vllm_score, errors, retry_after, status)

    def models(self, ids: Sequence[str] = ("mock-model",)) -> respx.Route:
        data = [{"id": name, "object": "model", "owned_by": "maaskit-mock"} for name in ids]
        payload = {"object": "list", "data": data}
        return self._route("GET", "/models", lambda _: httpx.Response(200, json=payload))


class MaaSKitMock:
    """Mocks of the four protocols on the fake host ``maaskit.mock``; requests to any other
    host pass through untouched. ``client()`` / ``async_client()`` give SDK clients pointed
    at them whose retry waits are recorded in ``sleeps`` instead of slept."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router
        root = f"http://{MOCK_HOST}"
        self.openai = OpenAIMock(router, f"{root}/v1")
        self.hf = HFMock(router, f"{root}/hf/models")
        self.kserve = KServeMock(router, f"{root}/kserve")
        self.ollama = OllamaMock(router, f"{root}/ollama")
        self.sleeps: list[float] = []

    @property
    def requests(self) -> list[httpx.Request]:
        """Every request the mock answered, in order (passed-through ones are not listed)."""
        return [call.request for call in self.router.calls if call.request.url.host == MOCK_HOST]

    def last_json(self) -> Any:
        """The JSON body of the last request the mock answered."""
        requests = self.requests
        if not requests:
            raise AssertionError("the mock received no request")
        return bodies.request_json(requests[-1])

    def base_url(self, provider: str) -> str:
        mocks: dict[str, ProtocolMock] = {
            "openai": self.openai,
            "hf": self.hf,
            "kserve": self.kserve,
            "ollama": self.ollama,
        }
        if provider not in mocks:
            raise ValueError(f"unknown provider {provider!r}; one of {', '.join(mocks)}")
        return mocks[provider].base_url

    def _options(self, provider: str | Provider, options: dict[str, Any]) -> dict[str, Any]:
        name = provider if isinstance(provider, str) else provider.name
        if provider == "hf":
            provider = HFProvider(model_in_path=True)
        options.setdefault("base_url", self.base_url(name))
        options.setdefault("api_key", MOCK_API_KEY)
        # Deterministic delays (no jitter): a test can assert on mock.sleeps.
        options.setdefault("retry_policy", RetryPolicy(jitter=lambda: 1.0))
        return {"provider": provider, **options}

    def client(self, provider: str | Provider = "openai", **options: Any) -> Client:
        options = self._options(provider, options)
        return Client(**options, sleep=self.sleeps.append)

    def async_client(self, provider: str | Provider = "openai", **options: Any) -> AsyncClient:
        options = self._options(provider, options)

        async def record(seconds: float) -> None:
            self.sleeps.append(seconds)

        return AsyncClient(**options, sleep=record)
