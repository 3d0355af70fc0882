"""Grammar-constrained decoding with llguidance: a token mask per row, from one grammar each.

A :class:`Grammar` is what a request asks for (a JSON schema, a regex, a list of choices, a Lark
grammar), compiled to llguidance's own grammar text and checked once on the event loop, so a bad
schema is a 400 before anything is queued. Each constrained sequence then owns a
:class:`GrammarMatcher`: before every sampling step it gives the set of tokens that keep the
output inside the grammar, after it consumes the token that was picked. llguidance computes a
mask for this 4,096-token vocabulary in about 0.1 ms (see ``benchmarks/bench_grammar.py``).

JSON is generated compact (no free whitespace): with whitespace allowed anywhere a small model
can pad an object with newlines until it runs out of tokens, which vLLM's guidance backend
avoids the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import llguidance
import llguidance.numpy
import numpy as np
import numpy.typing as npt

from maaskit_server.generation.errors import InvalidParameterError

if TYPE_CHECKING:  # a stub-only type: the compiled module does not export it
    from llguidance._lib import JsonCompileOptions

BoolArray = npt.NDArray[np.bool_]

# Compact JSON, as json.dumps(separators=(", ", ": ")) writes it, and nothing else in between.
_JSON_OPTIONS: JsonCompileOptions = {
    "whitespace_flexible": False,
    "item_separator": ", ",
    "key_separator": ": ",
}
# Strings a schema leaves unbounded are capped so that an answer of a small model, which rarely
# closes a string by itself, still ends inside its token budget. The output is then valid for
# the schema as given (a shorter string satisfies it); a schema's own maxLength always wins.
DEFAULT_MAX_STRING_LENGTH = 32
# Arrays and free-form objects likewise: a babbling model never closes them either.
DEFAULT_MAX_ITEMS = 4
DEFAULT_MAX_PROPERTIES = 4
# Numbers: a digit is the likeliest token after a digit for a small model, so an unbounded
# number never ends. Six digits each side at most, fractions to three places.
DEFAULT_NUMBER_LIMIT = 999_999
DEFAULT_MULTIPLE_OF = 0.001
# Keys of an object whose schema names none (``{"type": "object"}``, JSON mode).
_FREE_KEY = "^[A-Za-z_][A-Za-z0-9_]{0,15}$"
_FREE_VALUE: dict[str, Any] = {
    "type": ["string", "number", "boolean", "null"],
    "maxLength": DEFAULT_MAX_STRING_LENGTH,
}


@dataclass(frozen=True)
class Grammar:
    """A compiled constraint: llguidance grammar text and what it was made from (for errors)."""

    text: str
    kind: str

    @classmethod
    def json_schema(cls, schema: Any, *, param: str) -> Grammar:
        if not isinstance(schema, dict):
            raise InvalidParameterError(f"'{param}' must be a JSON schema object.", param)
        bounded = _bound_lengths(schema)
        try:
            text = llguidance.LLMatcher.grammar_from_json_schema(bounded, defaults=_JSON_OPTIONS)
        except ValueError as exc:
            message = f"'{param}' is not a usable JSON schema: {exc}"
            raise InvalidParameterError(message, param) from exc
        return cls(text, "json_schema")

    @classmethod
    def json_object(cls) -> Grammar:
        """Any JSON object: OpenAI's ``{"type": "json_object"}`` and Ollama's ``"json"``."""
        return cls.json_schema({"type": "object"}, param="response_format")

    @classmethod
    def regex(cls, pattern: Any, *, param: str) -> Grammar:
        if not isinstance(pattern, str) or not pattern:
            raise InvalidParameterError(f"'{param}' must be a non-empty regular expression.", param)
        return cls(llguidance.LLMatcher.grammar_from_regex(pattern), "regex")

    @classmethod
    def choice(cls, options: Any, *, param: str) -> Grammar:
        if (
            not isinstance(options, list)
            or not options
            or not all(isinstance(item, str) and item for item in options)
        ):
            message = f"'{param}' must be a non-empty list of non-empty strings."
            raise InvalidParameterError(message, param)
        alternatives = " | ".join(json.dumps(item) for item in options)
        return cls.lark(f"start: {alternatives}", param=param)

    @classmethod
    def lark(cls, grammar: Any, *, param: str) -> Grammar:
        """A grammar in llguidance's Lark dialect (which also embeds ``%json {...}``)."""
        if not isinstance(grammar, str) or not grammar.strip():
            raise InvalidParameterError(f"'{param}' must be a non-empty Lark grammar.", param)
        return cls(llguidance.LLMatcher.grammar_from_lark(grammar), "lark")

    @classmethod
    def tool_call(cls, tools: Sequence[tuple[str, dict[str, Any]]]) -> Grammar:
        """One call of one of ``tools`` (name, parameters schema): ``NAME{"arg": ...}``.

        The name comes first and is followed by its arguments as compact JSON; a function name
        cannot contain ``{`` (OpenAI allows ``[a-zA-Z0-9_-]``), so the first ``{`` splits them
        even while streaming.
        """
        rules = []
        for index, (name, parameters) in enumerate(tools):
            bounded = {**_bound_lengths(parameters), "x-guidance": dict(_JSON_OPTIONS)}
            rules.append(f"call_{index}: {json.dumps(name)} %json {json.dumps(bounded)}")
        start = " | ".join(f"call_{index}" for index in range(len(tools)))
        return cls.lark("\n".join([f"start: {start}", *rules]), param="tools")


