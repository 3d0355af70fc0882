"""A provider that cannot express a request (the kserve and hf generation protocols take one
text per call, so ``n=2`` is theirs to refuse) is skipped like an incapable endpoint: the call
goes on to the next endpoint without spending an attempt, and only when every candidate
refuses does the caller get the provider's words, as a typed error. Sync and async."""

from __future__ import annotations

from typing import Any

import maaskit
import pytest
import respx

from .conftest import Harness
from .test_router import endpoint, router, url

COMPLETION = {
    "id": "cmpl-1",
    "object": "text_completion",
    "created": 1,
    "model": "m",
    "choices": [
        {"index": 0, "text": "one", "finish_reason": "stop", "logprobs": None},
        {"index": 1, "text": "two", "finish_reason": "stop", "logprobs": None},
    ],
}


def kserve(name: str) -> maaskit.Endpoint:
    return endpoint(name, provider="kserve", base_url=f"http://{name}.test")


async def test_an_endpoint_that_cannot_express_the_request_is_skipped_without_an_attempt(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    refused = respx_mock.route(host="k.test")
    served = respx_mock.post(f"{url('o')}/completions").respond(200, json=COMPLETION)
    client = router(harness, [kserve("k"), endpoint("o")], max_retries=0)

    answer: Any = await harness.call(client.complete, model="m", prompt="p", n=2)

    assert answer.texts == ["one", "two"]
    assert (refused.call_count, served.call_count) == (0, 1)
    assert answer.response.endpoint == "o"
    assert answer.response.attempts == 1  # max_retries=0: the skip spent nothing
    usage = {entry.endpoint: entry for entry in client.usage().entries}
    assert "k" not in usage  # nothing was sent there, so nothing is booked there


async def test_when_every_endpoint_refuses_the_caller_gets_the_providers_words_typed(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    anything = respx_mock.route()
    client = router(harness, [kserve("k1"), kserve("k2")])

    with pytest.raises(maaskit.InvalidRequestError, match="n must be 1") as caught:
        await harness.call(client.complete, model="m", prompt="p", n=2)

    assert isinstance(caught.value, ValueError)  # code written against ValueError still works
    assert anything.call_count == 0


async def test_a_one_endpoint_client_raises_the_typed_refusal_and_sends_nothing(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    anything = respx_mock.route()
    client = harness.client(provider="kserve", base_url="http://k.test")

    with pytest.raises(maaskit.InvalidRequestError, match="one prompt per call"):
        await harness.call(client.complete, model="m", prompt=["a", "b"])

    assert anything.call_count == 0


async def test_a_refusal_and_an_open_breaker_name_both_reasons(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    down = respx_mock.post(f"{url('o')}/completions").respond(503)
    client = router(
        harness,
        [kserve("k"), endpoint("o")],
        breaker=maaskit.BreakerPolicy(failure_threshold=1),
        max_retries=0,
    )
    with pytest.raises(maaskit.ServerError):
        await harness.call(client.complete, model="m", prompt="p", n=2)
    assert down.call_count == 1

    with pytest.raises(maaskit.NoEndpointAvailable) as caught:
        await harness.call(client.complete, model="m", prompt="p", n=2)

    assert down.call_count == 1
    assert "n must be 1" in caught.value.skipped["k"]
    assert "circuit open" in caught.value.skipped["o"]


async def test_a_body_json_cannot_carry_is_a_typed_error_before_sending(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    anything = respx_mock.route()
    client = harness.client()

    with pytest.raises(maaskit.InvalidRequestTypeError, match="not JSON-serializable"):
        await harness.call(
            client.chat,
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"opaque": object()},
        )

    assert anything.call_count == 0


@pytest.mark.parametrize(
    ("call", "kwargs", "error", "words"),
    [
        ("infer", {"inputs": {"x": [[1, 2], [3]]}}, maaskit.InvalidRequestError, "rectangular"),
        ("infer", {"inputs": {"x": [1, "a"]}}, maaskit.InvalidRequestTypeError, "mixes element"),
        ("infer", {"inputs": {}}, maaskit.InvalidRequestError, "must not be empty"),
        ("infer", {"inputs": {"x": [1]}, "outputs": "y"}, maaskit.InvalidRequestTypeError, "list"),
        ("rerank", {"query": "q", "documents": ["d"], "top_n": 0},
         maaskit.InvalidRequestError, "top_n"),
        ("chat", {"messages": [{"role": "user", "content": "hi"}], "max_retries": "2"},
         maaskit.InvalidRequestTypeError, "max_retries"),
    ],
)  # fmt: skip
async def test_client_side_refusals_of_the_other_calls_are_typed_and_send_nothing(
    harness: Harness,
    respx_mock: respx.MockRouter,
    call: str,
    kwargs: dict[str, Any],
    error: type[maaskit.MaaSError],
    words: str,
) -> None:
    anything = respx_mock.route()
    provider = "kserve" if call == "infer" else "openai"
    client = harness.client(provider=provider, base_url="http://127.0.0.1:9")

    with pytest.raises(error, match=words):
        await harness.call(getattr(client, call), model="m", **kwargs)

    assert anything.call_count == 0
