"""The official ``ollama`` client against the real server's ``/api`` routes."""

from __future__ import annotations

import numpy as np
import ollama
import pytest
from _support.server import ServerProcess
from e2e._helpers import require_model

from ._helpers import (
    CHAT,
    EMBEDDING_MODEL,
    GENERATION_MODEL,
    MAX_TOKENS,
    PROMPT,
    TEXTS,
    TOLERANCE,
    openai_chat,
    openai_completion,
    openai_vectors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.conformance]

GREEDY = {"num_predict": MAX_TOKENS, "temperature": 0}


@pytest.fixture(scope="module")
def client(reference_server: ServerProcess) -> ollama.Client:
    return ollama.Client(host=reference_server.base_url, headers=reference_server.headers)


def test_embed_equals_the_openai_vectors(
    client: ollama.Client, reference_server: ServerProcess
) -> None:
    response = client.embed(model=EMBEDDING_MODEL, input=TEXTS)
    np.testing.assert_allclose(
        np.array(response.embeddings), openai_vectors(reference_server, TEXTS), atol=TOLERANCE
    )
    assert response.prompt_eval_count is not None
    assert response.prompt_eval_count > 0
    tagged = client.embed(model=f"{EMBEDDING_MODEL}:latest", input=TEXTS[0])
    np.testing.assert_allclose(tagged.embeddings[0], response.embeddings[0], atol=TOLERANCE)
    legacy = client.embeddings(model=EMBEDDING_MODEL, prompt=TEXTS[0])
    np.testing.assert_allclose(legacy.embedding, response.embeddings[0], atol=TOLERANCE)


def test_list_show_and_version(client: ollama.Client) -> None:
    names = [model.model for model in client.list().models]
    assert f"{EMBEDDING_MODEL}:latest" in names
    shown = client.show(EMBEDDING_MODEL)
    assert shown.capabilities == ["embedding"]
    assert shown.details is not None
    assert shown.details.format == "onnx"
    with pytest.raises(ollama.ResponseError) as missing:
        client.show("no-such-model")
    assert missing.value.status_code == 404


def test_chat_equals_openai_greedy_text(
    client: ollama.Client, reference_server: ServerProcess
) -> None:
    require_model(reference_server, GENERATION_MODEL)
    response = client.chat(model=GENERATION_MODEL, messages=CHAT, options=GREEDY)
    assert response.message.role == "assistant"
    assert response.message.content == openai_chat(reference_server)
    assert response.done
    assert response.done_reason in ("length", "stop")
    assert response.eval_count is not None
    assert 1 <= response.eval_count <= MAX_TOKENS
    assert response.prompt_eval_count is not None
    assert response.prompt_eval_count > 0
    assert response.total_duration is not None
    assert response.total_duration > 0


def test_streaming_chat_joins_to_the_same_text(
    client: ollama.Client, reference_server: ServerProcess
) -> None:
    require_model(reference_server, GENERATION_MODEL)
    parts = list(client.chat(model=GENERATION_MODEL, messages=CHAT, options=GREEDY, stream=True))
    assert all(not part.done for part in parts[:-1])
    assert parts[-1].done
    assert parts[-1].done_reason in ("length", "stop")
    assert parts[-1].eval_count is not None
    assert "".join(part.message.content or "" for part in parts) == openai_chat(reference_server)


def test_generate_equals_openai_greedy_completion(
    client: ollama.Client, reference_server: ServerProcess
) -> None:
    require_model(reference_server, GENERATION_MODEL)
    expected = openai_completion(reference_server)
    response = client.generate(model=GENERATION_MODEL, prompt=PROMPT, options=GREEDY)
    assert response.response == expected
    streamed = client.generate(model=GENERATION_MODEL, prompt=PROMPT, options=GREEDY, stream=True)
    assert "".join(part.response or "" for part in streamed) == expected


def test_errors_are_ollama_errors_and_the_server_keeps_serving(
    client: ollama.Client, reference_server: ServerProcess
) -> None:
    with pytest.raises(ollama.ResponseError) as missing:
        client.chat(model="no-such-model", messages=CHAT)
    assert missing.value.status_code == 404
    assert "no-such-model" in missing.value.error
    with pytest.raises(ollama.ResponseError) as wrong_task:
        client.chat(model=EMBEDDING_MODEL, messages=CHAT, stream=False)
    assert wrong_task.value.status_code == 400
    assert client.embed(model=EMBEDDING_MODEL, input="still serving").embeddings
