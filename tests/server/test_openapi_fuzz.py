"""schemathesis over the server's own /openapi.json, in-process on the default models: a few
generated requests per operation (bounded, so CI stays fast), no 5xx, and every response's
status, content type and body conforming to the document.

Every check runs, ``positive_data_acceptance`` too (a request the document calls valid must
not be refused: 4xx other than 401/403/404/409/429), except on the operations listed in
``NOT_YET_EXACT`` with the reason their schemas are not yet exact.

Which model a request names is not part of
the protocol but of what is served, so the cases name a served model of the operation's kind
(``_served_model``), and the few constraints between fields that JSON Schema cannot state
(``best_of`` equal to ``n``, ``min_tokens`` at most ``max_tokens``, a completion within the
model's 256-token context, the one ``dimensions`` the embedder has, /v1/score's text_1 list
as long as text_2) are applied to the
generated case (``_cross_field``). The fields that constrain an answer (``guided_regex``,
``guided_grammar``, ``structured_outputs``, ...) must hold a regex or grammar that compiles,
which JSON Schema cannot state, and at most one may be sent: in a positive case only (the one
``positive_data_acceptance`` judges), the first one sent gets a valid value and the others null
(``_one_valid_constraint``); likewise tools get unique names, a named ``tool_choice`` one of
them and parameters llguidance compiles (``_valid_tools``), and chat messages are cut to fit
the context (``_short_messages``); negative cases keep what was generated. Likewise the tensors a
KServe model takes are what is served, not the protocol: in a positive case of
``/v2/models/{model}/infer`` the tensors become the one input the served model's metadata
(``GET /v2/models/{model}``) names, BYTES, keeping the generated non-empty strings when there
are any (else one text), with the shape their count, and the outputs asked for are the
model's (``_served_tensors``). ``POST /models/{model}`` takes the body of the served model's
task (one branch of its ``anyOf`` each): a positive case names the model of the first task
whose branch its body matches (``_model_for_task_body``). Everything
else is generated from the document as it stands.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from _support.server import MODELS_DIR
from hypothesis import HealthCheck, Phase, settings
from jsonschema import Draft202012Validator
from maaskit_server.app import create_app
from maaskit_server.generation.params import MAX_N
from maaskit_server.settings import ServerSettings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.generation.case import Case
from starlette.applications import Starlette
from starlette.testclient import TestClient

# Bounded so CI stays fast; MAASKIT_FUZZ_EXAMPLES=200 for a deeper local run.
EXAMPLES_PER_OPERATION = int(os.environ.get("MAASKIT_FUZZ_EXAMPLES", "2"))
# A deeper run limited to some paths (a regex searched in each path; -k cannot select them,
# schemathesis runs every operation inside one test): MAASKIT_FUZZ_PATHS='embeddings|classify'.
PATHS = os.environ.get("MAASKIT_FUZZ_PATHS")
# Generated answers stay short: the tiny model's context is 256 tokens, and CI stays fast.
MAX_NEW_TOKENS = 8
# all-minilm-l6-v2's vectors, the only length it can return ("dimensions").
EMBEDDING_DIMENSIONS = 384
# At most this many texts in a generated KServe tensor (CI stays fast; the limit is 2048).
MAX_INPUTS = 32
# The smallest vocabulary of the default models (tiny-shakespeare's).
VOCABULARY = 4096
LM, EMBEDDER, CLASSIFIER, NER = "tiny-shakespeare", "all-minilm-l6-v2", "sentiment", "pii-ner"
_KIND_BY_PATH_PART = {
    "chat": LM, "completions": LM, "generate": LM, "generate_stream": LM, "tokenize": LM,
    "detokenize": LM, "embeddings": EMBEDDER, "embed": EMBEDDER, "similarity": EMBEDDER,
    "score": EMBEDDER, "rerank": EMBEDDER, "classify": CLASSIFIER, "predict": CLASSIFIER,
    "token-classification": NER,
}  # fmt: skip


def _served_model(path: str) -> str:
    for part in reversed(path.strip("/").split("/")):
        if part in _KIND_BY_PATH_PART:
            return _KIND_BY_PATH_PART[part]
    return CLASSIFIER


@pytest.fixture(scope="module")
def ready_app() -> Iterator[Starlette]:
    app = create_app(ServerSettings(models_dir=MODELS_DIR, intra_op_threads=1))
    with TestClient(app) as client:
        deadline = time.monotonic() + 120
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, "not ready in 120 s"
            time.sleep(0.05)
        yield app


@pytest.fixture(scope="module")
def api_schema(ready_app: Starlette) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", ready_app)
    # No lifespan here: the module's fixture has started the app already.
    client = TestClient(ready_app)
    metadata = client.get(f"/v2/models/{CLASSIFIER}").json()
    task_bodies = client.get("/openapi.json").json()["paths"]["/models/{model}"]["post"]
    task_branches = task_bodies["requestBody"]["content"]["application/json"]["schema"]["anyOf"]

    @loaded.hook
    def map_case(context: Any, case: Case[Any]) -> Case[Any]:
        # Only names are replaced: a case made invalid on purpose keeps its invalid model.
        model = _served_model(case.operation.path)
        for name in ("model", "name"):
            if case.path_parameters and isinstance(case.path_parameters.get(name), str):
                case.path_parameters[name] = model
        if isinstance(case.body, dict):
            if isinstance(case.body.get("model"), str):
                case.body["model"] = model
            _cross_field(case.body)
            if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
                _one_valid_constraint(case.body)
                if case.operation.path.endswith("/infer"):
                    _served_tensors(case.body, metadata)
                if case.operation.path == "/models/{model}" and case.path_parameters:
                    case.path_parameters["model"] = _model_for_task_body(case.body, task_branches)
                if case.operation.path.endswith("/chat/completions"):  # the OpenAI chat body
                    _valid_tools(case.body)
                    _short_messages(case.body)

                _short_conversation(case.body)
            # KServe and TGI take their sampling keys in a nested "parameters" object.
            parameters = case.body.get("parameters")
            if isinstance(parameters, dict):
                _cross_field(parameters)
                _agreeing_limits(case.body, parameters)
            # Ollama's in "options" (num_predict within the model's context).
            options = case.body.get("options")
            if isinstance(options, dict):
                _cross_field(options)
        return case

    return loaded


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integral(value: Any) -> bool:
    """An integer in JSON Schema's sense: 5.0 too (generated as such for token ids)."""
    return _integer(value) or (isinstance(value, float) and value.is_integer())


