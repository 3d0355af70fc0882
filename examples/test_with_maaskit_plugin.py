"""Testing an app with maaskit's pytest plugin, as a user would.

    pip install "maaskit[server,testing]"
    pytest examples/test_with_maaskit_plugin.py      # the plugin loads through its entry point

(With plugin autoloading disabled: ``pytest -p maaskit.testing ...``.)

``maaskit_server`` is a real reference server (real models, faults scriptable per test);
``maaskit_mock`` answers like a provider without any server. The "app" below is a tiny
semantic search and a reply helper; the tests check it works, and keeps working when the
backend misbehaves.
"""

from __future__ import annotations

import math

import maaskit
import pytest
from maaskit.testing import MaaSKitMock, MaaSKitServer

EMBEDDING_MODEL = "all-minilm-l6-v2"


# -- the app under test ---------------------------------------------------------------------


def best_match(client: maaskit.Client, query: str, documents: list[str]) -> str:
    """The document closest in meaning to the query."""
    vectors = client.embed(model=EMBEDDING_MODEL, input=[query, *documents]).vectors
    query_vector, document_vectors = vectors[0], vectors[1:]

    def cosine(a: list[float], b: list[float]) -> float:
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))

    scores = [cosine(query_vector, vector) for vector in document_vectors]
    return documents[scores.index(max(scores))]


def polite_reply(client: maaskit.Client, question: str) -> str:
    """The model's answer, or an apology when the provider is rate limiting us."""
    try:
        return client.chat(model="assistant", messages=[{"role": "user", "content": question}]).text
    except maaskit.RateLimitError:
        return "Sorry, too busy right now."


DOCUMENTS = ["The cat sat on the mat.", "Stock markets fell sharply today.", "How to bake bread."]


# -- against the real server ----------------------------------------------------------------


def test_search_on_the_real_model(maaskit_server: MaaSKitServer) -> None:
    client = maaskit_server.client()
    assert best_match(client, "a kitten resting on a rug", DOCUMENTS) == DOCUMENTS[0]


def test_search_survives_two_503s(maaskit_server: MaaSKitServer) -> None:
    # The next two calls of the route fail; the SDK's retries must hide that from the app.
    maaskit_server.faults.add("status=503; retry_after=0", times=2, route="/v1/embeddings")
    client = maaskit_server.client()
    assert best_match(client, "recipes with flour and yeast", DOCUMENTS) == DOCUMENTS[2]
    assert maaskit_server.faults.injected() == {"status_503": 2}


def test_a_dropped_connection_is_retried_without_running_twice(
    maaskit_server: MaaSKitServer,
) -> None:
    before = maaskit_server.idempotency_stats()
    client = maaskit_server.client(default_headers={"X-MaaSKit-Fault": "reset=headers; times=1"})
    assert best_match(client, "finance news", DOCUMENTS) == DOCUMENTS[1]
    after = maaskit_server.idempotency_stats()
    assert after["executed"] - before["executed"] == 1  # the retry got the stored answer
    assert after["replayed"] - before["replayed"] == 1


def test_a_persistent_outage_reaches_the_app_as_a_typed_error(
    maaskit_server: MaaSKitServer,
) -> None:
    client = maaskit_server.client(
        default_headers={"X-MaaSKit-Fault": "status=502; retry_after=0"}, max_retries=1
    )
    with pytest.raises(maaskit.ServerError) as caught:
        best_match(client, "anything", DOCUMENTS)
    assert caught.value.status_code == 502
    assert caught.value.attempts == 2


# -- against the mock -------------------------------------------------------------------------


def test_reply_with_the_mock(maaskit_mock: MaaSKitMock) -> None:
    route = maaskit_mock.openai.chat(reply="Paris.")
    assert polite_reply(maaskit_mock.client(), "Capital of France?") == "Paris."
    assert route.call_count == 1
    assert maaskit_mock.last_json()["messages"][0]["content"] == "Capital of France?"


def test_reply_when_rate_limited_for_good(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.chat(status=429, retry_after=1)
    assert polite_reply(maaskit_mock.client(), "Hello?") == "Sorry, too busy right now."
    assert maaskit_mock.sleeps == [1.0, 1.0]  # two retries, each honouring Retry-After


def test_reply_after_a_transient_rate_limit(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.chat(reply="Here you go.", errors=[429])
    assert polite_reply(maaskit_mock.client(), "Hello?") == "Here you go."
