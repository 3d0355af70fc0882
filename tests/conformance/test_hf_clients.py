"""``huggingface_hub.InferenceClient`` and ``text_generation.Client`` against the real server,
each model being an endpoint at ``/models/{name}``."""

from __future__ import annotations

from collections.abc import Iterator

import huggingface_hub
import numpy as np
import pytest
import text_generation
from _support.server import ServerProcess
from e2e._helpers import require_model
from huggingface_hub import InferenceClient

from ._helpers import (
    CHAT,
    EMBEDDING_MODEL,
    GENERATION_MODEL,
    MAX_TOKENS,
    PROMPT,
    SENTIMENT_MODEL,
    TEXTS,
    TOLERANCE,
    openai_chat,
    openai_classes,
    openai_completion,
    openai_vectors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.conformance]


@pytest.fixture(autouse=True)
def hub_online(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # HF_HUB_OFFLINE=1 makes InferenceClient refuse even a loopback URL (see PEERS.md).
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    huggingface_hub.utils.reset_sessions()
    yield
    huggingface_hub.utils.reset_sessions()


def endpoint(server: ServerProcess, model: str) -> InferenceClient:
    return InferenceClient(
        base_url=f"{server.base_url}/models/{model}", api_key=server.api_key, timeout=60
    )


def tgi(server: ServerProcess) -> text_generation.Client:
    return text_generation.Client(
        f"{server.base_url}/models/{GENERATION_MODEL}", headers=server.headers, timeout=60
    )


def test_feature_extraction_equals_the_openai_vectors(reference_server: ServerProcess) -> None:
    client = endpoint(reference_server, EMBEDDING_MODEL)
    for text in TEXTS:
        vectors = client.feature_extraction(text)
        assert vectors.shape == (1, 384)
        np.testing.assert_allclose(
            vectors, openai_vectors(reference_server, [text]), atol=TOLERANCE
        )
    truncated = client.feature_extraction("word " * 600, truncate=True)
    assert truncated.shape == (1, 384)


def test_text_classification_lists_every_label_by_score(reference_server: ServerProcess) -> None:
    require_model(reference_server, SENTIMENT_MODEL)
    client = endpoint(reference_server, SENTIMENT_MODEL)
    for text, expected in zip(TEXTS, openai_classes(reference_server, TEXTS), strict=True):
        predictions = client.text_classification(text)
        assert {p.label for p in predictions} == set(expected)
        scores = [p.score for p in predictions]
        assert scores == sorted(scores, reverse=True)
        for prediction in predictions:
            assert abs(prediction.score - expected[prediction.label]) <= TOLERANCE
        (top,) = client.text_classification(text, top_k=1)
        assert top.label == max(expected, key=expected.__getitem__)


def test_text_generation_is_the_greedy_text(reference_server: ServerProcess) -> None:
    require_model(reference_server, GENERATION_MODEL)
    client = endpoint(reference_server, GENERATION_MODEL)
    expected = openai_completion(reference_server)
    assert client.text_generation(PROMPT, max_new_tokens=MAX_TOKENS) == expected
    detailed = client.text_generation(PROMPT, max_new_tokens=MAX_TOKENS, details=True)
    assert detailed.generated_text == expected
    assert detailed.details is not None
    assert detailed.details.generated_tokens == len(detailed.details.tokens)
    assert detailed.details.finish_reason in ("length", "eos_token")
    events = list(
        client.text_generation(PROMPT, max_new_tokens=MAX_TOKENS, details=True, stream=True)
    )
    assert "".join(e.token.text for e in events if not e.token.special) == expected
    assert events[-1].generated_text == expected
    assert all(e.generated_text is None for e in events[:-1])


def test_chat_completion_equals_the_openai_route(reference_server: ServerProcess) -> None:
    require_model(reference_server, GENERATION_MODEL)
    client = endpoint(reference_server, GENERATION_MODEL)
    answer = client.chat_completion(CHAT, max_tokens=MAX_TOKENS, temperature=0)
    assert answer.choices[0].message.content == openai_chat(reference_server)
    pieces = client.chat_completion(CHAT, max_tokens=MAX_TOKENS, temperature=0, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in pieces if c.choices) == (
        answer.choices[0].message.content
    )


def test_text_generation_client_generate_and_stream(reference_server: ServerProcess) -> None:
    require_model(reference_server, GENERATION_MODEL)
    client = tgi(reference_server)
    expected = openai_completion(reference_server)
    response = client.generate(PROMPT, max_new_tokens=MAX_TOKENS)
    assert response.generated_text == expected
    assert response.details.generated_tokens == len(response.details.tokens)
    assert response.details.finish_reason.value in ("length", "eos_token")
    assert response.details.prefill == []
    logprobs = [token.logprob for token in response.details.tokens]
    assert all(lp is not None and lp <= 0 for lp in logprobs)
    events = list(client.generate_stream(PROMPT, max_new_tokens=MAX_TOKENS))
    assert "".join(e.token.text for e in events if not e.token.special) == expected
    assert events[-1].generated_text == expected
    assert [e.token.id for e in events] == [t.id for t in response.details.tokens]


def test_tgi_ends_the_text_with_the_stop_sequence_like_tgi(reference_server: ServerProcess) -> None:
    # TGI's generated_text includes the stop sequence that ended it; OpenAI's text leaves it out.
    require_model(reference_server, GENERATION_MODEL)
    client = tgi(reference_server)
    greedy = openai_completion(reference_server)
    stop = greedy[len(greedy) // 2 : len(greedy) // 2 + 2]
    assert stop.strip(), f"no visible stop candidate in {greedy!r}"
    before = greedy[: greedy.index(stop)]
    response = client.generate(PROMPT, max_new_tokens=MAX_TOKENS, stop_sequences=[stop])
    assert response.generated_text == before + stop
    assert response.details.finish_reason.value == "stop_sequence"
    events = list(client.generate_stream(PROMPT, max_new_tokens=MAX_TOKENS, stop_sequences=[stop]))
    assert "".join(e.token.text for e in events if not e.token.special) == before + stop
    assert events[-1].generated_text == before + stop
    assert events[-1].details.finish_reason.value == "stop_sequence"


def test_tgi_validation_errors_are_422_and_the_server_keeps_serving(
    reference_server: ServerProcess,
) -> None:
    require_model(reference_server, GENERATION_MODEL)
    client = tgi(reference_server)
    with pytest.raises(text_generation.errors.ValidationError, match="repetition_penalty"):
        client.generate(PROMPT, max_new_tokens=4, repetition_penalty=1.3)
    with pytest.raises(text_generation.errors.ValidationError):
        client.generate(PROMPT, max_new_tokens=100_000)
    assert client.generate(PROMPT, max_new_tokens=2).details.generated_tokens >= 1
