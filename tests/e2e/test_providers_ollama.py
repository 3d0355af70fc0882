"""The SDK's ``ollama`` provider against the real server's ``/api`` routes: the same answers
as the ``openai`` provider on the same models, streamed as NDJSON where Ollama streams."""

from __future__ import annotations

import pytest
from _support.server import ServerProcess
from conformance._helpers import CHAT, EMBEDDING_MODEL, GENERATION_MODEL, MAX_TOKENS, PROMPT, TEXTS
from conformance._sdk_reference import (
    GREEDY,
    assert_same_vectors,
    openai_chat_text,
    openai_complete_text,
    openai_embed,
)
from maaskit import BadRequestError, Client, NotFoundError

from ._helpers import require_model

pytestmark = pytest.mark.e2e


def ollama(server: ServerProcess) -> Client:
    return Client(
        provider="ollama", base_url=server.base_url, api_key=server.api_key, max_retries=0
    )


def test_embed_equals_openai(reference_server: ServerProcess) -> None:
    with ollama(reference_server) as client:
        got = client.embed(model=EMBEDDING_MODEL, input=TEXTS)
    assert_same_vectors(got, openai_embed(reference_server, EMBEDDING_MODEL, TEXTS))
    assert got.usage is not None
    assert got.usage.prompt_tokens > 0


def test_chat_and_stream_equal_openai_greedy_text(reference_server: ServerProcess) -> None:
    require_model(reference_server, GENERATION_MODEL)
    expected = openai_chat_text(reference_server, GENERATION_MODEL)
    with ollama(reference_server) as client:
        answer = client.chat(model=GENERATION_MODEL, messages=CHAT, **GREEDY)
        chunks = list(client.chat(model=GENERATION_MODEL, messages=CHAT, stream=True, **GREEDY))
    assert answer.text == expected
    assert answer.choices[0].finish_reason in ("length", "stop")
    assert answer.usage is not None
    assert 1 <= answer.usage.completion_tokens <= MAX_TOKENS
    assert "".join(chunk.text for chunk in chunks) == expected
    assert chunks[-1].finish_reason == answer.choices[0].finish_reason


def test_complete_and_stream_equal_openai_greedy_text(reference_server: ServerProcess) -> None:
    require_model(reference_server, GENERATION_MODEL)
    expected = openai_complete_text(reference_server, GENERATION_MODEL)
    with ollama(reference_server) as client:
        assert client.complete(model=GENERATION_MODEL, prompt=PROMPT, **GREEDY).text == expected
        chunks = list(client.complete(model=GENERATION_MODEL, prompt=PROMPT, stream=True, **GREEDY))
    assert "".join(chunk.text for chunk in chunks) == expected


def test_models_are_listed_with_the_latest_tag(reference_server: ServerProcess) -> None:
    with ollama(reference_server) as client:
        ids = {info.id for info in client.models()}
    assert f"{EMBEDDING_MODEL}:latest" in ids


def test_errors_are_typed(reference_server: ServerProcess) -> None:
    with ollama(reference_server) as client:
        with pytest.raises(NotFoundError, match="no-such-model"):
            client.embed(model="no-such-model", input=TEXTS)
        with pytest.raises(BadRequestError):
            client.chat(model=EMBEDDING_MODEL, messages=CHAT)
        assert len(client.embed(model=EMBEDDING_MODEL, input=["ok"]).vectors) == 1
