"""The hf provider (Inference API, TGI, TEI): classification, embeddings, chat, models,
errors and the loading-model retry, through the real transports, sync and async."""

from __future__ import annotations

from typing import Any

import httpx
import maaskit
import pytest
import respx
from maaskit.providers import HFProvider

from ..conftest import Harness, chat_body, chunk_event, sse
from ._util import sent_json, streamed

BASE = "http://hf.test/models/sentiment"
PREFIX = "http://hf.test/models"


def client(harness: Harness, **options: Any) -> Any:
    options.setdefault("base_url", BASE)
    options.setdefault("provider", "hf")
    return harness.client(**options)


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


# -- classification ------------------------------------------------------------------------


async def test_classify_posts_inference_payload_to_the_base_url(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    answer = [
        [{"label": "positive", "score": 0.9}, {"label": "negative", "score": 0.1}],
        [{"label": "negative", "score": 0.7}, {"label": "positive", "score": 0.3}],
    ]
    route = respx_mock.post(BASE).respond(200, json=answer)

    response = await harness.call(
        client(harness).classify,
        model="sentiment",
        input=["good", "bad"],
        provider_params={"top_k": 2},
    )

    assert str(route.calls[0].request.url) == BASE
    assert sent_json(route) == {"inputs": ["good", "bad"], "parameters": {"top_k": 2}}
    assert [r.label for r in response.results] == ["positive", "negative"]
    assert response.results[1].score == 0.7
    assert response.results[1].scores == {"negative": 0.7, "positive": 0.3}
    assert response.raw == answer


async def test_classify_accepts_a_flat_list_as_one_input(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(BASE).respond(
        200, json=[{"label": "neutral", "score": 0.2}, {"label": "positive", "score": 0.8}]
    )

    response = await harness.call(client(harness).classify, model="sentiment", input="ok")

    assert sent_json(route) == {"inputs": ["ok"]}
    assert len(response.results) == 1
    assert response.results[0].label == "positive"
    assert response.results[0].scores == {"neutral": 0.2, "positive": 0.8}


async def test_classify_through_tei_predict(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{BASE}/predict").respond(
        200, json=[[{"score": 0.6, "label": "joy"}], [{"score": 0.8, "label": "anger"}]]
    )
    provider = HFProvider(classify_route="tei")

    response = await harness.call(
        client(harness, provider=provider).classify,
        model="m",
        input=["a", "b"],
        provider_params={"truncate": True},
    )

    # The batch form [[text], …]: a bare ["a", "b"] would be read by TEI as one sentence pair.
    assert sent_json(route) == {"inputs": [["a"], ["b"]], "truncate": True}
    assert [(r.label, r.score) for r in response.results] == [("joy", 0.6), ("anger", 0.8)]


# -- embeddings ----------------------------------------------------------------------------


async def test_embed_sentence_vectors(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(BASE).respond(200, json=[[0.1, 0.2, 0.3], [1, 2, 3]])

    response = await harness.call(client(harness).embed, model="e", input=["a", "b"])

    assert sent_json(route) == {"inputs": ["a", "b"]}
    assert response.vectors == [[0.1, 0.2, 0.3], [1.0, 2.0, 3.0]]


@pytest.mark.parametrize(
    "answer",
    [
        # Token vectors per input: [n, tokens, d].
        [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0]]],
        # A transformers pipeline's [n, 1, tokens, d].
        [[[[1.0, 2.0], [3.0, 4.0]]], [[[5.0, 6.0]]]],
    ],
)
async def test_embed_token_level_features_are_mean_pooled(
    harness: Harness, respx_mock: respx.MockRouter, answer: Any
) -> None:
    respx_mock.post(BASE).respond(200, json=answer)

    response = await harness.call(client(harness).embed, model="e", input=["a", "b"])

    assert response.vectors == [[2.0, 3.0], [5.0, 6.0]]


async def test_embed_through_tei(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{BASE}/embed").respond(200, json=[[0.5, 0.5]])
    provider = HFProvider(embed_route="tei")

    response = await harness.call(
        client(harness, provider=provider).embed,
        model="e",
        input="a",
        provider_params={"normalize": False},
    )

    assert sent_json(route) == {"inputs": ["a"], "normalize": False}
    assert response.vectors == [[0.5, 0.5]]


@pytest.mark.parametrize(
    "answer",
    [[], {"vectors": []}, [["x"]], [[[1.0], [2.0, 3.0]]], [[True, False]]],
)
async def test_malformed_features_are_a_validation_error(
    harness: Harness, respx_mock: respx.MockRouter, answer: Any
) -> None:
    respx_mock.post(BASE).respond(200, json=answer)

    with pytest.raises(maaskit.ResponseValidationError, match="embed"):
        await harness.call(client(harness).embed, model="e", input="a")


# -- chat and models -----------------------------------------------------------------------


async def test_chat_uses_tgi_openai_route(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{BASE}/v1/chat/completions").respond(200, json=chat_body("hey"))

    response = await harness.call(
        client(harness).chat, model="tgi", messages=[{"role": "user", "content": "hi"}], seed=1
    )

    assert sent_json(route) == {
        "model": "tgi",
        "messages": [{"role": "user", "content": "hi"}],
        "seed": 1,
    }
    assert response.text == "hey"


async def test_chat_stream(harness: Harness, respx_mock: respx.MockRouter) -> None:
    body = sse(chunk_event("a"), chunk_event("b", "stop"), "[DONE]")
    respx_mock.post(f"{BASE}/v1/chat/completions").mock(return_value=streamed([body]))

    stream = await harness.call(
        client(harness).chat, model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    )

    assert [c.text for c in await harness.collect(stream)] == ["a", "b"]


async def test_models_from_info(harness: Harness, respx_mock: respx.MockRouter) -> None:
    respx_mock.get(f"{BASE}/info").respond(
        200, json={"model_id": "bigscience/bloom-560m", "max_input_tokens": 1024}
    )

    models = await harness.call(client(harness).models)

    assert [m.id for m in models] == ["bigscience/bloom-560m"]
    assert models[0].raw["max_input_tokens"] == 1024


async def test_model_in_path_puts_the_model_after_the_prefix(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    classify = respx_mock.post(f"{PREFIX}/org/sentiment").respond(
        200, json=[[{"label": "positive", "score": 1.0}]]
    )
    generate = respx_mock.post(f"{PREFIX}/tiny/generate").respond(200, json={"generated_text": "t"})
    c = client(harness, base_url=PREFIX, provider=HFProvider(model_in_path=True))

    await harness.call(c.classify, model="org/sentiment", input="x")
    await harness.call(c.complete, model="tiny", prompt="p")

    assert classify.call_count == 1
    assert generate.call_count == 1
    # A prefix has no /info of its own: refused before any request.
    with pytest.raises(NotImplementedError, match="no 'models' task"):
        await harness.call(c.models)
    assert respx_mock.calls.call_count == 2


# -- errors and retries --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (
            422,
            {
                "error": "Input validation error: `inputs` must not be empty",
                "error_type": "validation",
            },
            maaskit.UnprocessableEntityError,
            "Input validation error: `inputs` must not be empty",
        ),
        (
            400,
            {"error": ["Error in `parameters`: bad top_k", "Error in `inputs`: too long"]},
            maaskit.BadRequestError,
            "Error in `parameters`: bad top_k; Error in `inputs`: too long",
        ),
        (404, {"error": "Model org/x does not exist"}, maaskit.NotFoundError, "does not exist"),
    ],
)
async def test_error_bodies_become_typed_errors(
    harness: Harness,
    respx_mock: respx.MockRouter,
    status: int,
    body: Any,
    error: type[maaskit.APIStatusError],
    message: str,
) -> None:
    respx_mock.post(f"{BASE}/generate").respond(status, json=body)

    with pytest.raises(error) as caught:
        await harness.call(client(harness).complete, model="m", prompt="p")

    assert caught.value.status_code == status
    assert message in (caught.value.provider_message or "")


async def test_loading_model_503_is_retried_after_its_estimated_time(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    loading = {"error": "Model org/x is currently loading", "estimated_time": 20.0}
    route = respx_mock.post(BASE).mock(
        side_effect=[
            reply(503, loading),
            reply(503, {**loading, "estimated_time": 3.5}),
            reply(200, [[{"label": "positive", "score": 1.0}]]),
        ]
    )

    response = await harness.call(client(harness, max_retries=2).classify, model="m", input="x")

    assert response.results[0].label == "positive"
    assert route.call_count == 3
    assert harness.sleeps == [20.0, 3.5]


async def test_estimated_time_is_capped_and_retry_after_header_wins(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    loading = {"error": "Model org/x is currently loading", "estimated_time": 500.0}
    respx_mock.post(BASE).mock(
        side_effect=[
            reply(503, loading),
            reply(503, loading, headers={"retry-after": "2"}),
            reply(503, loading),
        ]
    )
    policy = maaskit.RetryPolicy(max_retries=2, max_retry_after=30.0, jitter=lambda: 1.0)

    with pytest.raises(maaskit.ServerError) as caught:
        await harness.call(client(harness, retry_policy=policy).embed, model="m", input="x")

    assert harness.sleeps == [30.0, 2.0]
    assert caught.value.retry_hint == 500.0
    assert caught.value.provider_message == "Model org/x is currently loading"


@pytest.mark.parametrize(
    ("method", "kwargs", "error", "match"),
    [
        ("complete", {"prompt": ["a", "b"]}, ValueError, "one prompt per call"),
        ("complete", {"prompt": "a", "n": 3}, ValueError, "n must be 1"),
        ("complete", {"prompt": "a", "stop": 5}, TypeError, "stop must be"),
    ],
)
async def test_bad_calls_fail_before_any_request(
    harness: Harness,
    respx_mock: respx.MockRouter,
    method: str,
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        await harness.call(getattr(client(harness), method), model="m", **kwargs)

    assert respx_mock.calls.call_count == 0


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"classify_route": "tgi"}, ValueError),
        ({"embed_route": "openai"}, ValueError),
        ({"complete_route": "tei"}, ValueError),
        ({"model_in_path": "yes"}, TypeError),
    ],
)
def test_bad_provider_options(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        HFProvider(**options)
