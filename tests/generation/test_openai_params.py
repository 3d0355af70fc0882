"""Parsing OpenAI chat/completions bodies into engine parameters (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest
from maaskit_server.errors import APIError
from maaskit_server.protocols import requests
from maaskit_server.protocols.openai import _params


def test_chat_messages_accept_text_parts_and_empty_assistant_turns() -> None:
    messages = requests.chat_messages(
        [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}],
            },
            {"role": "assistant", "content": None},
        ]
    )
    assert messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": ""},
    ]


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        (None, "messages"),
        ([], "messages"),
        ({"role": "user"}, "messages"),
        (["hi"], "messages[0]"),
        ([{"role": "robot", "content": "x"}], "messages[0].role"),
        ([{"content": "x"}], "messages[0].role"),
        ([{"role": "user", "content": None}], "messages[0].content"),
        ([{"role": "user", "content": 5}], "messages[0].content"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
            "messages[0].content",
        ),
    ],
)
def test_bad_messages_name_the_field(messages: Any, param: str) -> None:
    with pytest.raises(APIError) as caught:
        requests.chat_messages(messages)
    assert caught.value.status_code == 400
    assert caught.value.param == param


def test_chat_sampling_parameters() -> None:
    params = _params.sampling_params(
        {
            "max_completion_tokens": 9,
            "max_tokens": 50,
            "temperature": 0.5,
            "stop": "\n",
            "logprobs": True,
            "top_logprobs": 2,
            "seed": 3,
            "n": 2,
            "top_p": None,
        },
        chat=True,
    )
    assert params.max_tokens == 9  # the newer name wins
    assert params.stop == ("\n",)
    assert (params.logprobs, params.top_logprobs) == (True, 2)
    assert (params.seed, params.n, params.temperature, params.top_p) == (3, 2, 0.5, 1.0)


@pytest.mark.parametrize(
    ("body", "chat", "param"),
    [
        ({"top_logprobs": 2}, True, "top_logprobs"),  # needs logprobs: true
        ({"logprobs": 3}, True, "logprobs"),  # chat logprobs is a boolean
        ({"logprobs": 6}, False, "logprobs"),  # completions: 0..5
        ({"logprobs": True}, False, "logprobs"),
        ({"stop": ["a", 1]}, False, "stop"),
        ({"best_of": 3}, False, "best_of"),
        ({"temperature": "hot"}, False, "temperature"),
        ({"frequency_penalty": 3}, True, "frequency_penalty"),
    ],
)
def test_bad_sampling_parameters_name_the_field(
    body: dict[str, Any], chat: bool, param: str
) -> None:
    with pytest.raises(APIError) as caught:
        _params.sampling_params(body, chat=chat)
    assert caught.value.status_code == 400
    assert caught.value.param == param


def test_completion_logprobs_is_the_number_of_alternatives() -> None:
    params = _params.sampling_params({"logprobs": 3}, chat=False)
    assert (params.logprobs, params.top_logprobs) == (True, 3)
    assert not _params.sampling_params({}, chat=False).logprobs


def test_stream_options() -> None:
    assert _params.stream_options({}) == _params.StreamOptions(False, False)
    assert _params.stream_options({"stream": True, "stream_options": {}}).include_usage is False
    options = _params.stream_options({"stream": True, "stream_options": {"include_usage": True}})
    assert options == _params.StreamOptions(True, True)
    for body in (
        {"stream": "yes"},
        {"stream": False, "stream_options": {"include_usage": True}},
        {"stream": True, "stream_options": {"include_usage": "y"}},
        {"stream": True, "stream_options": []},
    ):
        with pytest.raises(APIError):
            _params.stream_options(body)


def test_unsupported_features_are_refused_not_ignored() -> None:
    # tools and response_format are honoured now (constrained decoding, tests/e2e/
    # test_structured_openai.py); suffix has no equivalent and stays refused.
    with pytest.raises(APIError):
        _params.reject_unsupported({"suffix": "end"})
    _params.reject_unsupported({"tools": [], "response_format": {"type": "text"}})