def _in_vocabulary(value: Any) -> Any:
    """Token ids (lists of integers, or lists of them) taken below the served vocabularies;
    an integral float stays a float, so the route's reading of it is still exercised."""
    if isinstance(value, list) and value and all(_integral(item) for item in value):
        return [item % VOCABULARY if item >= 0 else item for item in value]
    if isinstance(value, list) and value and all(isinstance(item, list) for item in value):
        return [_in_vocabulary(item) for item in value]
    return value


def _agreeing_limits(body: dict[str, Any], parameters: dict[str, Any]) -> None:
    """KServe's generate reads the top level and ``parameters`` merged (``parameters`` wins);
    max_tokens and max_completion_tokens, when both valid, must then agree."""

    def valid(value: Any) -> bool:  # an integral float is the integer it equals
        return isinstance(value, int | float) and not isinstance(value, bool) and value >= 1

    limit = {**body, **parameters}.get("max_tokens")
    if not (isinstance(limit, int | float) and valid(limit) and float(limit).is_integer()):
        return
    for level in (body, parameters):
        if valid(level.get("max_completion_tokens")):
            level["max_completion_tokens"] = limit


def _cross_field(body: dict[str, Any]) -> None:
    # Only valid values are adjusted: a value made invalid on purpose stays as generated.
    # Integers may come as integral floats (2.0), which the routes read as integers.
    for name in ("max_tokens", "max_completion_tokens", "num_predict", "max_new_tokens"):
        if _integral(body.get(name)):
            body[name] = min(body[name], MAX_NEW_TOKENS)
    if _integral(body.get("best_of")) and 1 <= body["best_of"] <= MAX_N:
        body["best_of"] = body["n"] if _integral(body.get("n")) else 1
    if _integral(body.get("top_logprobs")) and isinstance(body.get("logprobs"), bool | None):
        body["logprobs"] = True
    for name in ("tokens", "prompt", "input", "stop_token_ids", "allowed_token_ids"):
        if name in body:
            body[name] = _in_vocabulary(body[name])
    bias = body.get("logit_bias")
    # A valid key matches ^[0-9]+$, which a trailing newline matches too ("12\n").
    if isinstance(bias, dict) and all(re.fullmatch(r"[0-9]+\n?", key) for key in bias):
        body["logit_bias"] = {str(int(key) % VOCABULARY): value for key, value in bias.items()}
    if _integral(body.get("dimensions")) and body["dimensions"] >= 1:
        body["dimensions"] = EMBEDDING_DIMENSIONS  # the served embedder's, as its name
    _paired_texts(body)
    if _integral(body.get("min_tokens")):
        # Chat reads max_completion_tokens first: the smaller bound holds either way.
        bounds: list[Any] = [body.get(name) for name in ("max_tokens", "max_completion_tokens")]
        limit = min([bound for bound in bounds if _integral(bound)] + [MAX_NEW_TOKENS])
        body["min_tokens"] = min(body["min_tokens"], limit)


