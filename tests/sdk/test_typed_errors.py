"""Client-side refusals are typed errors under ``MaaSError`` (defect 5 of issue #16: empty input,
empty messages and a closed client raised bare ``ValueError``/``RuntimeError``)."""

from __future__ import annotations

from typing import Any

import maaskit
import pytest
import respx

from .conftest import Harness

GOOD = [{"role": "user", "content": "hi"}]


def test_the_errors_are_exported_from_the_root_and_in_the_tree() -> None:
    assert issubclass(maaskit.InvalidRequestError, maaskit.MaaSError)
    assert issubclass(maaskit.InvalidRequestError, ValueError)
    assert issubclass(maaskit.InvalidRequestTypeError, maaskit.InvalidRequestError)
    assert issubclass(maaskit.InvalidRequestTypeError, TypeError)
    assert issubclass(maaskit.ClientClosedError, maaskit.MaaSError)
    assert issubclass(maaskit.ClientClosedError, RuntimeError)
    assert issubclass(maaskit.OutputValidationError, maaskit.MaaSError)
    assert not issubclass(maaskit.InvalidRequestError, maaskit.APIError)


@pytest.mark.parametrize(
    ("method", "kwargs", "error"),
    [
        ("chat", {"messages": []}, maaskit.InvalidRequestError),
        ("chat", {"messages": "hi"}, maaskit.InvalidRequestTypeError),
        ("chat", {"messages": [{"role": "tool", "content": "42"}]}, maaskit.InvalidRequestError),
        ("chat", {"messages": GOOD, "tags": {"a": 1}}, maaskit.InvalidRequestTypeError),
        ("complete", {"prompt": ""}, maaskit.InvalidRequestError),
        ("embed", {"input": []}, maaskit.InvalidRequestError),
        ("embed", {"input": [""]}, maaskit.InvalidRequestError),
        ("classify", {"input": None}, maaskit.InvalidRequestTypeError),
    ],
)
async def test_bad_arguments_raise_typed_errors(
    harness: Harness,
    respx_mock: respx.MockRouter,
    method: str,
    kwargs: dict[str, Any],
    error: type[Exception],
) -> None:
    client = harness.client()

    with pytest.raises(error) as caught:
        await harness.call(getattr(client, method), model="m", **kwargs)

    assert type(caught.value) is error
    assert respx_mock.calls.call_count == 0


async def test_a_tool_message_without_its_call_id_is_refused(harness: Harness) -> None:
    client = harness.client()
    with pytest.raises(maaskit.InvalidRequestError, match="tool_call_id"):
        await harness.call(client.chat, model="m", messages=[{"role": "tool", "content": "42"}])


@pytest.mark.parametrize("method", ["chat", "complete", "embed", "classify"])
async def test_a_closed_client_raises_client_closed_error(
    harness: Harness, respx_mock: respx.MockRouter, method: str
) -> None:
    client = harness.client()
    if harness.is_async:
        await client.aclose()
    else:
        client.close()
    arguments: dict[str, dict[str, Any]] = {
        "chat": {"messages": GOOD},
        "complete": {"prompt": "p"},
        "embed": {"input": "a"},
        "classify": {"input": "a"},
    }
    kwargs = arguments[method]

    with pytest.raises(maaskit.ClientClosedError, match="is closed"):
        await harness.call(getattr(client, method), model="m", **kwargs)

    assert respx_mock.calls.call_count == 0


async def test_ollama_refusals_are_typed(harness: Harness, respx_mock: respx.MockRouter) -> None:
    client = harness.client(provider="ollama", base_url="http://ollama.test")

    with pytest.raises(maaskit.InvalidRequestError, match="n must be 1"):
        await harness.call(client.chat, model="m", messages=GOOD, n=2)
    assert respx_mock.calls.call_count == 0
