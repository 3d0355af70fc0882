"""The official ``openai`` package against a real server process: chat and completions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from _support.server import ServerProcess
from generation.server import MODEL, generation_server, lm_folder
from jinja2.sandbox import ImmutableSandboxedEnvironment
from openai.types.chat import ChatCompletionMessageParam
from tokenizers import Tokenizer

pytestmark = [pytest.mark.e2e, pytest.mark.conformance]

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Tell me of the king."}]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    folder = lm_folder()
    if folder is None:
        pytest.fail("the default model tiny-shakespeare is missing")
    return folder


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with generation_server(model_dir, tmp_path_factory.mktemp("generation")) as process:
        yield process


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key=server.api_key, timeout=60, max_retries=0)


@pytest.fixture(scope="module")
def tokenizer(model_dir: Path) -> Tokenizer:
    return Tokenizer.from_file(str(model_dir / "tokenizer.json"))


def chat_prompt_tokens(model_dir: Path, tokenizer: Tokenizer) -> int:
    """Count the chat prompt independently: the model's template with transformers' options."""
    config = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    text = env.from_string(config["chat_template"]).render(
        messages=MESSAGES,
        add_generation_prompt=True,
        bos_token=config.get("bos_token", ""),
        eos_token=config.get("eos_token", ""),
    )
    return len(tokenizer.encode(text).ids)


def test_chat_completion_with_usage_from_the_tokenizer(
    client: openai.OpenAI, model_dir: Path, tokenizer: Tokenizer
) -> None:
    response = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        max_tokens=12,
        temperature=0,
    )
    choice = response.choices[0]
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str)
    assert choice.finish_reason in ("length", "stop")
    assert response.usage is not None
    assert response.usage.prompt_tokens == chat_prompt_tokens(model_dir, tokenizer)
    if choice.finish_reason == "length":
        assert response.usage.completion_tokens == 12
    assert response.usage.total_tokens == (
        response.usage.prompt_tokens + response.usage.completion_tokens
    )


def test_streamed_chat_equals_the_plain_answer_and_ends_with_usage(
    client: openai.OpenAI,
) -> None:
    plain = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        max_tokens=16,
        temperature=0,
    )
    stream = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        max_tokens=16,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert text == plain.choices[0].message.content
    assert finish == [plain.choices[0].finish_reason]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert plain.usage is not None
    assert chunks[-1].usage.prompt_tokens == plain.usage.prompt_tokens
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_empty_stream_options_sends_no_usage(client: openai.OpenAI) -> None:
    stream = client.completions.create(
        model=MODEL, prompt="KING", max_tokens=4, stream=True, stream_options={}
    )
    chunks = list(stream)
    assert chunks
    assert all(chunk.choices for chunk in chunks)
    assert all(chunk.usage is None for chunk in chunks)


def test_completion_max_tokens_gives_length_and_token_counts(
    client: openai.OpenAI, tokenizer: Tokenizer
) -> None:
    prompt = "To be, or not to be, that is the question:"
    response = client.completions.create(model=MODEL, prompt=prompt, max_tokens=7, temperature=0)
    assert response.choices[0].finish_reason == "length"
    assert response.usage is not None
    assert response.usage.prompt_tokens == len(tokenizer.encode(prompt).ids)
    assert response.usage.completion_tokens == 7
    assert response.choices[0].text


def test_a_stop_string_ends_the_text_before_it(client: openai.OpenAI) -> None:
    prompt = "ROMEO:\nBut soft, what light"
    full = client.completions.create(model=MODEL, prompt=prompt, max_tokens=30, temperature=0)
    text = full.choices[0].text
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    assert len(stop) == 3
    stopped = client.completions.create(
        model=MODEL, prompt=prompt, max_tokens=30, temperature=0, stop=[stop]
    )
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].text == text[: text.index(stop)]
    streamed = client.completions.create(
        model=MODEL, prompt=prompt, max_tokens=30, temperature=0, stop=stop, stream=True
    )
    assert "".join(c.choices[0].text for c in streamed) == text[: text.index(stop)]


def test_the_same_seed_gives_the_same_text(client: openai.OpenAI) -> None:
    def sample(seed: int) -> str:
        response = client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            max_tokens=20,
            temperature=1.0,
            seed=seed,
        )
        return response.choices[0].message.content or ""

    first = sample(2024)
    assert first == sample(2024)
    assert first != sample(7)


def test_n_choices_and_logprobs(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        max_tokens=5,
        n=2,
        seed=5,
        logprobs=True,
        top_logprobs=3,
    )
    assert [choice.index for choice in response.choices] == [0, 1]
    for choice in response.choices:
        assert choice.logprobs is not None
        content = choice.logprobs.content or []
        assert len(content) == 5
        for item in content:
            assert item.logprob <= 0.0
            assert len(item.top_logprobs) == 3
            assert item.top_logprobs[0].logprob >= item.logprob
        assert "".join(bytes(item.bytes or []).decode("utf-8", "replace") for item in content)