def _paired_texts(body: dict[str, Any]) -> None:
    """/v1/score pairs two lists item by item: a text_1 list longer than one must be as long as
    text_2 (a text counts as a list of one); a longer text_1 keeps its first text."""
    first, second = body.get("text_1"), body.get("text_2")
    if not isinstance(first, list) or len(first) <= 1 or not isinstance(second, str | list):
        return
    if len(first) != (1 if isinstance(second, str) else len(second)):
        body["text_1"] = first[:1]


_MODEL_BY_TASK = {
    "text-classification": CLASSIFIER, "token-classification": NER,
    "feature-extraction": EMBEDDER, "text-generation": LM,
}  # fmt: skip


def _model_for_task_body(body: dict[str, Any], branches: list[dict[str, Any]]) -> str:
    """The served model of the first task whose body schema ``body`` matches."""
    for branch in branches:
        if Draft202012Validator(branch).is_valid(body):
            return _MODEL_BY_TASK[branch["title"]]
    return CLASSIFIER


def _served_tensors(body: dict[str, Any], metadata: dict[str, Any]) -> None:
    """For a positive case only: one tensor, the served model's input, BYTES, of the
    generated strings (non-empty ones; one text when none was generated) and shaped as their
    count; requested outputs renamed to the model's, binary tensor sizes dropped."""
    (served_input,) = metadata["inputs"]
    tensors = body.get("inputs")
    first = tensors[0] if isinstance(tensors, list) and tensors else {}
    data = first.get("data") if isinstance(first, dict) else None
    texts = [x for x in data if isinstance(x, str) and x] if isinstance(data, list) else []
    texts = texts[:MAX_INPUTS] or ["a text"]
    body["inputs"] = [
        {"name": served_input["name"], "datatype": "BYTES", "shape": [len(texts)], "data": texts}
    ]
    outputs = body.get("outputs")
    if isinstance(outputs, list):
        served_outputs = [output["name"] for output in metadata["outputs"]]
        for position, output in enumerate(outputs):
            if isinstance(output, dict):
                output["name"] = served_outputs[position % len(served_outputs)]


