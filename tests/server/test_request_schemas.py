"""The documented chat and completions request schemas and the routes' field check are one
list: every documented field passes the check at a valid value, every other name is refused
with ``unknown_parameter``, and the document says so (``additionalProperties: false``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from _support.server import MODELS_DIR, ServerProcess
from jsonschema import Draft202012Validator
from maaskit_server.app import create_app
from maaskit_server.errors import APIError
from maaskit_server.generation.errors import InvalidParameterError
from maaskit_server.generation.tools import parse_tools, plan_tools
from maaskit_server.model_spec import ModelSpec, read_model_spec
from maaskit_server.openapi import openapi_document
from maaskit_server.protocols import recognition
from maaskit_server.protocols.hf._tgi import tgi_request, validation_error
from maaskit_server.protocols.kserve import generate as kserve_generate
from maaskit_server.protocols.kserve._tensors import parse_infer_request
from maaskit_server.protocols.ollama import _options as ollama_options
from maaskit_server.protocols.openai import _fields, _params, score
from maaskit_server.protocols.requests import (
    TEXT_INPUTS_SCHEMA,
    TRUNCATE_PROMPT_TOKENS_SCHEMA,
    text_inputs,
    truncation,
)
from maaskit_server.settings import ServerSettings
from starlette.testclient import TestClient


def _spec() -> ModelSpec:
    return read_model_spec(MODELS_DIR / "all-minilm-l6-v2")


_PATHS = {"/v1/chat/completions": True, "/v1/completions": False}


def _schema(path: str) -> dict[str, Any]:
    document = openapi_document(create_app().routes)
    body: dict[str, Any] = document["paths"][path]["post"]["requestBody"]
    schema: dict[str, Any] = body["content"]["application/json"]["schema"]
    return schema


@pytest.mark.parametrize("path", list(_PATHS))
def test_the_document_forbids_exactly_the_fields_the_route_refuses(path: str) -> None:
    chat = _PATHS[path]
    schema = _schema(path)
    assert schema["additionalProperties"] is False
    for name in schema["properties"]:
        # null is every documented field's "not sent"; check_fields must accept the name.
        _fields.check_fields({name: None}, chat=chat)
    with pytest.raises(APIError) as refused:
        _fields.check_fields({"surely_not_a_field": 1}, chat=chat)
    assert refused.value.code == "unknown_parameter"
    accepted = _fields.CHAT_HONOURED if chat else _fields.COMPLETION_HONOURED
    default_only = _fields.CHAT_DEFAULT_ONLY if chat else _fields.COMPLETION_DEFAULT_ONLY
    assert set(schema["properties"]) == accepted | _fields.METADATA | set(default_only)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("guided_decoding_backend", {}),  # unhashable: answered 500 before
        ("guided_decoding_backend", []),
        ("parallel_tool_calls", "yes"),
        ("stream", 1),
        ("max_tokens", 0),
        ("max_completion_tokens", "8"),
    ],
)
def test_wrong_types_are_a_400_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(APIError) as refused:
        _fields.check_fields({field: value}, chat=True)
    assert refused.value.status_code == 400
    assert refused.value.param == field


@pytest.mark.parametrize("value", ["", [], [""], ["a", ""], [[]], [[1], []]])
def test_the_text_inputs_schema_refuses_what_text_inputs_refuses(value: Any) -> None:
    # The embeddings and classify routes document their input with this schema: an empty text
    # or list was valid in the document and a 400 from the route.
    with pytest.raises(APIError):
        text_inputs(value, max_inputs=8)
    assert not Draft202012Validator(TEXT_INPUTS_SCHEMA).is_valid(value)


@pytest.mark.parametrize("value", ["a", ["a", "b"], [1, 2], [[1], [2, 3]]])
def test_the_text_inputs_schema_accepts_what_text_inputs_accepts(value: Any) -> None:
    text_inputs(value, max_inputs=8)
    assert Draft202012Validator(TEXT_INPUTS_SCHEMA).is_valid(value)


@pytest.mark.parametrize("value", [[5.0], [[5.0, 6]]])
def test_integral_floats_are_token_ids_as_in_the_schema(value: Any) -> None:
    # JSON Schema's integer accepts 5.0 (and vLLM's pydantic reads it as 5); the route refused.
    assert Draft202012Validator(TEXT_INPUTS_SCHEMA).is_valid(value)
    assert text_inputs(value, max_inputs=8) in ([[5]], [[5, 6]])


def test_negative_token_ids_are_outside_the_schema() -> None:
    # The route refuses them (outside the vocabulary); the document called them valid.
    assert not Draft202012Validator(TEXT_INPUTS_SCHEMA).is_valid([[-1]])
    assert not Draft202012Validator(TEXT_INPUTS_SCHEMA).is_valid([-1])


@pytest.mark.parametrize(("value", "kept"), [(2.0, 2), (-1.0, _spec().max_input_tokens), (5, 5)])
def test_truncate_prompt_tokens_reads_integral_floats(value: Any, kept: int) -> None:
    assert Draft202012Validator(TRUNCATE_PROMPT_TOKENS_SCHEMA).is_valid(value)
    assert truncation({"truncate_prompt_tokens": value}, _spec()) == kept


@pytest.mark.parametrize("truncate", [{}, "yes", 1])
def test_truncate_is_checked_even_when_truncate_prompt_tokens_decides(truncate: Any) -> None:
    with pytest.raises(APIError) as refused:
        truncation({"truncate_prompt_tokens": 4, "truncate": truncate}, _spec())
    assert refused.value.param == "truncate"


@pytest.mark.parametrize(
    "fields",
    [
        {"stream_options": {}},
        {"stream": False, "stream_options": {"include_usage": True}},
        {"stream": True, "stream_options": {"include_usage": "yes"}},
        {"stream": True, "stream_options": {"other": True}},
    ],
)
@pytest.mark.parametrize("path", list(_PATHS))
def test_stream_options_the_document_refuses_the_route_refuses(
    path: str, fields: dict[str, Any]
) -> None:
    body = {"model": "m", "prompt": "a", "messages": [{"role": "user", "content": "a"}], **fields}
    body = {name: body[name] for name in body if name in _schema(path)["properties"]}
    with pytest.raises(APIError):
        _checked(body, chat=_PATHS[path])
    assert not Draft202012Validator(_schema(path)).is_valid(body)


@pytest.mark.parametrize(
    "fields", [{}, {"stream": True, "stream_options": {"include_usage": None}}]
)
@pytest.mark.parametrize("path", list(_PATHS))
def test_stream_options_the_document_accepts_the_route_accepts(
    path: str, fields: dict[str, Any]
) -> None:
    body = {"model": "m", "prompt": "a", "messages": [{"role": "user", "content": "a"}], **fields}
    body = {name: body[name] for name in body if name in _schema(path)["properties"]}
    _checked(body, chat=_PATHS[path])
    assert Draft202012Validator(_schema(path)).is_valid(body)


def _checked(body: dict[str, Any], *, chat: bool) -> None:
    """The route's two checks of stream_options: its keys, then its values and stream."""
    _fields.check_fields(body, chat=chat)
    _params.stream_options(body)


