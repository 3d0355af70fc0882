"""``maaskit_mock``: each provider's mock answers what the SDK's provider parses, streams follow
the request, scripted errors drive the SDK's retries, and requests are recorded."""

from __future__ import annotations

import base64
import struct

import httpx
import maaskit
import pytest
from maaskit.testing import MaaSKitMock
from maaskit.testing._mock_bodies import fake_vector
from maaskit.testing._mock_ranking import cosine

MESSAGES = [{"role": "user", "content": "hi"}]


def test_openai_chat_answers_the_reply_and_records_the_request(
    maaskit_mock: MaaSKitMock,
) -> None:
    route = maaskit_mock.openai.chat(reply="Hello there")
    answer = maaskit_mock.client().chat(model="m", messages=MESSAGES, max_tokens=5)
    assert answer.text == "Hello there"
    assert answer.finish_reason == "stop"
    assert route.call_count == 1
    assert maaskit_mock.last_json() == {"model": "m", "messages": MESSAGES, "max_tokens": 5}
    assert maaskit_mock.requests[0].headers["authorization"] == "Bearer maaskit-mock-key"


def test_openai_chat_streams_when_asked(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.chat(reply="to be or not")
    with maaskit_mock.client().chat(model="m", messages=MESSAGES, stream=True) as stream:
        pieces = [chunk.text for chunk in stream]
    assert "".join(pieces) == "to be or not"
    assert pieces[1:4] == ["to", " be", " or"]


def test_openai_stream_error_keeps_the_partial_text(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.chat(reply="one two three", stream_error_after=2)
    with pytest.raises(maaskit.ServerError) as caught:
        for _ in maaskit_mock.client().chat(model="m", messages=MESSAGES, stream=True):
            pass
    assert caught.value.partial_text == "one two"


def test_scripted_errors_are_retried_with_the_recorded_waits(maaskit_mock: MaaSKitMock) -> None:
    route = maaskit_mock.openai.embeddings(dim=8, errors=[503, 429], retry_after=0.5)
    result = maaskit_mock.client().embed(model="m", input=["a", "b"])
    assert route.call_count == 3
    assert maaskit_mock.sleeps == [0.5, 0.5]
    assert result.vectors == [fake_vector("a", 8), fake_vector("b", 8)]


def test_a_permanent_status_raises_the_typed_error(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.chat(status=401)
    with pytest.raises(maaskit.AuthenticationError) as caught:
        maaskit_mock.client().chat(model="m", messages=MESSAGES)
    assert caught.value.provider_message == "mocked error 401"


def test_openai_embeddings_in_base64_decode_to_the_same_vectors(
    maaskit_mock: MaaSKitMock,
) -> None:
    maaskit_mock.openai.embeddings(dim=4)
    response = httpx.post(
        f"{maaskit_mock.openai.base_url}/embeddings",
        json={"model": "m", "input": ["x"], "encoding_format": "base64"},
    )
    raw = base64.b64decode(response.json()["data"][0]["embedding"])
    assert list(struct.unpack("<4f", raw)) == pytest.approx(fake_vector("x", 4))


def test_openai_classify_puts_the_chosen_label_first(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.classify(label="neutral")
    result = maaskit_mock.client().classify(model="m", input=["meh", "ok"]).results
    assert [item.label for item in result] == ["neutral", "neutral"]
    assert result[0].scores == pytest.approx({"negative": 0.1, "neutral": 0.8, "positive": 0.1})


async def test_async_client_on_the_mock(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.chat(reply="async hi", errors=[500])
    async with maaskit_mock.async_client() as client:
        answer = await client.chat(model="m", messages=MESSAGES)
    assert answer.text == "async hi"
    assert len(maaskit_mock.sleeps) == 1


def test_hf_classify_and_embeddings(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.hf.classify("sentiment", label="positive")
    maaskit_mock.hf.embeddings("minilm", dim=16)
    client = maaskit_mock.client("hf")
    labels = client.classify(model="sentiment", input=["great"]).results[0]
    assert labels.label == "positive"
    assert labels.score == pytest.approx(0.8)
    assert client.embed(model="minilm", input=["v"]).vectors == [
        pytest.approx(fake_vector("v", 16))
    ]
    assert maaskit_mock.requests[0].url.path == "/hf/models/sentiment"


def test_hf_generate_and_its_stream(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.hf.generate("lm", reply="once upon a time")
    client = maaskit_mock.client("hf")
    assert client.complete(model="lm", prompt="p").text == "once upon a time"
    with client.complete(model="lm", prompt="p", stream=True) as stream:
        assert "".join(chunk.text for chunk in stream) == "once upon a time"


def test_kserve_classify_embeddings_and_generate(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.kserve.classify("sentiment", label="negative")
    maaskit_mock.kserve.embeddings("minilm", dim=3)
    maaskit_mock.kserve.generate("lm", reply="hello world")
    client = maaskit_mock.client("kserve")
    results = client.classify(model="sentiment", input=["bad", "worse"]).results
    assert [item.label for item in results] == ["negative", "negative"]
    vectors = client.embed(model="minilm", input=["a", "b"]).vectors
    assert vectors == [pytest.approx(fake_vector("a", 3)), pytest.approx(fake_vector("b", 3))]
    assert client.complete(model="lm", prompt="p").text == "hello world"
    tensor = maaskit_mock.requests[0].read()
    assert b'"datatype":"BYTES"' in tensor.replace(b" ", b"")


def test_ollama_chat_stream_embeddings_and_models(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.ollama.chat(reply="ndjson reply")
    maaskit_mock.ollama.embeddings(dim=5)
    maaskit_mock.ollama.models(["llama", "minilm"])
    client = maaskit_mock.client("ollama")
    answer = client.chat(model="llama", messages=MESSAGES)
    assert answer.text == "ndjson reply"
    with client.chat(model="llama", messages=MESSAGES, stream=True) as stream:
        chunks = list(stream)
    assert "".join(chunk.text for chunk in chunks) == "ndjson reply"
    assert chunks[-1].finish_reason == "stop"
    assert client.embed(model="minilm", input=["e"]).vectors == [pytest.approx(fake_vector("e", 5))]
    assert [model.id for model in client.models()] == ["llama", "minilm"]


def test_ollama_errors_use_its_error_shape(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.ollama.chat(status=404)
    with pytest.raises(maaskit.NotFoundError) as caught:
        maaskit_mock.client("ollama").chat(model="missing", messages=MESSAGES)
    assert caught.value.provider_message == "mocked error 404"


def test_other_hosts_are_not_mocked(maaskit_mock: MaaSKitMock) -> None:
    # Nothing listens there: a real connection attempt fails, not a respx "not mocked" error.
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://127.0.0.1:9/", timeout=2)
    assert maaskit_mock.requests == []


def test_rerank_and_score_mocks_rank_by_the_mocked_embeddings(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.rerank()
    maaskit_mock.openai.score()
    documents = ["cat", "a query", "dog"]
    client = maaskit_mock.client()
    ranked = client.rerank(model="m", query="a query", documents=documents, top_n=2)
    expected = sorted(range(3), key=lambda i: -cosine("a query", documents[i]))[:2]
    assert ranked.indices == expected
    assert ranked.indices[0] == 1  # the same text scores 1.0
    assert ranked.scores[0] == pytest.approx(1.0)
    similar = client.similarity(model="m", source="a query", sentences=documents)
    assert similar.scores == pytest.approx([cosine("a query", d) for d in documents])


def test_hf_rerank_and_similarity_mocks(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.hf.rerank(model="bge")
    maaskit_mock.hf.similarity(model="bge")
    client = maaskit_mock.client("hf")
    ranked = client.rerank(model="bge", query="x", documents=["y", "x"])
    assert ranked.indices == [1, 0]
    assert ranked.results[0].document == "x"
    assert client.similarity(model="bge", source="x", sentences=["x"]).scores == pytest.approx(
        [1.0]
    )


def test_kserve_infer_mock_answers_the_outputs_asked_for(maaskit_mock: MaaSKitMock) -> None:
    outputs = [
        {"name": "predict", "datatype": "INT64", "shape": [1, 1], "data": [2]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [1, 3], "data": [0.1, 0.2, 0.7]},
    ]
    route = maaskit_mock.kserve.infer(model="iris", outputs=outputs)
    client = maaskit_mock.client("kserve")
    inputs = {"predict": [[5.1, 3.5, 1.4, 0.2]]}
    answer = client.infer(model="iris", inputs=inputs, outputs=["predict_proba"])
    assert answer.names == ["predict_proba"]
    assert answer["predict_proba"].data == [0.1, 0.2, 0.7]
    assert maaskit_mock.last_json()["inputs"][0]["datatype"] == "FP32"
    assert client.infer(model="iris", inputs=inputs).names == ["predict", "predict_proba"]
    with pytest.raises(maaskit.BadRequestError, match="unknown output 'nope'"):
        client.infer(model="iris", inputs=inputs, outputs=["nope"])
    assert route.call_count == 3