def _short_conversation(body: dict[str, Any]) -> None:
    """For a positive case only: a conversation within the model's 256-token context (beyond
    JSON Schema): 3 messages of at most 8 characters per text (4 bytes, 4 tokens each)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    del messages[3:]
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            message["content"] = content[:8]
        elif isinstance(content, list):
            del content[2:]
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    part["text"] = part["text"][:8]


# The fields that constrain a generated answer: at most one per request, and each valid in a
# sense JSON Schema cannot state (a regex or a Lark grammar that compiles, a JSON Schema).
_VALID_CONSTRAINT: dict[str, Any] = {
    "response_format": {"type": "json_object"},
    "guided_json": {"type": "object"},
    "guided_regex": "[a-z]{1,4}",
    "guided_choice": ["yes", "no"],
    "guided_grammar": 'start: "yes" | "no"',
    "guided_json_object": True,
    "structured_outputs": {"regex": "[a-z]{1,4}"},
}


def _one_valid_constraint(body: dict[str, Any]) -> None:
    """For a positive case only: the first constraint field sent gets a valid value, the
    others null (not sent). A negative case keeps what was generated."""
    sent = [name for name in _VALID_CONSTRAINT if name in body]
    for position, name in enumerate(sent):
        body[name] = _VALID_CONSTRAINT[name] if position == 0 else None
    # TGI's, in its nested parameters (a regex that must compile, as the others).
    parameters = body.get("parameters")
    if isinstance(parameters, dict) and parameters.get("grammar") is not None:
        parameters["grammar"] = {"type": "regex", "value": "[a-z]{1,4}"}


# A positive chat case keeps its last 3 messages, 2 text parts each, 8 characters a text: at
# most 4 byte tokens a character, the rendered prompt stays within the 256-token context.
_MESSAGES, _PARTS, _CHARACTERS = 3, 2, 8


def _short_messages(body: dict[str, Any]) -> None:
    """For a positive case only: the prompt fits the model's context (JSON Schema cannot
    count tokens); each message keeps its role and the kinds of its content."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    body["messages"] = messages[-_MESSAGES:]
    for message in body["messages"]:
        content = message.get("content")
        if isinstance(content, str):
            message["content"] = content[:_CHARACTERS]
        elif isinstance(content, list):
            message["content"] = [
                {**part, "text": part["text"][:_CHARACTERS]} for part in content[:_PARTS]
            ]


def _valid_tools(body: dict[str, Any]) -> None:
    """For a positive case only: what JSON Schema cannot state of tools. Function names are
    made unique, a named tool_choice names the first tool, and each tool's parameters is one
    llguidance can follow (it compiles an arbitrary JSON schema or refuses it)."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return
    for index, tool in enumerate(tools):
        function = tool["function"]
        function["name"] = f"{function['name'].rstrip(chr(10))[:60]}_{index}"
        if isinstance(function.get("parameters"), dict):
            function["parameters"] = {"type": "object", "properties": {"x": {"type": "integer"}}}
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and tools:
        choice["function"]["name"] = tools[0]["function"]["name"]


# Operations whose request schemas would still call valid some requests the route refuses skip
# positive_data_acceptance, each with its reason. None is left (#14): every check runs on all.
NOT_YET_EXACT: dict[str, str] = {}

# Routes that accept what their schema calls invalid, as the protocol they follow does.
LENIENT_ON_PURPOSE = {
    "POST /api/generate": "an empty prompt only loads the model and reads nothing else (Ollama)",
}

schema = schemathesis.pytest.from_fixture("api_schema")
if PATHS:
    schema = schema.include(path_regex=PATHS)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize=True,
    # Generated examples only: no shrinking (a failure prints its reproduction anyway).
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_and_never_answers_5xx(case: Case[Any]) -> None:
    excluded = []
    if case.operation.label in NOT_YET_EXACT:
        excluded.append(positive_data_acceptance)
    if case.operation.label in LENIENT_ON_PURPOSE:
        excluded.append(negative_data_rejection)
    case.call_and_validate(excluded_checks=excluded)
