"""The SDK's ``hf`` provider against the real server's ``/models/{name}`` endpoints (Inference
API task routes, TEI and TGI routes): the same answers as the ``openai`` provider."""

from __future__ import annotations

import pytest
from _support.server import ServerProcess
from conformance._helpers import (
    CHAT,
    EMBEDDING_MODEL,
    GENERATION_MODEL,
    PROMPT,
    SENTIMENT_MODEL,
    TEXTS,
)
from conformance._sdk_reference import (
    GREEDY,
    assert_same_classes,
    assert_same_vectors,
    openai_chat_text,
    openai_classify,
    openai_complete_text,
    openai_embed,
)
from maaskit import Client, NotFoundError, UnprocessableEntityError
from maaskit.providers.hf import HFProvider

from ._helpers import require_model

pytestmark = pytest.mark.e2e

ROUTES = {
    "inference": HFProvider(model_in_path=True),
    "tei": HFProvider(model_in_path=True, classify_route="tei", embed_route="tei"),
    "inference-generation": HFProvider(model_in_path=True, complete_route="inference"),
}


def hf(server: ServerProcess, provider: HFProvider) -> Client:
    return Client(
        provider=provider,
        base_url=f"{server.base_url}/models",
        api_key=server.api_key,
        max_retries=0,
    )


@pytest.mark.parametrize("route", ["inference", "tei"])
def test_embed_equals_openai(reference_server: ServerProcess, route: str) -> None:
    with hf(reference_server, ROUTES[route]) as client:
        got = client.embed(model=EMBEDDING_MODEL, input=TEXTS)
    assert_same_vectors(got, openai_embed(reference_server, EMBEDDING_MODEL, TEXTS))


@pytest.mark.parametrize("route", ["inference", "tei"])
def test_classify_equals_openai(reference_server: ServerProcess, route: str) -> None:
    require_model(reference_server, SENTIMENT_MODEL)
    with hf(reference_server, ROUTES[route]) as client:
        got = client.classify(model=SENTIMENT_MODEL, input=TEXTS)
    assert_same_classes(got, openai_classify(reference_server, SENTIMENT_MODEL, TEXTS))


@pytest.mark.parametrize("route", ["inference", "inference-generation"])
def test_complete_and_stream_equal_openai_greedy_text(
    reference_server: ServerProcess, route: str
) -> None:
    require_model(reference_server, GENERATION_MODEL)
    expected = openai_complete_text(reference_server, GENERATION_MODEL)
    with hf(reference_server, ROUTES[route]) as client:
        answer = client.complete(model=GENERATION_MODEL, prompt=PROMPT, **GREEDY)
        chunks = list(client.complete(model=GENERATION_MODEL, prompt=PROMPT, stream=True, **GREEDY))
    assert answer.text == expected
    assert answer.finish_reasons[0] in ("length", "stop")
    assert answer.usage is not None
    assert answer.usage.prompt_tokens > 0
    assert "".join(chunk.text for chunk in chunks) == expected
    assert chunks[-1].finish_reason == answer.finish_reasons[0]


def test_chat_and_stream_equal_openai(reference_server: ServerProcess) -> None:
    require_model(reference_server, GENERATION_MODEL)
    expected = openai_chat_text(reference_server, GENERATION_MODEL)
    with hf(reference_server, ROUTES["inference"]) as client:
        assert client.chat(model=GENERATION_MODEL, messages=CHAT, **GREEDY).text == expected
        chunks = list(client.chat(model=GENERATION_MODEL, messages=CHAT, stream=True, **GREEDY))
    assert "".join(chunk.text for chunk in chunks) == expected


def test_models_reads_the_endpoint_info(reference_server: ServerProcess) -> None:
    with Client(
        provider="hf",
        base_url=f"{reference_server.base_url}/models/{EMBEDDING_MODEL}",
        api_key=reference_server.api_key,
        max_retries=0,
    ) as client:
        (info,) = client.models()
    assert info.id == EMBEDDING_MODEL
    assert info.raw["model_pipeline_tag"] == "feature-extraction"


def test_errors_are_typed(reference_server: ServerProcess) -> None:
    with hf(reference_server, ROUTES["tei"]) as client:
        with pytest.raises(NotFoundError, match="no-such-model"):
            client.embed(model="no-such-model", input=TEXTS)
        with pytest.raises(UnprocessableEntityError, match="normalize"):
            client.embed(model=EMBEDDING_MODEL, input=TEXTS, provider_params={"normalize": False})
        assert len(client.embed(model=EMBEDDING_MODEL, input=["ok"]).vectors) == 1
