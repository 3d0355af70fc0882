"""Bad input fails at the call, with a clear ValueError/TypeError, before any request."""

from __future__ import annotations

from typing import Any

import maaskit
import pytest
import respx

from .conftest import BASE_URL, Harness

GOOD = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("method", "kwargs", "error", "match"),
    [
        ("chat", {"model": "m", "messages": []}, ValueError, "messages must not be empty"),
        ("chat", {"model": "m", "messages": "hi"}, TypeError, "messages must be a list"),
        ("chat", {"model": "m", "messages": ["hi"]}, TypeError, r"messages\[0\]"),
        ("chat", {"model": "m", "messages": [{"content": "x"}]}, ValueError, "'role'"),
        (
            "chat",
            {"model": "m", "messages": [{"role": "user", "content": 3}]},
            TypeError,
            "content",
        ),
        ("chat", {"model": "", "messages": GOOD}, ValueError, "model must not be empty"),
        ("chat", {"model": 7, "messages": GOOD}, TypeError, "model must be a str"),
        ("chat", {"model": "m", "messages": GOOD, "stream": "yes"}, TypeError, "stream"),
        ("complete", {"model": "m", "prompt": ""}, ValueError, "prompt must not be empty"),
        ("complete", {"model": "m", "prompt": [1]}, TypeError, r"prompt\[0\]"),
        ("embed", {"model": "e", "input": []}, ValueError, "input must not be empty"),
        ("embed", {"model": "e", "input": ["ok", 2]}, TypeError, r"input\[1\] must be a str"),
        ("embed", {"model": "e", "input": ["ok", ""]}, ValueError, r"input\[1\]"),
        ("embed", {"model": "e", "input": None}, TypeError, "input must be a str or a list"),
        ("classify", {"model": "c", "input": b"bytes"}, TypeError, "input must be a str"),
        ("classify", {"model": "c", "input": [None]}, TypeError, r"input\[0\]"),
    ],
)
async def test_bad_call_arguments_fail_before_any_request(
    harness: Harness,
    respx_mock: respx.MockRouter,
    method: str,
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    client = harness.client()

    with pytest.raises(error, match=match):
        await harness.call(getattr(client, method), **kwargs)

    assert respx_mock.calls.call_count == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"provider": "nope"},
            ValueError,
            "unknown provider 'nope'; available: hf, kserve, ollama, openai",
        ),
        ({"provider": "HF"}, ValueError, "unknown provider 'HF'"),
        ({"provider": 3}, TypeError, "provider must be"),
        ({"base_url": "maas.test/v1"}, ValueError, "absolute http:// or https:// URL"),
        ({"base_url": "ftp://maas.test/v1"}, ValueError, "absolute http"),
        ({"base_url": 5}, TypeError, "base_url must be a str"),
        ({"max_retries": -1}, ValueError, "max_retries must be >= 0"),
        ({"max_retries": 1.5}, TypeError, "max_retries must be an int"),
        ({"timeout": -3}, ValueError, "must be > 0"),
        ({"timeout": "10"}, TypeError, "timeout must be a number"),
        ({"default_headers": {"x": 1}}, TypeError, "default_headers"),
        ({"api_key": 123}, TypeError, "API key must be"),
        ({"auth": "token"}, TypeError, "auth must be an httpx.Auth"),
        ({"on_attempt": "log"}, TypeError, "on_attempt must be callable"),
        (
            {"api_key": "k", "auth": maaskit.HeaderAuth("api-key", "k2")},
            ValueError,
            "either api_key= or auth=",
        ),
    ],
)
@pytest.mark.parametrize("client_type", [maaskit.Client, maaskit.AsyncClient])
def test_bad_client_settings(
    client_type: type[Any], kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    kwargs = {"base_url": BASE_URL, **kwargs}
    with pytest.raises(error, match=match):
        client_type(**kwargs)


def test_wrong_http_client_kind() -> None:
    import httpx

    with pytest.raises(TypeError, match=r"httpx\.AsyncClient"):
        maaskit.AsyncClient(base_url=BASE_URL, http_client=httpx.Client())  # type: ignore[arg-type]


@pytest.mark.parametrize("client_type", [maaskit.Client, maaskit.AsyncClient])
def test_a_client_whose_constructor_raised_still_has_a_repr(client_type: type[Any]) -> None:
    # Tracebacks and debuggers show the half-built object; its repr must not raise in turn.
    half_built = object.__new__(client_type)
    assert repr(half_built) == f"<{client_type.__name__} (not constructed)>"


async def test_unserializable_params_fail_before_any_request(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    client = harness.client()

    with pytest.raises(TypeError, match="not JSON-serializable"):
        await harness.call(
            client.chat, model="m", messages=GOOD, provider_params={"temperature": object()}
        )

    assert respx_mock.calls.call_count == 0


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
async def test_params_json_cannot_carry_fail_before_any_request(
    harness: Harness, respx_mock: respx.MockRouter, value: float
) -> None:
    client = harness.client()

    with pytest.raises(TypeError, match="not JSON-serializable"):
        await harness.call(
            client.chat, model="m", messages=GOOD, provider_params={"temperature": value}
        )

    assert respx_mock.calls.call_count == 0