# KServe's generate extension (protocols/kserve/generate.py).
@pytest.mark.parametrize(
    "body",
    [
        {"text_input": "hi", "parameters": 0.0},  # read as "no parameters" before
        {"text_input": "hi", "parameters": []},
        {"text_input": "hi", "id": 5},
        {"text_input": ""},
    ],
)
def test_kserve_generate_refuses_what_its_schema_calls_invalid(body: dict[str, Any]) -> None:
    assert not Draft202012Validator(kserve_generate.REQUEST_SCHEMA).is_valid(body)
    with pytest.raises(APIError) as refused:
        kserve_generate.sampling_params(kserve_generate._request_parts(body)[1])
    assert refused.value.status_code == 400


@pytest.mark.parametrize("name", ["stream", "exclude_input_in_output"])
@pytest.mark.parametrize("value", [0, 1, "yes"])
def test_kserve_generate_output_controls_are_booleans(name: str, value: Any) -> None:
    body = {"text_input": "hi", "parameters": {name: value}}
    assert not Draft202012Validator(kserve_generate.REQUEST_SCHEMA).is_valid(body)
    with pytest.raises(APIError):
        kserve_generate.sampling_params(kserve_generate._request_parts(body)[1])


@pytest.mark.parametrize(
    "parameters",
    [
        {"seed": 7.0, "top_k": 3.0, "max_tokens": 4.0},  # JSON Schema's integers
        {"max_tokens": None, "max_completion_tokens": 4},  # null is "not sent"
    ],
)
def test_kserve_generate_accepts_what_its_schema_calls_valid(parameters: dict[str, Any]) -> None:
    body = {"text_input": "hi", "parameters": parameters}
    assert Draft202012Validator(kserve_generate.REQUEST_SCHEMA).is_valid(body)
    params = kserve_generate.sampling_params(kserve_generate._request_parts(body)[1])
    assert params.max_tokens == 4


