"""Seeds take vLLM's range (a signed 64-bit integer) on every generation route.

``"seed": -1`` used to reach numpy's generator, which takes no negative seed, and answer 500
on eight routes. A negative seed is a valid one (vLLM accepts it) and reproducible; a seed
outside the 64-bit range is a 400 naming ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from _support.server import ServerProcess

pytestmark = pytest.mark.e2e

MODEL = "tiny-shakespeare"
TOO_BIG = 2**63
SAMPLING = {"temperature": 1.0, "max_tokens": 6}


def _openai_chat(seed: int) -> tuple[str, dict[str, Any]]:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "seed": seed}
    return "/v1/chat/completions", {**body, **SAMPLING}


def _openai_completions(seed: int) -> tuple[str, dict[str, Any]]:
    return "/v1/completions", {"model": MODEL, "prompt": "KING", "seed": seed, **SAMPLING}


def _hf_chat(seed: int) -> tuple[str, dict[str, Any]]:
    path, body = _openai_chat(seed)
    return f"/models/{MODEL}{path}", body


def _kserve_generate(seed: int) -> tuple[str, dict[str, Any]]:
    parameters = {"seed": seed, **SAMPLING}
    return f"/v2/models/{MODEL}/generate", {"text_input": "KING", "parameters": parameters}


def _kserve_generate_stream(seed: int) -> tuple[str, dict[str, Any]]:
    path, body = _kserve_generate(seed)
    return path + "_stream", body


def _kserve_infer(seed: int) -> tuple[str, dict[str, Any]]:
    tensor = {"name": "text_input", "shape": [1], "datatype": "BYTES", "data": ["KING"]}
    body = {"inputs": [tensor], "parameters": {"seed": seed, **SAMPLING}}
    return f"/v2/models/{MODEL}/infer", body


def _ollama_chat(seed: int) -> tuple[str, dict[str, Any]]:
    options = {"seed": seed, "temperature": 1.0, "num_predict": 6}
    messages = [{"role": "user", "content": "hi"}]
    return "/api/chat", {"model": MODEL, "messages": messages, "stream": False, "options": options}


def _ollama_generate(seed: int) -> tuple[str, dict[str, Any]]:
    options = {"seed": seed, "temperature": 1.0, "num_predict": 6}
    return "/api/generate", {"model": MODEL, "prompt": "KING", "stream": False, "options": options}


ROUTES: dict[str, Callable[[int], tuple[str, dict[str, Any]]]] = {
    "openai_chat": _openai_chat,
    "openai_completions": _openai_completions,
    "hf_chat": _hf_chat,
    "kserve_generate": _kserve_generate,
    "kserve_generate_stream": _kserve_generate_stream,
    "kserve_infer": _kserve_infer,
    "ollama_chat": _ollama_chat,
    "ollama_generate": _ollama_generate,
}


def _post(server: ServerProcess, route: str, seed: int) -> httpx.Response:
    path, body = ROUTES[route](seed)
    return httpx.post(server.base_url + path, json=body, headers=server.headers, timeout=60)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_negative_seed_is_valid_and_reproducible(
    reference_server: ServerProcess, route: str
) -> None:
    first = _post(reference_server, route, -1)
    assert first.status_code == 200, first.text
    again = _post(reference_server, route, -1)
    assert again.status_code == 200
    if route not in ("kserve_generate_stream",):
        assert _answer(route, first.json()) == _answer(route, again.json())


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_seed_outside_64_bits_is_400_naming_it(reference_server: ServerProcess, route: str) -> None:
    response = _post(reference_server, route, TOO_BIG)
    assert response.status_code == 400, response.text
    assert "seed" in response.text


def _answer(route: str, body: Any) -> Any:
    if route.startswith("openai") or route == "hf_chat":
        choice = body["choices"][0]
        return choice.get("message", {}).get("content") or choice.get("text")
    if route == "kserve_generate":
        return body["text_output"]
    if route == "kserve_infer":
        return body["outputs"][0]["data"]
    if route == "ollama_chat":
        return body["message"]["content"]
    return body["response"]
