"""The SDK's ``kserve`` provider against the real server's ``/v2`` routes: the same answers as
the ``openai`` provider on the same models."""

from __future__ import annotations

import pytest
from _support.server import ServerProcess
from conformance._helpers import EMBEDDING_MODEL, GENERATION_MODEL, PROMPT, SENTIMENT_MODEL, TEXTS
from conformance._sdk_reference import (
    GREEDY,
    assert_same_classes,
    assert_same_vectors,
    openai_classify,
    openai_complete_text,
    openai_embed,
)
from maaskit import BadRequestError, Client, NotFoundError
from maaskit.providers.kserve import KServeProvider

from ._helpers import require_model

pytestmark = pytest.mark.e2e


def kserve(server: ServerProcess, *, binary_output: bool = False) -> Client:
    return Client(
        provider=KServeProvider(binary_output=binary_output),
        base_url=server.base_url,
        api_key=server.api_key,
        max_retries=0,
    )


@pytest.mark.parametrize("binary_output", [False, True], ids=["json", "binary"])
def test_embed_equals_openai(reference_server: ServerProcess, binary_output: bool) -> None:
    with kserve(reference_server, binary_output=binary_output) as client:
        got = client.embed(model=EMBEDDING_MODEL, input=TEXTS)
    assert_same_vectors(got, openai_embed(reference_server, EMBEDDING_MODEL, TEXTS))


@pytest.mark.parametrize("binary_output", [False, True], ids=["json", "binary"])
def test_classify_equals_openai(reference_server: ServerProcess, binary_output: bool) -> None:
    require_model(reference_server, SENTIMENT_MODEL)
    with kserve(reference_server, binary_output=binary_output) as client:
        got = client.classify(model=SENTIMENT_MODEL, input=TEXTS)
    assert_same_classes(got, openai_classify(reference_server, SENTIMENT_MODEL, TEXTS))


def test_complete_and_stream_equal_openai_greedy_text(reference_server: ServerProcess) -> None:
    require_model(reference_server, GENERATION_MODEL)
    expected = openai_complete_text(reference_server, GENERATION_MODEL)
    with kserve(reference_server) as client:
        assert client.complete(model=GENERATION_MODEL, prompt=PROMPT, **GREEDY).text == expected
        chunks = list(client.complete(model=GENERATION_MODEL, prompt=PROMPT, stream=True, **GREEDY))
    assert len(chunks) >= 1
    assert "".join(chunk.text for chunk in chunks) == expected


def test_models_lists_the_repository(reference_server: ServerProcess) -> None:
    with kserve(reference_server) as client:
        models = {info.id: info.raw for info in client.models()}
    assert models[EMBEDDING_MODEL] == {"name": EMBEDDING_MODEL, "version": "1", "state": "READY"}


def test_errors_are_typed(reference_server: ServerProcess) -> None:
    with kserve(reference_server) as client:
        with pytest.raises(NotFoundError, match="no-such-model"):
            client.embed(model="no-such-model", input=TEXTS)
        with pytest.raises(BadRequestError, match="text-generation"):
            client.complete(model=EMBEDDING_MODEL, prompt=PROMPT)
        assert len(client.embed(model=EMBEDDING_MODEL, input=["ok"]).vectors) == 1