def test_kserve_generate_does_not_round_a_huge_seed_into_range() -> None:
    # orjson reads -2**63 - 1 as the float -2**63: still refused, as the document says.
    with pytest.raises(APIError):
        kserve_generate.sampling_params({"seed": -9.223372036854776e18})


def test_ollama_show_documents_its_body() -> None:
    # It had no request schema: the fuzzer could not say what a valid request is.
    schema = _schema("/api/show")
    assert schema["required"] == ["model"]
    assert Draft202012Validator(schema).is_valid({"model": "sentiment"})
    assert not Draft202012Validator(schema).is_valid({"name": "sentiment"})


@pytest.mark.parametrize("stream", [0, 1.5, "yes"])
def test_tgi_refuses_a_stream_flag_that_is_not_a_boolean(stream: Any) -> None:
    # /generate read a number as "not streaming" although its document says boolean.
    body = {"inputs": "hi", "stream": stream}
    assert not Draft202012Validator(_schema("/models/{model}/generate")).is_valid(body)
    with pytest.raises(APIError) as refused:
        tgi_request(body, max_new_tokens_default=4)
    assert refused.value.status_code == 422


def test_tgi_documents_inputs_as_non_empty() -> None:
    assert not Draft202012Validator(_schema("/models/{model}/generate")).is_valid({"inputs": ""})


def test_the_hf_chat_route_documents_openai_chat_without_a_required_model() -> None:
    # It forwards to POST /v1/chat/completions with the path's model: the same body.
    hf, openai = _schema("/models/{model}/v1/chat/completions"), _schema("/v1/chat/completions")
    assert "model" not in hf["required"]
    assert "messages" in hf["required"]
    assert set(hf["properties"]) == set(openai["properties"])
    assert hf["additionalProperties"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": ""},
        {"inputs": []},
        {"inputs": [["a", "b"]]},  # sentence pairs: refused by the route
        {"inputs": [[""]]},
        {"inputs": "a", "raw_scores": True},
        {"inputs": "a", "function_to_apply": "sigmoid"},
        {"inputs": "a", "top_k": 0},
    ],
)
def test_tei_predict_documents_what_the_route_refuses(body: dict[str, Any]) -> None:
    assert not Draft202012Validator(_schema("/models/{model}/predict")).is_valid(body)


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": ""},
        {"inputs": ["a", ""]},
        {"inputs": [1, 2]},  # token ids: not read here
        {"inputs": "a", "truncation_direction": "left"},
        {"inputs": "a", "prompt_name": "query"},
        {"inputs": "a", "normalize": "yes"},
    ],
)
def test_tei_embed_documents_what_the_route_refuses(body: dict[str, Any]) -> None:
    assert not Draft202012Validator(_schema("/models/{model}/embed")).is_valid(body)


_TEXT_TENSOR = {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["hi"]}


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": [_TEXT_TENSOR], "parameters": 0},  # read as "no parameters" before
        {"inputs": [{**_TEXT_TENSOR, "parameters": []}]},
        {"inputs": [_TEXT_TENSOR], "outputs": [{"name": "label", "parameters": 0}]},
        {"inputs": [{**_TEXT_TENSOR, "datatype": "STRING"}]},
        {"inputs": [{**_TEXT_TENSOR, "datatype": {}}]},  # unhashable: answered 500 before
        {"inputs": [{**_TEXT_TENSOR, "shape": [-1]}]},
        {"inputs": [{**_TEXT_TENSOR, "name": ""}]},
        {"inputs": []},
    ],
)
def test_kserve_infer_refuses_what_its_schema_calls_invalid(body: dict[str, Any]) -> None:
    assert not Draft202012Validator(_schema("/v2/models/{model}/infer")).is_valid(body)
    with pytest.raises(APIError) as refused:
        parse_infer_request(orjson.dumps(body), None)
    assert refused.value.status_code == 400


