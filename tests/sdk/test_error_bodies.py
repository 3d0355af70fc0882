"""Every error-body shape the four protocols use gives a readable message on the typed error.

Bodies are the shapes the real servers send: OpenAI/vLLM, TGI, TEI, KServe/Triton, MLServer
(FastAPI's 422 list of ``detail`` objects), Ollama, and plain text with a traceback.
"""

from __future__ import annotations

from typing import Any

import maaskit
import pytest
import respx
from maaskit.providers import HFProvider, KServeProvider, OllamaProvider, OpenAIProvider, Provider
from maaskit.providers._parsing import last_lines, text_of_body

from .conftest import Harness

BASE = "http://maas.test"

# (provider, route the call goes to, how to call it)
OPENAI = (OpenAIProvider(), "/embeddings", "embed")
HF_TEI = (HFProvider(embed_route="tei"), "/embed", "embed")
TGI = (HFProvider(), "/generate", "complete")
KSERVE = (KServeProvider(), "/v2/models/m/infer", "embed")
OLLAMA = (OllamaProvider(), "/api/embed", "embed")


async def _error(
    harness: Harness,
    target: tuple[Provider, str, str],
    status: int,
    respx_mock: respx.MockRouter,
    **body: Any,
) -> maaskit.APIStatusError:
    provider, path, method = target
    respx_mock.post(f"{BASE}{path}").respond(status, **body)
    client = harness.client(provider=provider, base_url=BASE, max_retries=0)
    kwargs: dict[str, Any] = {"model": "m"}
    if method == "complete":
        kwargs["prompt"] = "p"
    else:
        kwargs["input"] = ["x"]
    with pytest.raises(maaskit.APIStatusError) as caught:
        await harness.call(getattr(client, method), **kwargs)
    return caught.value


async def test_openai_error_object_with_type_code_and_param(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    body = {
        "error": {
            "message": "This model's maximum context length is 512 tokens.",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
            "param": "input",
        }
    }
    error = await _error(harness, OPENAI, 400, respx_mock, json=body)
    assert isinstance(error, maaskit.BadRequestError)
    assert error.provider_message == "This model's maximum context length is 512 tokens."
    assert error.message == (
        "HTTP 400: This model's maximum context length is 512 tokens. (type: "
        "invalid_request_error, code: context_length_exceeded, param: input)"
    )
    # The fields themselves, under the official openai client's attribute names.
    assert (error.type, error.code, error.param) == (
        "invalid_request_error",
        "context_length_exceeded",
        "input",
    )


@pytest.mark.parametrize("target", [TGI, HF_TEI], ids=["tgi", "tei"])
async def test_tgi_and_tei_error_with_error_type(
    harness: Harness, respx_mock: respx.MockRouter, target: tuple[Provider, str, str]
) -> None:
    body = {
        "error": "Input validation error: `inputs` must not be empty",
        "error_type": "Validation",
    }
    error = await _error(harness, target, 422, respx_mock, json=body)
    assert isinstance(error, maaskit.UnprocessableEntityError)
    assert error.provider_message == "Input validation error: `inputs` must not be empty"
    assert error.message.endswith("(error_type: Validation)")
    assert (error.type, error.code, error.param) == ("Validation", None, None)


@pytest.mark.parametrize("target", [KSERVE, OLLAMA], ids=["kserve", "ollama"])
async def test_error_string(
    harness: Harness, respx_mock: respx.MockRouter, target: tuple[Provider, str, str]
) -> None:
    error = await _error(
        harness, target, 400, respx_mock, json={"error": "unexpected inference input 'x'"}
    )
    assert error.provider_message == "unexpected inference input 'x'"
    assert error.message == "HTTP 400: unexpected inference input 'x'"
    assert (error.type, error.code, error.param) == (None, None, None)


@pytest.mark.parametrize("target", [KSERVE, OPENAI, HF_TEI], ids=["kserve", "openai", "tei"])
async def test_fastapi_422_detail_list_is_joined_with_locations(
    harness: Harness, respx_mock: respx.MockRouter, target: tuple[Provider, str, str]
) -> None:
    # MLServer (FastAPI + pydantic) answers a malformed infer body like this.
    body = {
        "detail": [
            {
                "loc": ["body", "inputs", 0, "datatype"],
                "msg": "field required",
                "type": "value_error.missing",
            },
            {
                "loc": ["body", "inputs", 0, "shape"],
                "msg": "value is not a valid list",
                "type": "type_error.list",
            },
        ]
    }
    error = await _error(harness, target, 422, respx_mock, json=body)
    assert isinstance(error, maaskit.UnprocessableEntityError)
    assert error.provider_message == (
        "body.inputs.0.datatype: field required; body.inputs.0.shape: value is not a valid list"
    )
    assert "HTTP 422: body.inputs.0.datatype: field required" in str(error)


async def test_fastapi_detail_string(harness: Harness, respx_mock: respx.MockRouter) -> None:
    error = await _error(harness, KSERVE, 404, respx_mock, json={"detail": "Not Found"})
    assert error.provider_message == "Not Found"


async def test_inference_api_error_list(harness: Harness, respx_mock: respx.MockRouter) -> None:
    body = {"error": ["Input should be a valid string", "Field required"]}
    error = await _error(harness, HF_TEI, 400, respx_mock, json=body)
    assert error.provider_message == "Input should be a valid string; Field required"


TRACEBACK = "\n".join(
    ["Traceback (most recent call last):"]
    + [
        f'  File "/srv/app/module_{i}.py", line {i}, in handler_{i}\n    do_step_{i}()'
        for i in range(60)
    ]
    + ["RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"]
)


@pytest.mark.parametrize(
    "target", [OPENAI, KSERVE, OLLAMA, TGI], ids=["openai", "kserve", "ollama", "tgi"]
)
async def test_plain_text_500_keeps_its_last_lines(
    harness: Harness, respx_mock: respx.MockRouter, target: tuple[Provider, str, str]
) -> None:
    assert len(TRACEBACK) > 3000
    error = await _error(harness, target, 500, respx_mock, text=TRACEBACK)
    assert isinstance(error, maaskit.ServerError)
    message = error.provider_message
    assert message is not None
    assert message.endswith("RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB")
    assert message.startswith("…\n")
    assert len(message) <= 500
    # The kept part is whole lines of the end of the body.
    assert TRACEBACK.endswith(message.removeprefix("…\n"))
    assert error.body is not None
    assert error.body.endswith("Tried to allocate 2.00 GiB")
    assert error.body.startswith("Traceback (most recent call last):")


async def test_short_plain_text_is_kept_whole(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    error = await _error(harness, KSERVE, 502, respx_mock, text="  Bad Gateway  ")
    assert error.provider_message == "Bad Gateway"


async def test_unknown_json_shape_shows_the_body(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    error = await _error(harness, OPENAI, 400, respx_mock, json={"reason": "quota"})
    assert error.provider_message == '{"reason":"quota"}'


def test_last_lines_of_one_long_line() -> None:
    text = "x" * 1000 + "END"
    cut = last_lines(text, 100)
    assert cut.endswith("END")
    assert len(cut) == 100
    assert cut.startswith("… ")


def test_text_of_body_keeps_start_and_end() -> None:
    body = b"A" * 5000 + b"Z"
    text = text_of_body(body, limit=2000)
    assert text.startswith("A" * 500)
    assert text.endswith("Z")
    assert "\n…\n" in text
    assert text_of_body(b"short") == "short"
