"""LangChain's ``OpenAIEmbeddings`` sends tiktoken ids by default: ids this model cannot have
are a 400 that names the setting to change, and with that setting the texts embed as they do
through ``/v1/embeddings``."""

from __future__ import annotations

import httpx
import pytest
from _support.server import ServerProcess

pytestmark = pytest.mark.conformance

MODEL = "all-minilm-l6-v2"


def test_tiktoken_ids_are_refused_naming_the_langchain_setting(
    reference_server: ServerProcess,
) -> None:
    # cl100k ids for "hello world" as LangChain sends them; 100257 is past MiniLM's 30522.
    response = httpx.post(
        f"{reference_server.v1}/embeddings",
        headers=reference_server.headers,
        json={"model": MODEL, "input": [[15339, 1917, 100257]]},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_token_id"
    assert "check_embedding_ctx_length=False" in error["message"]


def test_openai_embeddings_with_texts_match_the_server(reference_server: ServerProcess) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    embeddings = langchain_openai.OpenAIEmbeddings(
        model=MODEL,
        base_url=reference_server.v1,
        api_key=reference_server.api_key,
        check_embedding_ctx_length=False,  # send texts, not tiktoken ids: no tiktoken at all
        max_retries=0,
    )
    vectors = embeddings.embed_documents(["The cat sat on the mat.", "Stocks fell."])
    direct = httpx.post(
        f"{reference_server.v1}/embeddings",
        headers=reference_server.headers,
        json={"model": MODEL, "input": ["The cat sat on the mat.", "Stocks fell."]},
    ).json()["data"]
    assert len(vectors) == 2
    for got, want in zip(vectors, direct, strict=True):
        assert got == pytest.approx(want["embedding"], abs=1e-5)