def test_kserve_infer_documents_a_valid_text_tensor() -> None:
    body = {"inputs": [_TEXT_TENSOR], "outputs": [{"name": "label", "parameters": None}]}
    assert Draft202012Validator(_schema("/v2/models/{model}/infer")).is_valid(body)
    parse_infer_request(orjson.dumps(body), None)


# Similarity and reranking (vLLM's score/rerank, TEI's rerank/similarity): documented from the
# same checks the routes run (score.TEXTS_SCHEMA beside score._texts).
_SCORE_BODIES = {
    "/v1/score": {"model": "m", "text_1": "a", "text_2": ["b", {"text": "c"}]},
    "/score": {"model": "m", "text_1": ["a", "b"], "text_2": ["c", "d"]},
    "/v1/rerank": {"model": "m", "query": "a", "documents": ["b"], "top_n": 1},
    "/rerank": {"model": "m", "query": "a", "documents": [{"text": "b"}]},
    "/v2/rerank": {"model": "m", "query": "a", "documents": "b", "return_documents": False},
    "/models/{name}/rerank": {"query": "a", "texts": ["b"], "return_text": True},
    "/models/{name}/similarity": {"inputs": {"source_sentence": "a", "sentences": ["b"]}},
}


@pytest.mark.parametrize("path", list(_SCORE_BODIES))
def test_score_and_rerank_routes_document_their_bodies(path: str) -> None:
    # They had no request schema: the fuzz generated no body for them.
    assert Draft202012Validator(_schema(path)).is_valid(_SCORE_BODIES[path])
    assert not Draft202012Validator(_schema(path)).is_valid({})


@pytest.mark.parametrize(
    "value", [None, [], 5, {"text": "a"}, [5], [None], [{}], [{"text": 5}], [["a"]]]
)
def test_the_texts_schema_refuses_what_texts_refuses(value: Any) -> None:
    with pytest.raises(APIError):
        score._texts(value, "documents")
    assert not Draft202012Validator(score.TEXTS_SCHEMA).is_valid(value)


@pytest.mark.parametrize("value", ["a", "", ["a", {"text": "b"}], [{"text": "a", "title": 1}]])
def test_the_texts_schema_accepts_what_texts_accepts(value: Any) -> None:
    score._texts(value, "documents")
    assert Draft202012Validator(score.TEXTS_SCHEMA).is_valid(value)


def test_top_n_reads_integral_floats_as_the_schema_does() -> None:
    # JSON Schema's integer accepts 2.0; the route refused it with a 400.
    top_n = _schema("/v1/rerank")["properties"]["top_n"]
    assert Draft202012Validator(top_n).is_valid(2.0)
    assert score._top_n({"top_n": 2.0}, 5) == 2


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "2"])
def test_top_n_the_schema_refuses_the_route_refuses(value: Any) -> None:
    top_n = score.RERANK_SCHEMA["properties"]["top_n"]
    assert not Draft202012Validator(top_n).is_valid(value)
    with pytest.raises(APIError):
        score._top_n({"top_n": value}, 5)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/rerank", {"query": "a", "documents": ["b"], "return_documents": None}),
        ("/models/all-minilm-l6-v2/rerank", {"query": "a", "texts": ["b"], "return_text": None}),
        ("/models/all-minilm-l6-v2/rerank", {"query": "a", "texts": ["b"], "raw_scores": None}),
    ],
)
def test_a_null_flag_reads_as_not_sent(
    reference_server: ServerProcess, path: str, body: dict[str, Any]
) -> None:
    # The document marks optional fields nullable; the routes refused null as "not a boolean".
    answer = httpx.post(
        f"{reference_server.base_url}{path}",
        json={"model": "all-minilm-l6-v2", **body},
        headers=reference_server.headers,
    )
    assert answer.status_code == 200, answer.text
    results = answer.json() if isinstance(answer.json(), list) else answer.json()["results"]
    assert results[0]["index"] == 0
    assert ("document" in results[0]) is path.startswith("/v1/")  # return_documents: default
    assert "text" not in results[0]


