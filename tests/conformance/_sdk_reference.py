"""The ``openai`` provider's answers on the reference server: what the SDK's ``hf``, ``kserve``
and ``ollama`` providers must reproduce (labels equal, scores and vectors within 1e-5, greedy
text equal)."""

from __future__ import annotations

from typing import Any

from _support.server import ServerProcess
from maaskit import Client
from maaskit.types import ClassificationResponse, EmbeddingResponse

from ._helpers import CHAT, MAX_TOKENS, PROMPT, TOLERANCE

GREEDY: dict[str, Any] = {"max_tokens": MAX_TOKENS, "temperature": 0}


def openai_client(server: ServerProcess) -> Client:
    return Client(provider="openai", base_url=server.v1, api_key=server.api_key, max_retries=0)


def openai_embed(server: ServerProcess, model: str, texts: list[str]) -> EmbeddingResponse:
    with openai_client(server) as client:
        return client.embed(model=model, input=texts)


def openai_classify(server: ServerProcess, model: str, texts: list[str]) -> ClassificationResponse:
    with openai_client(server) as client:
        return client.classify(model=model, input=texts)


def openai_complete_text(server: ServerProcess, model: str, prompt: str = PROMPT) -> str:
    with openai_client(server) as client:
        text: str = client.complete(model=model, prompt=prompt, **GREEDY).text
        return text


def openai_chat_text(server: ServerProcess, model: str) -> str:
    with openai_client(server) as client:
        text: str = client.chat(model=model, messages=CHAT, **GREEDY).text
        return text


def assert_same_vectors(got: EmbeddingResponse, expected: EmbeddingResponse) -> None:
    assert len(got.vectors) == len(expected.vectors)
    for mine, theirs in zip(got.vectors, expected.vectors, strict=True):
        assert len(mine) == len(theirs)
        assert max(abs(a - b) for a, b in zip(mine, theirs, strict=True)) <= TOLERANCE


def assert_same_classes(got: ClassificationResponse, expected: ClassificationResponse) -> None:
    assert len(got.results) == len(expected.results)
    for mine, theirs in zip(got.results, expected.results, strict=True):
        assert mine.label == theirs.label
        assert set(mine.scores) == set(theirs.scores)
        for label, score in theirs.scores.items():
            assert abs(mine.scores[label] - score) <= TOLERANCE
