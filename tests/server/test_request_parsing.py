from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from maaskit_server.errors import APIError
from maaskit_server.model_spec import ModelSpec
from maaskit_server.protocols.requests import text_inputs, truncation

SPEC = ModelSpec(name="m", path=Path("."), task="embeddings", max_input_tokens=128)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hi", ["hi"]),
        (["a", "b"], ["a", "b"]),
        ([1, 2, 3], [[1, 2, 3]]),
        ([[1], [2, 3]], [[1], [2, 3]]),
    ],
)
def test_accepted_input_shapes(value: Any, expected: Any) -> None:
    assert text_inputs(value, max_inputs=10) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "missing"),
        ("", "empty_input"),
        ([], "empty_input"),
        (["ok", ""], "empty_input"),
        ([[1], []], "empty_input"),
        (42, "invalid_type"),
        ({"text": "x"}, "invalid_type"),
        (["a", 1], "invalid_type"),
        ([True, False], "invalid_type"),
        ([[1, "2"]], "invalid_type"),
        ([1.5], "invalid_type"),
        (["x"] * 11, "too_many_inputs"),
    ],
)
def test_rejected_inputs_name_the_parameter(value: Any, code: str) -> None:
    with pytest.raises(APIError) as caught:
        text_inputs(value, max_inputs=10)
    assert caught.value.status_code == 400
    assert caught.value.param == "input"
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, None),
        ({"truncate": True}, 128),
        ({"truncate": False}, None),
        ({"truncate_prompt_tokens": -1}, 128),
        ({"truncate_prompt_tokens": 16}, 16),
    ],
)
def test_truncation_requests(body: dict[str, Any], expected: int | None) -> None:
    assert truncation(body, SPEC) == expected


@pytest.mark.parametrize(
    "body", [{"truncate": "yes"}, {"truncate_prompt_tokens": 0}, {"truncate_prompt_tokens": "5"}]
)
def test_bad_truncation_values_are_400(body: dict[str, Any]) -> None:
    with pytest.raises(APIError) as caught:
        truncation(body, SPEC)
    assert caught.value.status_code == 400
