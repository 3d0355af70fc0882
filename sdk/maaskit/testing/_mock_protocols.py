"""The shared route machinery of the mocks, and the Hugging Face, KServe and Ollama mocks."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
import respx

from . import _mock_bodies as bodies
from . import _mock_ranking as ranking

__all__ = ["HFMock", "KServeMock", "OllamaMock", "ProtocolMock"]

Answer = Callable[[httpx.Request], httpx.Response]


class ProtocolMock:
    """One protocol's routes under ``base_url``; errors render in the protocol's shape."""

    error_shape: Callable[[int, str], dict[str, Any]] = staticmethod(bodies.openai_error)

    def __init__(self, router: respx.MockRouter, base_url: str) -> None:
        self._router = router
        self.base_url = base_url

    def _error(self, status: int, retry_after: float | None) -> httpx.Response:
        message = f"mocked error {status}"
        headers = bodies.retry_headers(retry_after)
        return httpx.Response(status, json=self.error_shape(status, message), headers=headers)

    def _route(
        self,
        method: str,
        path: str,
        answer: Answer,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        pending = list(errors)

        def side_effect(request: httpx.Request) -> httpx.Response:
            if status is not None:
                return self._error(status, retry_after)
            if pending:
                return self._error(pending.pop(0), retry_after)
            return answer(request)

        route = self._router.route(method=method, url=self.base_url + path)
        route.side_effect = side_effect
        return route

    def error(
        self, path: str, status: int, *, method: str = "POST", retry_after: float | None = None
    ) -> respx.Route:
        """Every call of ``path`` (relative to ``base_url``) answers ``status``."""
        return self._route(method, path, lambda _: self._error(status, retry_after), (), None)


def _stream_response(content: bytes, media_type: str) -> httpx.Response:
    return httpx.Response(200, content=content, headers={"content-type": media_type})


class HFMock(ProtocolMock):
    """Hugging Face endpoints, one per model under ``base_url`` (``{base_url}/{model}``)."""

    error_shape = staticmethod(bodies.plain_error)

    def _model(self, model: str) -> str:
        return "/" + quote(model, safe="")

    def classify(
        self,
        model: str = "mock-model",
        labels: Sequence[str] = bodies.DEFAULT_LABELS,
        *,
        label: str | None = None,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        """The Inference API's ``[[{label, score}, …], …]``, best label first."""

        def answer(request: httpx.Request) -> httpx.Response:
            body = bodies.request_json(request) or {}
            results = []
            for text in bodies.texts_of(body.get("inputs")):
                scores = bodies.fake_scores(labels, label, text)
                ranked = sorted(zip(labels, scores, strict=True), key=lambda item: -item[1])
                results.append([{"label": name, "score": score} for name, score in ranked])
            return httpx.Response(200, json=results)

        return self._route("POST", self._model(model), answer, errors, retry_after, status)

    def embeddings(
        self,
        model: str = "mock-model",
        dim: int = 384,
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        def answer(request: httpx.Request) -> httpx.Response:
            body = bodies.request_json(request) or {}
            texts = bodies.texts_of(body.get("inputs"))
            return httpx.Response(200, json=[bodies.fake_vector(text, dim) for text in texts])

        return self._route("POST", self._model(model), answer, errors, retry_after, status)

    def generate(
        self,
        model: str = "mock-model",
        reply: str = "Hello!",
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> tuple[respx.Route, respx.Route]:
        """TGI's ``/generate`` and ``/generate_stream`` (token events, no ``[DONE]``)."""
        pieces = bodies.split_reply(reply)
        details = {
            "finish_reason": "eos_token",
            "generated_tokens": len(pieces),
            "prefill": [],
            "tokens": [],
        }

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"generated_text": reply, "details": details})

        def stream(request: httpx.Request) -> httpx.Response:
            events: list[dict[str, Any]] = []
            for index, piece in enumerate(pieces):
                token = {"id": index, "text": piece, "logprob": 0.0, "special": False}
                events.append({"index": index, "token": token, "generated_text": None})
            events[-1] = {**events[-1], "generated_text": reply, "details": details}
            return _stream_response(bodies.sse(events, done=False), "text/event-stream")

        prefix = self._model(model)
        return (
            self._route("POST", f"{prefix}/generate", answer, errors, retry_after, status),
            self._route("POST", f"{prefix}/generate_stream", stream, errors, retry_after, status),
        )

    def rerank(
        self,
        model: str = "mock-model",
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        """TEI's ``/rerank``: ``[{"index", "score"}]`` best first (cosines of fake vectors)."""
        path = self._model(model) + "/rerank"
        return self._route("POST", path, ranking.tei_rerank, errors, retry_after, status)

    def similarity(
        self,
        model: str = "mock-model",
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        """TEI's ``/similarity``: one cosine per sentence."""
        path = self._model(model) + "/similarity"
        return self._route("POST", path, ranking.tei_similarity, errors, retry_after, status)


class KServeMock(ProtocolMock):
    """Open Inference Protocol v2: ``/v2/models/{model}/infer`` with JSON tensors."""

    error_shape = staticmethod(bodies.plain_error)

    def _infer(self, model: str) -> str:
        return f"/v2/models/{quote(model, safe='')}/infer"

    @staticmethod
    def _texts(request: httpx.Request) -> list[str]:
        body = bodies.request_json(request) or {}
        inputs = body.get("inputs") or [{}]
        return bodies.texts_of(inputs[0].get("data", []))

    def classify(
        self,
        model: str = "mock-model",
        labels: Sequence[str] = bodies.DEFAULT_LABELS,
        *,
        label: str | None = None,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        """Outputs ``probabilities`` (FP32 [n, labels]), ``label`` and ``labels`` (BYTES)."""

        def answer(request: httpx.Request) -> httpx.Response:
            texts = self._texts(request)
            rows = [bodies.fake_scores(labels, label, text) for text in texts]
            top = [labels[row.index(max(row))] for row in rows]
            outputs = [
                {
                    "name": "probabilities",
                    "datatype": "FP32",
                    "shape": [len(rows), len(labels)],
                    "data": [p for row in rows for p in row],
                },
                {"name": "label", "datatype": "BYTES", "shape": [len(top)], "data": top},
                {"name": "labels", "datatype": "BYTES", "shape": [len(labels)], "data": labels},
            ]
            return httpx.Response(200, json={"model_name": model, "outputs": outputs})

        return self._route("POST", self._infer(model), answer, errors, retry_after, status)

    def embeddings(
        self,
        model: str = "mock-model",
        dim: int = 384,
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        def answer(request: httpx.Request) -> httpx.Response:
            vectors = [bodies.fake_vector(text, dim) for text in self._texts(request)]
            output = {
                "name": "embedding",
                "datatype": "FP32",
                "shape": [len(vectors), dim],
                "data": [x for vector in vectors for x in vector],
            }
            return httpx.Response(200, json={"model_name": model, "outputs": [output]})

        return self._route("POST", self._infer(model), answer, errors, retry_after, status)

    def infer(
        self,
        model: str = "mock-model",
        outputs: Sequence[Mapping[str, Any]] = (),
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        """Raw tensors: answers ``outputs`` (``{"name", "datatype", "shape", "data"}`` each),
        only the ones the request names when it names some (a 400 for an unknown name)."""
        given = list(outputs)

        def answer(request: httpx.Request) -> httpx.Response:
            return ranking.infer_answer(request, model, given)

        return self._route("POST", self._infer(model), answer, errors, retry_after, status)

    def generate(self, model: str = "mock-model", reply: str = "Hello!") -> respx.Route:
        """Triton's ``/generate`` and ``/generate_stream`` (``text_output`` pieces)."""
        prefix = f"/v2/models/{quote(model, safe='')}"

        def answer(request: httpx.Request) -> httpx.Response:
            payload = {"model_name": model, "model_version": "1", "text_output": reply}
            return httpx.Response(200, json=payload)

        def stream(request: httpx.Request) -> httpx.Response:
            events = [{"model_name": model, "text_output": p} for p in bodies.split_reply(reply)]
            return _stream_response(bodies.sse(events, done=False), "text/event-stream")

        self._route("POST", f"{prefix}/generate_stream", stream)
        return self._route("POST", f"{prefix}/generate", answer)


class OllamaMock(ProtocolMock):
    """Ollama's native ``/api`` routes; streams are NDJSON ending with ``"done": true``."""

    error_shape = staticmethod(bodies.plain_error)

    def chat(
        self,
        reply: str = "Hello!",
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        return self._generation("/api/chat", reply, errors, retry_after, status, chat=True)

    def generate(
        self,
        reply: str = "Hello!",
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        return self._generation("/api/generate", reply, errors, retry_after, status, chat=False)

    def _generation(
        self,
        path: str,
        reply: str,
        errors: Sequence[int],
        retry_after: float | None,
        status: int | None,
        *,
        chat: bool,
    ) -> respx.Route:
        def piece(body: dict[str, Any], text: str, done: bool) -> dict[str, Any]:
            event: dict[str, Any] = {
                "model": body.get("model", "mock-model"),
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "done": done,
            }
            if chat:
                event["message"] = {"role": "assistant", "content": text}
            else:
                event["response"] = text
            if done:
                event.update(done_reason="stop", prompt_eval_count=1, eval_count=len(pieces))
            return event

        pieces = bodies.split_reply(reply)

        def answer(request: httpx.Request) -> httpx.Response:
            body = bodies.request_json(request) or {}
            if body.get("stream", True) is False:
                return httpx.Response(200, json=piece(body, reply, True))
            events = [piece(body, text, False) for text in pieces] + [piece(body, "", True)]
            return _stream_response(bodies.ndjson(events), "application/x-ndjson")

        return self._route("POST", path, answer, errors, retry_after, status)

    def embeddings(
        self,
        dim: int = 384,
        *,
        errors: Sequence[int] = (),
        retry_after: float | None = None,
        status: int | None = None,
    ) -> respx.Route:
        def answer(request: httpx.Request) -> httpx.Response:
            body = bodies.request_json(request) or {}
            texts = bodies.texts_of(body.get("input"))
            vectors = [bodies.fake_vector(text, dim) for text in texts]
            payload = {"model": body.get("model"), "embeddings": vectors}
            return httpx.Response(200, json={**payload, "prompt_eval_count": len(texts)})

        return self._route("POST", "/api/embed", answer, errors, retry_after, status)

    def models(self, names: Sequence[str] = ("mock-model",)) -> respx.Route:
        payload = {"models": [{"name": name, "model": name} for name in names]}
        return self._route("GET", "/api/tags", lambda _: httpx.Response(200, json=payload))