def test_kserve_infer_documents_its_binary_answer() -> None:
    # binary_data_output: true is answered in the binary tensor extension's media type.
    document = openapi_document(create_app().routes)
    success = document["paths"]["/v2/models/{model}/infer"]["post"]["responses"]["200"]
    assert set(success["content"]) == {"application/json", "application/octet-stream"}


def _task_branches() -> dict[str, dict[str, Any]]:
    schema = _schema("/models/{model}")
    return {branch["title"]: branch for branch in schema["anyOf"]}


@pytest.mark.parametrize(
    ("task", "body"),
    [
        ("text-classification", {"inputs": ["a"], "parameters": {"top_k": 0}}),
        ("text-classification", {"inputs": "a", "parameters": {"function_to_apply": "none"}}),
        ("text-classification", {"inputs": [1], "parameters": None}),
        ("token-classification", {"inputs": "a", "parameters": {"aggregation_strategy": "x"}}),
        ("token-classification", {"inputs": "a", "parameters": {"ignore_labels": "O"}}),
        ("token-classification", {"inputs": "a", "parameters": {"stride": -1}}),
        ("feature-extraction", {"inputs": "a", "parameters": {"truncation_direction": "left"}}),
        ("feature-extraction", {"inputs": "a", "truncate": 1}),
        ("text-generation", {"inputs": ""}),
    ],
)
def test_hf_task_bodies_refuse_what_the_tasks_refuse(task: str, body: dict[str, Any]) -> None:
    assert not Draft202012Validator(_task_branches()[task]).is_valid(body)


@pytest.mark.parametrize(
    ("task", "body"),
    [
        ("text-classification", {"inputs": "a", "parameters": {"top_k": 2, "truncate": None}}),
        ("token-classification", {"inputs": ["a"], "parameters": {"aggregation_strategy": "Max"}}),
        ("token-classification", {"inputs": "a", "parameters": {"stride": 2.0}}),
        ("feature-extraction", {"inputs": "a", "parameters": {"normalize": True}}),
        ("text-generation", {"inputs": "a", "parameters": {}}),
    ],
)
def test_hf_task_bodies_take_what_the_tasks_take(task: str, body: dict[str, Any]) -> None:
    assert Draft202012Validator(_task_branches()[task]).is_valid(body)


def test_token_classification_reads_an_integral_stride_as_the_integer() -> None:
    # The document says integer, which JSON Schema takes 2.0 to be: refused before.
    kwargs = recognition.parse_parameters({"stride": 2.0}, validation_error)
    assert kwargs["stride"] == 2
    assert isinstance(kwargs["stride"], int)


@pytest.mark.parametrize(
    ("fields", "accepted"),
    [
        ({"echo": True, "logprobs": 0}, False),
        ({"echo": True, "logprobs": 3}, False),
        ({"echo": True, "logprobs": None}, True),
        ({"echo": False, "logprobs": 3}, True),
        ({"echo": True}, True),
    ],
)
def test_echo_with_logprobs_the_document_refuses_as_the_route(
    fields: dict[str, Any], accepted: bool
) -> None:
    body = {"model": "m", "prompt": "a", **fields}
    assert Draft202012Validator(_schema("/v1/completions")).is_valid(body) is accepted
    route_accepts = True
    try:
        _fields.check_fields(body, chat=False)
        params = _params.sampling_params(body, chat=False)
        route_accepts = not (_params.boolean(body, "echo") and params.logprobs)
    except APIError:
        route_accepts = False
    assert route_accepts is accepted


@pytest.mark.parametrize(
    "fields",
    [
        {"top_k": 2.0},
        {"seed": 3.0},
        {"n": 1.0, "best_of": 1.0},
        {"max_tokens": 4.0, "min_tokens": 1.0},
        {"stop_token_ids": [2.0]},
        {"allowed_token_ids": [2.0, 3]},
    ],
)
@pytest.mark.parametrize("path", list(_PATHS))
def test_integral_floats_of_integer_fields_are_read_as_integers(
    path: str, fields: dict[str, Any]
) -> None:
    body = {"model": "m", "prompt": "a", "messages": [{"role": "user", "content": "a"}], **fields}
    body = {name: body[name] for name in body if name in _schema(path)["properties"]}
    assert Draft202012Validator(_schema(path)).is_valid(body)
    _fields.check_fields(body, chat=_PATHS[path])
    _params.sampling_params(body, chat=_PATHS[path])


