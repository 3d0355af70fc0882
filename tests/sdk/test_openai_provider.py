"""The OpenAI-compatible provider as pure functions: neutral request → HTTP description,
bytes → typed results."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import maaskit
import pytest
from maaskit._http import HttpResponse
from maaskit._tasks import CHAT, CLASSIFY, COMPLETE, EMBED, MODELS, ModelsRequest
from maaskit.providers import OpenAIProvider, get_provider
from maaskit.types import (
    ChatMessage,
    ChatRequest,
    ClassificationRequest,
    CompletionRequest,
    EmbeddingRequest,
)

provider = OpenAIProvider()


def ok(payload: Any) -> HttpResponse:
    return HttpResponse(200, {"content-type": "application/json"}, json.dumps(payload).encode())


def test_chat_request_body() -> None:
    request = ChatRequest(
        model="m",
        messages=[ChatMessage(role="user", content="hi")],
        params={"max_tokens": 5, "temperature": 0.0},
    )
    http = provider.build_request(CHAT, request)
    assert (http.method, http.path) == ("POST", "chat/completions")
    assert http.json == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 5,
        "temperature": 0.0,
    }
    assert not http.idempotent


def test_stream_flag_is_sent_only_when_streaming() -> None:
    request = CompletionRequest(model="m", prompt="p", stream=True)
    assert provider.build_request(COMPLETE, request).json == {
        "model": "m",
        "prompt": "p",
        "stream": True,
    }


def test_embed_classify_and_models_requests() -> None:
    embed = provider.build_request(EMBED, EmbeddingRequest(model="e", input=["a", "b"]))
    assert (embed.path, embed.json) == ("embeddings", {"model": "e", "input": ["a", "b"]})
    classify = provider.build_request(CLASSIFY, ClassificationRequest(model="c", input=["x"]))
    assert (classify.path, classify.json) == ("classify", {"model": "c", "input": ["x"]})
    models = provider.build_request(MODELS, ModelsRequest())
    assert (models.method, models.path, models.json) == ("GET", "models", None)
    assert models.idempotent


def test_parse_chat() -> None:
    payload = {
        "id": "x",
        "choices": [
            {"message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "length"}
        ],
        "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
    }
    result = provider.parse_response(CHAT, ok(payload))
    assert result.text == "Hi!"
    assert result.finish_reason == "length"
    assert result.usage == maaskit.Usage(prompt_tokens=4, completion_tokens=2, total_tokens=6)
    assert result.raw == payload


def test_parse_minimal_chat_without_role_or_usage() -> None:
    result = provider.parse_response(CHAT, ok({"choices": [{"message": {"content": "x"}}]}))
    assert result.text == "x"
    assert result.usage is None
    assert result.choices[0].message.role == "assistant"


def test_parse_completion() -> None:
    payload = {"choices": [{"text": "a", "finish_reason": "stop"}, {"text": "b"}]}
    result = provider.parse_response(COMPLETE, ok(payload))
    assert (result.text, result.texts, result.finish_reason) == ("a", ["a", "b"], "stop")


def test_parse_float_embeddings_in_index_order() -> None:
    payload = {
        "data": [{"index": 1, "embedding": [3.0, 4.0]}, {"index": 0, "embedding": [1, 2]}],
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    result = provider.parse_response(EMBED, ok(payload))
    assert result.vectors == [[1.0, 2.0], [3.0, 4.0]]
    assert result.dimensions == 2
    assert result.usage is not None
    assert result.usage.prompt_tokens == 2


def test_parse_base64_embeddings_as_little_endian_float32() -> None:
    values = [0.5, -1.25, 3.0e-3, 1024.0]
    encoded = base64.b64encode(struct.pack("<4f", *values)).decode()
    result = provider.parse_response(EMBED, ok({"data": [{"index": 0, "embedding": encoded}]}))
    assert result.vectors[0] == pytest.approx(values, rel=1e-6)
    # Big-endian decoding would give different numbers: the byte order matters.
    assert struct.unpack(">4f", struct.pack("<4f", *values)) != tuple(result.vectors[0])


def test_base64_embedding_of_wrong_length_is_a_validation_error() -> None:
    encoded = base64.b64encode(b"\x00\x00\x80").decode()
    with pytest.raises(maaskit.ResponseValidationError):
        provider.parse_response(EMBED, ok({"data": [{"index": 0, "embedding": encoded}]}))


def test_parse_models() -> None:
    payload = {"object": "list", "data": [{"id": "a", "owned_by": "me"}, {"id": "b"}]}
    result = provider.parse_response(MODELS, ok(payload))
    assert result.ids == ["a", "b"]
    assert result[0].owned_by == "me"
    assert result[1].raw == {"id": "b"}
    assert result.raw == payload


def test_classify_vllm_shape_knows_only_the_top_label() -> None:
    payload = {
        "data": [{"index": 0, "label": "positive", "probs": [0.1, 0.2, 0.7], "num_classes": 3}],
        "usage": {"prompt_tokens": 5, "total_tokens": 5},
    }
    result = provider.parse_response(CLASSIFY, ok(payload)).results[0]
    assert (result.label, result.score) == ("positive", 0.7)
    assert result.scores == {"positive": 0.7}
    assert result.probs == [0.1, 0.2, 0.7]


@pytest.mark.parametrize("where", ["item", "top"])
def test_classify_with_label_names_maps_every_score(where: str) -> None:
    labels = ["negative", "neutral", "positive"]
    item: dict[str, Any] = {"index": 0, "label": "negative", "probs": [0.6, 0.3, 0.1]}
    payload: dict[str, Any] = {"data": [item]}
    if where == "item":
        item["labels"] = labels
    else:
        payload["labels"] = labels
    result = provider.parse_response(CLASSIFY, ok(payload)).results[0]
    assert result.scores == {"negative": 0.6, "neutral": 0.3, "positive": 0.1}
    assert (result.label, result.score) == ("negative", 0.6)


@pytest.mark.parametrize(
    ("task", "body"),
    [
        (CHAT, b"not json"),
        (CHAT, b'{"choices": "nope"}'),
        (CHAT, b'{"nothing": 1}'),
        (COMPLETE, b'{"choices": [{}]}'),
        (EMBED, b'{"data": [{"index": 0, "embedding": {"a": 1}}]}'),
        (EMBED, b"[]"),
        (CLASSIFY, b'{"data": [{"index": 0}]}'),
        (MODELS, b'{"data": [{"name": "no id"}]}'),
    ],
)
def test_malformed_bodies_raise_response_validation_error(task: Any, body: bytes) -> None:
    with pytest.raises(maaskit.ResponseValidationError) as caught:
        provider.parse_response(task, HttpResponse(200, {}, body))
    assert caught.value.body == body.decode()
    assert not isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error": {"message": "bad model", "type": "invalid_request_error"}}', "bad model"),
        (b'{"error": "plain"}', "plain"),
        (b'{"detail": "fastapi style"}', "fastapi style"),
        (b"upstream timed out", "upstream timed out"),
        (b"", None),
    ],
)
def test_error_message_shapes(body: bytes, message: str | None) -> None:
    assert provider.error_message(HttpResponse(400, {}, body)) == message


def test_unknown_provider_names_the_available_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown provider 'triton'; available: hf, kserve, ollama, openai"
    ):
        get_provider("triton")
