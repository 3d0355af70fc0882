from __future__ import annotations

import pytest
from maaskit_server.generation.errors import InvalidParameterError
from maaskit_server.generation.params import SamplingParams


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": -5}, "max_tokens"),
        ({"max_tokens": 2.5}, "max_tokens"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 2.01}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -2}, "top_k"),
        ({"frequency_penalty": 2.5}, "frequency_penalty"),
        ({"presence_penalty": -3}, "presence_penalty"),
        ({"top_logprobs": 21}, "top_logprobs"),
        ({"n": 0}, "n"),
        ({"stop": ("",)}, "stop"),
        ({"stop": ("a", "b", "c", "d", "e")}, "stop"),
        ({"seed": "7"}, "seed"),
    ],
)
def test_out_of_range_parameters_are_rejected_with_their_name(
    kwargs: dict[str, object], param: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        SamplingParams(**kwargs)  # type: ignore[arg-type]
    assert caught.value.param == param
    assert param in caught.value.message


def test_boundaries_are_accepted() -> None:
    params = SamplingParams(
        max_tokens=1, temperature=2, top_p=1.0, top_k=-1, frequency_penalty=-2, n=16
    )
    assert params.temperature == 2
    assert SamplingParams(temperature=0).greedy
    assert not SamplingParams(temperature=0.5).greedy


def test_choices_get_distinct_reproducible_seeds() -> None:
    params = SamplingParams(seed=10, n=3)
    assert [params.for_choice(i).seed for i in range(3)] == [10, 11, 12]
    assert SamplingParams(n=2).for_choice(1).seed is None
    assert params.for_choice(2).n == 1