class GrammarCompiler:
    """The tokenizer side of llguidance for one model: checks grammars and makes matchers."""

    def __init__(self, tokenizer_json: str, eos_token_ids: Sequence[int], vocab_size: int) -> None:
        # eos_token tells llguidance which token ends a complete output; the mask allows it
        # exactly when the grammar accepts what has been generated.
        eos = sorted(eos_token_ids)
        self.vocab_size = vocab_size
        self._tokenizer = llguidance.LLTokenizer(
            tokenizer_json, n_vocab=vocab_size, eos_token=eos or None
        )
        # Masks of the rows of one step are computed together, off the GIL, on two threads at
        # most: the machine's other core runs onnxruntime and the event loop.
        self._executor = llguidance.LLExecutor(num_threads=2)

    def check(self, grammar: Grammar, param: str) -> None:
        """Raise InvalidParameterError (a 400) when llguidance cannot build ``grammar``."""
        error = llguidance.LLMatcher.validate_grammar(grammar.text, self._tokenizer)
        if error and not error.startswith("WARNING"):
            raise InvalidParameterError(f"'{param}' cannot be used: {error.strip()}", param)

    def matcher(self, grammar: Grammar) -> GrammarMatcher:
        return GrammarMatcher(llguidance.LLMatcher(self._tokenizer, grammar.text, log_level=0))

    def allowed(self, matchers: Sequence[GrammarMatcher], vocab_size: int) -> BoolArray:
        """The allowed tokens of every matcher, as rows of a ``[len(matchers), vocab_size]``
        boolean array (one call for the whole step)."""
        shape = llguidance.numpy.get_bitmask_shape(len(matchers), self.vocab_size)
        bits = np.full(shape, -1, dtype=np.int32)
        pairs = [(matcher._matcher, row) for row, matcher in enumerate(matchers)]
        llguidance.numpy.fill_next_token_bitmask_par(self._executor, pairs, bits)
        unpacked = np.unpackbits(bits.view(np.uint8), axis=1, bitorder="little")
        mask: BoolArray = unpacked[:, :vocab_size].astype(np.bool_)
        return mask


class GrammarMatcher:
    """The grammar state of one sequence."""

    def __init__(self, matcher: llguidance.LLMatcher) -> None:
        self._matcher = matcher

    def allowed(self, vocab_size: int) -> BoolArray:
        """Which of the first ``vocab_size`` token ids may come next."""
        bits = np.frombuffer(self._matcher.compute_bitmask(), dtype=np.uint8)
        mask: BoolArray = np.unpackbits(bits, bitorder="little")[:vocab_size].astype(np.bool_)
        return mask

    def consume(self, token_id: int) -> None:
        # A token outside the mask cannot be sampled, so a refusal here is an engine bug; it
        # surfaces as an error of this request rather than as output outside the grammar.
        if not self._matcher.consume_token(token_id):
            raise RuntimeError(f"grammar rejected token {token_id}: {self._matcher.get_error()}")

    @property
    def done(self) -> bool:
        """Nothing but the end of the output may follow (the grammar is complete)."""
        return bool(self._matcher.is_stopped())

    @property
    def error(self) -> str | None:
        return str(self._matcher.get_error()) if self._matcher.is_error() else None


def _bound_lengths(schema: Any) -> Any:
    """A copy of ``schema`` whose unbounded strings, arrays and objects get default bounds.

    Every output of the bounded schema is valid for the original one: bounds only ever remove
    outputs (an object that lists its properties gets no others; one that lists none gets
    short identifier keys with scalar values).
    """
    if isinstance(schema, list):
        return [_bound_lengths(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    bounded = {key: _bound_lengths(value) for key, value in schema.items()}
    types = bounded.get("type")
    type_names = types if isinstance(types, list) else [types]
    no_format = "format" not in bounded and "pattern" not in bounded and "enum" not in bounded
    if "string" in type_names and "maxLength" not in bounded and no_format:
        minimum = bounded.get("minLength", 0)
        floor = minimum if isinstance(minimum, int) else 0
        bounded["maxLength"] = max(DEFAULT_MAX_STRING_LENGTH, floor)
    if "array" in type_names and "maxItems" not in bounded:
        minimum = bounded.get("minItems", 0)
        floor = minimum if isinstance(minimum, int) else 0
        bounded["maxItems"] = max(DEFAULT_MAX_ITEMS, floor)
    if "integer" in type_names or "number" in type_names:
        _bound_number(bounded, integer="number" not in type_names)
    if "object" in type_names and "additionalProperties" not in bounded:
        bounded["additionalProperties"] = False
        if "properties" not in bounded and "patternProperties" not in bounded:
            bounded["patternProperties"] = {_FREE_KEY: _bound_lengths(_FREE_VALUE)}
            bounded.setdefault("maxProperties", DEFAULT_MAX_PROPERTIES)
    return bounded


def _bound_number(schema: dict[str, Any], *, integer: bool) -> None:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    numeric = (int, float)
    if high is None:
        floor = low if isinstance(low, numeric) and not isinstance(low, bool) else 0
        schema["maximum"] = max(DEFAULT_NUMBER_LIMIT, floor)
    if low is None:
        ceiling = high if isinstance(high, numeric) and not isinstance(high, bool) else 0
        schema["minimum"] = min(-DEFAULT_NUMBER_LIMIT, ceiling)
    if not integer and "multipleOf" not in schema:
        schema["multipleOf"] = DEFAULT_MULTIPLE_OF