def test_completions_logprobs_reads_an_integral_float() -> None:
    body = {"model": "m", "prompt": "a", "logprobs": 2.0}
    assert Draft202012Validator(_schema("/v1/completions")).is_valid(body)
    _fields.check_fields(body, chat=False)
    assert _params.sampling_params(body, chat=False).top_logprobs == 2


_F = {"type": "function", "function": {"name": "f"}}


@pytest.mark.parametrize(
    ("fields", "accepted"),
    [
        ({}, True),
        ({"tools": None, "tool_choice": None}, True),
        ({"tools": [_F]}, True),
        ({"tools": [{"function": {"name": "f", "parameters": None, "strict": True}}]}, True),
        ({"tools": [{**_F, "function": {"name": "f", "parameters": {"type": "object"}}}]}, True),
        ({"tools": []}, True),
        ({"tools": [], "tool_choice": "none"}, True),
        ({"tool_choice": "none"}, True),
        ({"tools": [_F], "tool_choice": "required"}, True),
        ({"tools": [_F], "tool_choice": {"function": {"name": "f"}}}, True),
        ({"tools": {}}, False),
        ({"tools": [{"type": "retrieval"}]}, False),
        ({"tools": [{"type": None, "function": {"name": "f"}}]}, False),
        ({"tools": ["f"]}, False),
        ({"tools": [{"type": "function"}]}, False),
        ({"tools": [{"function": {"name": "a b"}}]}, False),
        ({"tools": [{"function": {"name": ""}}]}, False),
        ({"tools": [{"function": {"name": 1}}]}, False),
        ({"tools": [{"function": {"name": "f", "parameters": []}}]}, False),
        ({"tool_choice": "auto"}, False),
        ({"tools": [], "tool_choice": "required"}, False),
        ({"tool_choice": {"function": {"name": "f"}}}, False),
        ({"tools": [_F], "tool_choice": "sometimes"}, False),
        ({"tools": [_F], "tool_choice": 1}, False),
        ({"tools": [_F], "tool_choice": {"function": "f"}}, False),
        ({"tools": [_F], "tool_choice": {"type": "function"}}, False),
    ],
)
def test_tools_and_tool_choice_the_document_accepts_as_the_route(
    fields: dict[str, Any], accepted: bool
) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "a"}], **fields}
    assert Draft202012Validator(_schema("/v1/chat/completions")).is_valid(body) is accepted
    try:
        plan_tools(parse_tools(body.get("tools")), body.get("tool_choice"))
    except InvalidParameterError:
        assert not accepted
    else:
        assert accepted


@pytest.mark.parametrize("seed", [-(2**63) - 1, 2**64])
@pytest.mark.parametrize("path", list(_PATHS))
def test_an_integer_beyond_64_bits_read_as_a_float_is_not_taken_as_the_bound(
    path: str, seed: int
) -> None:
    # orjson reads -2**63 - 1 as -9.223372036854776e18, which equals -2**63 (MIN_SEED).
    body: dict[str, Any] = {"model": "m", "seed": seed}
    body.update(
        {"messages": [{"role": "user", "content": "a"}]} if _PATHS[path] else {"prompt": "a"}
    )
    assert not Draft202012Validator(_schema(path)).is_valid(body)
    body["seed"] = orjson.loads(str(seed))
    _fields.check_fields(body, chat=_PATHS[path])
    with pytest.raises(APIError):
        _params.sampling_params(body, chat=_PATHS[path])


