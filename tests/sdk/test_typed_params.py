"""Typed request parameters (defect 3 of issue #16: ``max_token=2`` was sent and ignored).

The documented OpenAI parameters are explicit keyword arguments; a misspelled one raises a
``TypeError`` naming the nearest valid name at run time, and fails ``mypy --strict`` at
check time (the official client raises Python's bare ``TypeError`` there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import maaskit
import pytest
import respx

from .conftest import BASE_URL, Harness, chat_body

ROOT = Path(__file__).resolve().parents[2]
TYPING = ROOT / "tests" / "typing"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("method", "kwargs", "typo", "nearest"),
    [
        ("chat", {"messages": MESSAGES}, "max_token", "max_tokens"),
        ("chat", {"messages": MESSAGES}, "temprature", "temperature"),
        ("chat", {"messages": MESSAGES}, "tool_choise", "tool_choice"),
        ("complete", {"prompt": "p"}, "top_pp", "top_p"),
        ("embed", {"input": "a"}, "dimension", "dimensions"),
        ("classify", {"input": "a"}, "extra_header", "extra_headers"),
    ],
)
async def test_a_misspelled_parameter_is_refused_naming_the_nearest(
    harness: Harness,
    respx_mock: respx.MockRouter,
    method: str,
    kwargs: dict[str, Any],
    typo: str,
    nearest: str,
) -> None:
    client = harness.client()

    with pytest.raises(TypeError, match=f"'{typo}'; did you mean '{nearest}'") as caught:
        await harness.call(getattr(client, method), model="m", **kwargs, **{typo: 2})

    assert isinstance(caught.value, maaskit.InvalidRequestTypeError)
    assert isinstance(caught.value, maaskit.MaaSError)
    assert respx_mock.calls.call_count == 0


async def test_named_parameters_are_sent_and_unset_ones_are_not(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=chat_body())
    client = harness.client()

    await harness.call(
        client.chat,
        model="m",
        messages=MESSAGES,
        max_tokens=2,
        temperature=0.5,
        top_p=0.9,
        stop="\n",
        seed=3,
        presence_penalty=0.1,
        frequency_penalty=0.2,
        logit_bias={"50256": -100},
        logprobs=True,
        top_logprobs=2,
        user="u-1",
        parallel_tool_calls=False,
        timeout=5,
        extra_headers={"X-Trace": "t"},
        extra_body={"top_k": 3},
        provider_params={"repetition_penalty": 1.1},
    )

    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "model": "m",
        "messages": MESSAGES,
        "max_tokens": 2,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": "\n",
        "seed": 3,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "logit_bias": {"50256": -100},
        "logprobs": True,
        "top_logprobs": 2,
        "user": "u-1",
        "parallel_tool_calls": False,
        "repetition_penalty": 1.1,
        "top_k": 3,
    }
    assert route.calls.last.request.headers["X-Trace"] == "t"


async def test_embed_parameters_are_sent(harness: Harness, respx_mock: respx.MockRouter) -> None:
    body = {"data": [{"index": 0, "embedding": [0.5, 0.25]}], "model": "e"}
    route = respx_mock.post(f"{BASE_URL}/embeddings").respond(200, json=body)
    client = harness.client()

    await harness.call(
        client.embed, model="e", input="a", dimensions=2, encoding_format="float", user="u"
    )

    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "model": "e",
        "input": ["a"],
        "dimensions": 2,
        "encoding_format": "float",
        "user": "u",
    }


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_tokens": 0}, maaskit.InvalidRequestError, "max_tokens must be >= 1"),
        ({"max_tokens": "2"}, maaskit.InvalidRequestTypeError, "max_tokens must be an int"),
        ({"temperature": -0.5}, maaskit.InvalidRequestError, "temperature must be >= 0"),
        ({"temperature": float("nan")}, maaskit.InvalidRequestError, "finite"),
        ({"top_p": 1.5}, maaskit.InvalidRequestError, "top_p must be between 0 and 1"),
        ({"top_logprobs": -1}, maaskit.InvalidRequestError, "top_logprobs must be >= 0"),
        ({"stop": 3}, maaskit.InvalidRequestTypeError, "stop must be"),
        ({"tools": {"type": "function"}}, maaskit.InvalidRequestTypeError, "tools must be a list"),
        ({"tools": [{"type": "function"}]}, maaskit.InvalidRequestError, r"tools\[0\] needs"),
        ({"response_format": "json"}, maaskit.InvalidRequestTypeError, "response_format must be"),
        ({"timeout": -1}, maaskit.InvalidRequestError, "must be > 0"),
        ({"max_retries": 1.5}, maaskit.InvalidRequestTypeError, "max_retries must be an int"),
        ({"provider_params": [1]}, maaskit.InvalidRequestTypeError, "provider_params"),
    ],
)
async def test_bad_parameter_values_are_typed_errors_before_sending(
    harness: Harness,
    respx_mock: respx.MockRouter,
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    client = harness.client()

    with pytest.raises(error, match=match):
        await harness.call(client.chat, model="m", messages=MESSAGES, **kwargs)

    assert respx_mock.calls.call_count == 0


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MYPYPATH": os.pathsep.join([str(ROOT / "sdk"), str(ROOT / "reference_server")]),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            str(path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_mypy_fails_on_a_misspelled_parameter_and_names_it() -> None:
    result = _mypy(TYPING / "usage_misspelled.py")

    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert 'Unexpected keyword argument "max_token" for overloaded function "chat"' in out
    assert 'did you mean "max_tokens"?' in out
    assert 'Argument "dimension" to "embed" of "Client"' in out
    assert 'Unexpected keyword argument "temprature"' in out
    assert 'did you mean "temperature"' in out
    assert 'Unexpected keyword argument "top_pp"' in out


def test_mypy_passes_on_the_correct_twin() -> None:
    result = _mypy(TYPING / "usage_correct.py")

    assert result.returncode == 0, result.stdout + result.stderr
