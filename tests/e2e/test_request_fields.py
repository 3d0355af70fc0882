"""Every request field of OpenAI's and vLLM's chat and completions schemas is either effective
or refused with a 400 naming it (issue 17, item 4): none is silently ignored.

The walk: every field of the official ``openai`` client's request types and of vLLM's request
schema is in one of the server's tables (honoured, metadata, default-only); each honoured field
has a probe below showing its effect on a live server; each default-only field answers 400
off its default and 200 at it; a name in no table answers 400 ``unknown_parameter``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai.types.chat.completion_create_params as chat_params
import openai.types.completion_create_params as completion_params
import pytest
from _support.server import ServerProcess
from maaskit_server.protocols.openai import _fields

pytestmark = pytest.mark.e2e

MODEL = "tiny-shakespeare"
EOS = 0
# vLLM's extra sampling and request parameters (ChatCompletionRequest / CompletionRequest).
VLLM_COMMON = [
    "top_k", "min_p", "repetition_penalty", "length_penalty", "stop_token_ids",
    "include_stop_str_in_output", "ignore_eos", "min_tokens", "skip_special_tokens",
    "spaces_between_special_tokens", "truncate_prompt_tokens", "prompt_logprobs",
    "allowed_token_ids", "bad_words", "use_beam_search", "guided_json", "guided_regex",
    "guided_choice", "guided_grammar", "structured_outputs", "guided_decoding_backend",
    "guided_whitespace_pattern", "priority", "request_id", "logits_processors",
    "return_tokens_as_token_ids", "cache_salt", "kv_transfer_params", "vllm_xargs",
    "response_format", "add_special_tokens",
]  # fmt: skip
VLLM_CHAT = [
    *VLLM_COMMON, "echo", "add_generation_prompt", "continue_final_message", "documents",
    "chat_template", "chat_template_kwargs", "mm_processor_kwargs",
]  # fmt: skip
VLLM_COMPLETIONS = [*VLLM_COMMON, "prompt_embeds"]


def _fields_of(typed: Any) -> set[str]:
    return set(typed.CompletionCreateParamsBase.__annotations__) | {"stream"}


CHAT_FIELDS = _fields_of(chat_params) | set(VLLM_CHAT)
COMPLETION_FIELDS = _fields_of(completion_params) | set(VLLM_COMPLETIONS)


def _post(server: ServerProcess, chat: bool, **fields: Any) -> httpx.Response:
    if chat:
        base: dict[str, Any] = {"messages": [{"role": "user", "content": "Speak."}]}
    else:
        base = {"prompt": "ROMEO:"}
    path = "/chat/completions" if chat else "/completions"
    body = {"model": MODEL, "max_tokens": 12, "temperature": 0, **base, **fields}
    return httpx.post(server.v1 + path, json=body, headers=server.headers, timeout=60)


def _ok(server: ServerProcess, chat: bool = False, **fields: Any) -> dict[str, Any]:
    response = _post(server, chat, **fields)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _text(answer: dict[str, Any]) -> str:
    choice = answer["choices"][0]
    return str(choice["message"]["content"] if "message" in choice else choice["text"])


def _ids(server: ServerProcess, text: str) -> list[int]:
    response = httpx.post(
        f"{server.base_url}/tokenize",
        json={"model": MODEL, "prompt": text, "add_special_tokens": False},
        headers=server.headers,
    )
    ids: list[int] = response.json()["tokens"]
    return ids


# -- probes: one per honoured field, each fails if the field had no effect ---------------------

Probe = Callable[[ServerProcess, bool], None]


def _differs(**fields: Any) -> Probe:
    def probe(server: ServerProcess, chat: bool) -> None:
        # Long enough for the greedy text to repeat tokens, which the penalties act on.
        plain = _ok(server, chat, max_tokens=60, ignore_eos=True)
        assert _text(_ok(server, chat, **fields, max_tokens=60, ignore_eos=True)) != _text(plain)

    return probe


def _max_tokens(server: ServerProcess, chat: bool) -> None:
    assert _ok(server, chat, max_tokens=3, ignore_eos=True)["usage"]["completion_tokens"] == 3


def _max_completion_tokens(server: ServerProcess, chat: bool) -> None:
    answer = _ok(server, chat, max_tokens=None, max_completion_tokens=2, ignore_eos=True)
    assert answer["usage"]["completion_tokens"] == 2


def _seed(server: ServerProcess, chat: bool) -> None:
    texts = {_text(_ok(server, chat, temperature=1.5, seed=seed)) for seed in (1, 1, 2, 3)}
    assert 1 < len(texts) <= 3  # the same seed repeats, others differ


def _top_k(server: ServerProcess, chat: bool) -> None:
    # top_k 1 leaves one candidate: sampling at any temperature is greedy decoding.
    assert _text(_ok(server, chat, temperature=1.5, top_k=1, seed=4)) == _text(_ok(server, chat))


def _top_p(server: ServerProcess, chat: bool) -> None:
    assert _text(_ok(server, chat, temperature=1.5, top_p=1e-9, seed=4)) == _text(_ok(server, chat))


def _min_p(server: ServerProcess, chat: bool) -> None:
    assert _text(_ok(server, chat, temperature=1.5, min_p=1.0, seed=4)) == _text(_ok(server, chat))


def _stop(server: ServerProcess, chat: bool) -> None:
    greedy = _text(_ok(server, chat))
    stop = greedy[3:6]
    assert _text(_ok(server, chat, stop=[stop])) == greedy[: greedy.index(stop)]


def _n(server: ServerProcess, chat: bool) -> None:
    assert len(_ok(server, chat, n=3, temperature=1.0, seed=1)["choices"]) == 3


def _best_of(server: ServerProcess, chat: bool) -> None:
    assert len(_ok(server, chat, n=2, best_of=2)["choices"]) == 2
    assert _post(server, chat, n=1, best_of=2).status_code == 400


def _logprobs(server: ServerProcess, chat: bool) -> None:
    fields: dict[str, Any] = {"logprobs": True} if chat else {"logprobs": 2}
    assert _ok(server, chat, **fields)["choices"][0]["logprobs"] is not None


def _top_logprobs(server: ServerProcess, chat: bool) -> None:
    answer = _ok(server, chat, logprobs=True, top_logprobs=3)
    assert len(answer["choices"][0]["logprobs"]["content"][0]["top_logprobs"]) == 3


def _ignore_eos(server: ServerProcess, chat: bool) -> None:
    answer = _ok(server, chat, logit_bias={str(EOS): 100}, ignore_eos=True, max_tokens=4)
    assert answer["usage"]["completion_tokens"] == 4


def _logit_bias(server: ServerProcess, chat: bool) -> None:
    token = _ids(server, " crown")[0]
    answer = _ok(server, chat, logit_bias={str(token): 100}, max_tokens=3, ignore_eos=True)
    assert _text(answer) == " crown" * 3


def _min_tokens(server: ServerProcess, chat: bool) -> None:
    bias = {"logit_bias": {str(EOS): 100}}
    assert _ok(server, chat, **bias)["usage"]["completion_tokens"] == 1  # EOS at once
    # Five tokens, then the EOS they held back (counted, as vLLM counts it).
    assert _ok(server, chat, **bias, min_tokens=5)["usage"]["completion_tokens"] == 6


def _stop_token_ids(server: ServerProcess, chat: bool) -> None:
    greedy = _ok(server, chat, max_tokens=8, ignore_eos=True)
    ids = _ids(server, _text(greedy))
    answer = _ok(server, chat, max_tokens=8, stop_token_ids=[ids[2]], ignore_eos=True)
    assert answer["usage"]["completion_tokens"] <= 3
    assert answer["choices"][0]["finish_reason"] == "stop"


def _allowed_token_ids(server: ServerProcess, chat: bool) -> None:
    token = _ids(server, " sword")[0]
    answer = _ok(server, chat, allowed_token_ids=[token], max_tokens=2, ignore_eos=True)
    assert _text(answer) == " sword" * 2


def _stream(server: ServerProcess, chat: bool) -> None:
    response = _post(server, chat, stream=True)
    assert response.headers["content-type"].startswith("text/event-stream")


def _stream_options(server: ServerProcess, chat: bool) -> None:
    response = _post(server, chat, stream=True, stream_options={"include_usage": True})
    assert '"usage":{"prompt_tokens"' in response.text


def _constrained(**fields: Any) -> Probe:
    def probe(server: ServerProcess, chat: bool) -> None:
        answer = _ok(server, chat, **{**fields, "max_tokens": 40})
        assert _text(answer) in ("yes", "no") or _text(answer).startswith("{")

    return probe


def _tools(server: ServerProcess, chat: bool) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    answer = _ok(server, True, tools=tools, tool_choice="required", max_tokens=60)
    assert answer["choices"][0]["message"]["tool_calls"]
    none = _ok(server, True, tools=tools, tool_choice="none")
    assert "tool_calls" not in none["choices"][0]["message"]


def _parallel_tool_calls(server: ServerProcess, chat: bool) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    answer = _ok(server, True, tools=tools, tool_choice="required", parallel_tool_calls=False)
    assert len(answer["choices"][0]["message"]["tool_calls"]) == 1
    assert _post(server, True, tools=tools, parallel_tool_calls="yes").status_code == 400


def _echo(server: ServerProcess, chat: bool) -> None:
    assert _text(_ok(server, False, echo=True)).startswith("ROMEO:")


def _suffix(server: ServerProcess, chat: bool) -> None:
    response = _post(server, False, suffix="THE END")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "suffix"


def _the_request_itself(server: ServerProcess, chat: bool) -> None:
    assert _ok(server, chat)["model"] == MODEL


PROBES: dict[str, Probe] = {
    "model": _the_request_itself,
    "messages": _the_request_itself,
    "prompt": _the_request_itself,
    "max_tokens": _max_tokens,
    "max_completion_tokens": _max_completion_tokens,
    "temperature": _differs(temperature=1.5, seed=4),
    "top_p": _top_p,
    "top_k": _top_k,
    "seed": _seed,
    "stop": _stop,
    "frequency_penalty": _differs(frequency_penalty=2.0),
    "presence_penalty": _differs(presence_penalty=2.0),
    "repetition_penalty": _differs(repetition_penalty=2.0),
    "n": _n,
    "best_of": _best_of,
    "logprobs": _logprobs,
    "top_logprobs": _top_logprobs,
    "ignore_eos": _ignore_eos,
    "logit_bias": _logit_bias,
    "min_p": _min_p,
    "min_tokens": _min_tokens,
    "stop_token_ids": _stop_token_ids,
    "allowed_token_ids": _allowed_token_ids,
    "stream": _stream,
    "stream_options": _stream_options,
    "response_format": _constrained(response_format={"type": "json_object"}),
    "guided_json": _constrained(guided_json={"type": "object"}),
    "guided_regex": _constrained(guided_regex="yes|no"),
    "guided_choice": _constrained(guided_choice=["yes", "no"]),
    "guided_grammar": _constrained(guided_grammar='start: "yes" | "no"'),
    "guided_json_object": _constrained(guided_json_object=True),
    "structured_outputs": _constrained(structured_outputs={"choice": ["yes", "no"]}),
    "guided_decoding_backend": _constrained(
        guided_choice=["yes", "no"], guided_decoding_backend="xgrammar"
    ),
    "tools": _tools,
    "tool_choice": _tools,
    "parallel_tool_calls": _parallel_tool_calls,
    "echo": _echo,
    "suffix": _suffix,
}
# Non-default values of the default-only fields, each of which must be refused.
OFF_DEFAULT: dict[str, Any] = {
    "prompt_logprobs": 1, "bad_words": ["crown"], "use_beam_search": True, "length_penalty": 2.0,
    "include_stop_str_in_output": True, "skip_special_tokens": False,
    "spaces_between_special_tokens": False, "truncate_prompt_tokens": 4,
    "return_tokens_as_token_ids": True, "guided_whitespace_pattern": " ",
    "logits_processors": ["x"], "cache_salt": "s", "kv_transfer_params": {"a": 1},
    "vllm_xargs": {"a": 1}, "modalities": ["text", "audio"], "audio": {"voice": "alloy"},
    "prediction": {"type": "content", "content": "x"}, "web_search_options": {},
    "functions": [{"name": "f"}], "function_call": "auto", "reasoning_effort": "low",
    "verbosity": "low", "moderation": {"model": "x"}, "echo": True,
    "add_generation_prompt": False, "continue_final_message": True, "add_special_tokens": True,
    "documents": [{"title": "t"}], "chat_template": "{{ x }}", "chat_template_kwargs": {"a": 1},
    "mm_processor_kwargs": {"a": 1}, "prompt_embeds": "AAAA",
}  # fmt: skip


def _route(chat: bool) -> str:
    return "chat" if chat else "completions"


@pytest.mark.parametrize("chat", [True, False], ids=_route)
def test_every_schema_field_has_a_place(chat: bool) -> None:
    fields = CHAT_FIELDS if chat else COMPLETION_FIELDS
    honoured = _fields.CHAT_HONOURED if chat else _fields.COMPLETION_HONOURED
    default_only = _fields.CHAT_DEFAULT_ONLY if chat else _fields.COMPLETION_DEFAULT_ONLY
    placed = honoured | _fields.METADATA | set(default_only)
    assert fields - placed == set()
    # Every honoured field has a probe, every default-only field a refused value.
    assert honoured - set(PROBES) == set()
    assert set(default_only) - set(OFF_DEFAULT) == set()


@pytest.mark.parametrize("chat", [True, False], ids=_route)
def test_honoured_fields_are_effective(reference_server: ServerProcess, chat: bool) -> None:
    honoured = _fields.CHAT_HONOURED if chat else _fields.COMPLETION_HONOURED
    # Probes are independent: run four at a time (the engine batches them) to keep this short.
    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(PROBES[name], reference_server, chat) for name in honoured]:
            future.result()


@pytest.mark.parametrize("chat", [True, False], ids=_route)
def test_default_only_fields_are_refused_off_their_default(
    reference_server: ServerProcess, chat: bool
) -> None:
    default_only = _fields.CHAT_DEFAULT_ONLY if chat else _fields.COMPLETION_DEFAULT_ONLY
    with ThreadPoolExecutor(4) as pool:
        for future in [
            pool.submit(_refused_off_default, reference_server, chat, name, defaults)
            for name, defaults in default_only.items()
        ]:
            future.result()


def _refused_off_default(
    reference_server: ServerProcess, chat: bool, name: str, defaults: tuple[Any, ...]
) -> None:
    off = OFF_DEFAULT[name]
    if name == "add_special_tokens" and not chat:
        off = False  # completions add them by default, chat does not (vLLM's defaults)
    response = _post(reference_server, chat, **{name: off})
    assert response.status_code == 400, (name, response.text)
    assert response.json()["error"]["param"] == name
    assert response.json()["error"]["code"] == "unsupported_parameter"
    default = defaults[-1]
    accepted = _post(reference_server, chat, **{name: [] if default == () else default})
    assert accepted.status_code == 200, (name, accepted.text)


@pytest.mark.parametrize("chat", [True, False], ids=_route)
def test_metadata_is_accepted_and_unknown_fields_are_refused(
    reference_server: ServerProcess, chat: bool
) -> None:
    metadata = {"user": "u-1", "metadata": {"k": "v"}, "store": False, "service_tier": "auto"}
    assert _text(_ok(reference_server, chat, **metadata)) == _text(_ok(reference_server, chat))
    response = _post(reference_server, chat, temprature=0.5)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": "Unrecognized request argument supplied: temprature",
        "type": "invalid_request_error",
        "param": "temprature",
        "code": "unknown_parameter",
    }
    refused = _post(reference_server, chat, stream=True, stream_options={"per_token": True})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "stream_options"