# Ollama's /api/chat and /api/generate (protocols/ollama/): options and messages.
@pytest.mark.parametrize(
    "options",
    [
        {"temperature": 3},
        {"top_p": 0},
        {"top_k": -2},
        {"top_k": 2.5},
        {"num_predict": "8"},
        {"stop": ""},
        {"stop": ["a", "b", "c", "d", "e"]},
        {"seed": 2**63},
    ],
)
def test_ollama_options_schema_refuses_what_the_route_refuses(options: dict[str, Any]) -> None:
    assert not Draft202012Validator(ollama_options.OPTIONS_SCHEMA).is_valid(options)
    with pytest.raises(APIError) as refused:
        ollama_options.sampling_params({"options": options})
    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    "options",
    [
        {"top_k": 3.0, "seed": 7.0, "num_predict": 4.0},  # JSON Schema's integers
        {"temperature": None, "num_ctx": 2048},  # null is "not sent"; runtime options ignored
        {"stop": ["a", "b"]},
    ],
)
def test_ollama_options_schema_accepts_what_the_route_accepts(options: dict[str, Any]) -> None:
    assert Draft202012Validator(ollama_options.OPTIONS_SCHEMA).is_valid(options)
    params = ollama_options.sampling_params({"options": options})
    assert params.max_tokens in (None, 4)


def test_ollama_does_not_round_a_huge_seed_into_range() -> None:
    with pytest.raises(APIError):
        ollama_options.sampling_params({"options": {"seed": -9.223372036854776e18}})


@pytest.fixture(scope="module")
def ollama_client() -> Iterator[TestClient]:
    with TestClient(create_app(ServerSettings(models_dir=MODELS_DIR, intra_op_threads=1))) as c:
        deadline = time.monotonic() + 120
        while c.get("/ready").status_code != 200:  # a condition polled, not a timed wait
            assert time.monotonic() < deadline, "not ready in 120 s"
            time.sleep(0.05)
        yield c


@pytest.mark.parametrize("images", ["", 0, False, {}, ["aGk="]])
def test_ollama_chat_refuses_images_the_schema_calls_invalid(
    ollama_client: TestClient, images: Any
) -> None:
    body = {
        "model": "tiny-shakespeare",
        "stream": False,
        "messages": [{"role": "user", "content": "hi", "images": images}],
    }
    assert not Draft202012Validator(_schema("/api/chat")).is_valid(body)
    answer = ollama_client.post("/api/chat", json=body)
    assert answer.status_code == 400
    assert "images" in answer.json()["error"]


@pytest.mark.parametrize("images", [None, []])
def test_ollama_chat_accepts_no_images(ollama_client: TestClient, images: Any) -> None:
    body = {
        "model": "tiny-shakespeare",
        "stream": False,
        "options": {"num_predict": 2.0},
        "messages": [{"role": "user", "content": "hi", "images": images}],
    }
    assert Draft202012Validator(_schema("/api/chat")).is_valid(body)
    answer = ollama_client.post("/api/chat", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["eval_count"] <= 2


# TGI's /models/{model}/generate[_stream] parameters (protocols/hf/_tgi.py).
@pytest.mark.parametrize(
    "parameters",
    [
        {"temperature": 0},
        {"temperature": 3},
        {"top_p": 1},
        {"top_k": 0},
        {"seed": -1},
        {"stop": [""]},
        {"stop": "a"},
        {"best_of": 2},
        {"typical_p": 0.5},
        {"watermark": True},
        {"details": 1},
        {"grammar": {"type": "lark", "value": "start: 'a'"}},
        {"unknown": 1},
        [],
    ],
)
def test_tgi_parameters_schema_refuses_what_the_route_refuses(parameters: Any) -> None:
    body = {"inputs": "hi", "parameters": parameters}
    assert not Draft202012Validator(_schema("/models/{model}/generate")).is_valid(body)
    with pytest.raises(APIError) as refused:
        tgi_request(body, max_new_tokens_default=None)
    assert refused.value.status_code == 422


@pytest.mark.parametrize(
    "parameters",
    [
        # JSON Schema's integers (and its const 1 / 0): the route refused each float before.
        {"max_new_tokens": 4.0, "seed": 7.0, "top_k": 3.0, "truncate": 2.0},
        {"best_of": 1.0, "top_n_tokens": 0.0, "max_new_tokens": 4},
        {"grammar": {"type": "regex", "value": "[a-z]+"}, "max_new_tokens": 4, "details": None},
    ],
)
def test_tgi_parameters_schema_accepts_what_the_route_accepts(parameters: Any) -> None:
    body = {"inputs": "hi", "parameters": parameters}
    assert Draft202012Validator(_schema("/models/{model}/generate")).is_valid(body)
    assert tgi_request(body, max_new_tokens_default=None).params.max_tokens == 4
