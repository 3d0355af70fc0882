"""Sampling parameters of one generation request, validated against OpenAI's ranges."""

from __future__ import annotations

from dataclasses import dataclass, field

from maaskit_server.generation.errors import InvalidParameterError
from maaskit_server.generation.grammar import Grammar

MAX_STOP_SEQUENCES = 4
MAX_TOP_LOGPROBS = 20
MAX_N = 16
# vLLM's range for seeds: a signed 64-bit integer (torch.long).
MIN_SEED = -(2**63)
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens. ``temperature == 0`` means greedy (argmax).

    ``top_k <= 0`` disables top-k, ``top_p == 1`` disables nucleus sampling. ``max_tokens`` of
    ``None`` means "until the context window is full". ``top_logprobs`` is only used when
    ``logprobs`` is true.
    """

    max_tokens: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    logprobs: bool = False
    top_logprobs: int = 0
    n: int = 1
    # vLLM's extension: keep generating past EOS (benchmarks and tests that need exact lengths).
    ignore_eos: bool = False
    # Constrained decoding: every token is picked among those the grammar allows.
    grammar: Grammar | None = None
    # vLLM's (and OpenAI's logit_bias) extras, each a no-op at its default.
    logit_bias: tuple[tuple[int, float], ...] = ()
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    min_tokens: int = 0
    stop_token_ids: tuple[int, ...] = ()
    allowed_token_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _check_int("max_tokens", self.max_tokens, minimum=1, optional=True)
        _check_number("temperature", self.temperature, 0.0, 2.0)
        _check_number("top_p", self.top_p, 0.0, 1.0)
        if self.top_p == 0.0:
            raise InvalidParameterError("top_p must be greater than 0.", "top_p")
        _check_int("top_k", self.top_k, minimum=-1)
        _check_int("seed", self.seed, minimum=MIN_SEED, maximum=MAX_SEED, optional=True)
        _check_number("frequency_penalty", self.frequency_penalty, -2.0, 2.0)
        _check_number("presence_penalty", self.presence_penalty, -2.0, 2.0)
        _check_int("top_logprobs", self.top_logprobs, minimum=0, maximum=MAX_TOP_LOGPROBS)
        _check_int("n", self.n, minimum=1, maximum=MAX_N)
        _check_number("min_p", self.min_p, 0.0, 1.0)
        _check_number("repetition_penalty", self.repetition_penalty, 0.0, 10.0)
        if self.repetition_penalty == 0.0:
            raise InvalidParameterError(
                "repetition_penalty must be greater than 0.", "repetition_penalty"
            )
        _check_int("min_tokens", self.min_tokens, minimum=0)
        if self.max_tokens is not None and self.min_tokens > self.max_tokens:
            message = (
                f"min_tokens ({self.min_tokens}) must not exceed max_tokens ({self.max_tokens})."
            )
            raise InvalidParameterError(message, "min_tokens")
        for name, ids in (
            ("stop_token_ids", self.stop_token_ids),
            ("allowed_token_ids", self.allowed_token_ids),
            ("logit_bias", tuple(token for token, _ in self.logit_bias)),
        ):
            for token in ids:
                _check_int(name, token, minimum=0)
        for _, bias in self.logit_bias:
            _check_number("logit_bias", bias, -100.0, 100.0)
        if not isinstance(self.logprobs, bool):
            raise InvalidParameterError("logprobs must be a boolean.", "logprobs")
        if not isinstance(self.ignore_eos, bool):
            raise InvalidParameterError("ignore_eos must be a boolean.", "ignore_eos")
        if len(self.stop) > MAX_STOP_SEQUENCES:
            raise InvalidParameterError(
                f"stop accepts at most {MAX_STOP_SEQUENCES} sequences.", "stop"
            )
        for text in self.stop:
            if not isinstance(text, str) or not text:
                message = "each stop sequence must be a non-empty string."
                raise InvalidParameterError(message, "stop")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def for_choice(self, index: int) -> SamplingParams:
        """Parameters of choice ``index`` of an ``n > 1`` request: distinct, reproducible seeds."""
        # Wrapped inside the signed 64-bit range, so the last seed's siblings stay valid.
        seed = None if self.seed is None else (self.seed + index - MIN_SEED) % 2**64 + MIN_SEED
        return SamplingParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            seed=seed,
            stop=self.stop,
            frequency_penalty=self.frequency_penalty,
            presence_penalty=self.presence_penalty,
            logprobs=self.logprobs,
            top_logprobs=self.top_logprobs,
            n=1,
            ignore_eos=self.ignore_eos,
            grammar=self.grammar,
            logit_bias=self.logit_bias,
            min_p=self.min_p,
            repetition_penalty=self.repetition_penalty,
            min_tokens=self.min_tokens,
            stop_token_ids=self.stop_token_ids,
            allowed_token_ids=self.allowed_token_ids,
        )

    def token_ids(self) -> tuple[tuple[str, int], ...]:
        """Every token id these parameters name, with the parameter naming it."""
        named = [("stop_token_ids", token) for token in self.stop_token_ids]
        named += [("allowed_token_ids", token) for token in self.allowed_token_ids]
        named += [("logit_bias", token) for token, _ in self.logit_bias]
        return tuple(named)


def _check_number(name: str, value: object, low: float, high: float) -> None:
    # bool is an int subclass; `true` is not a temperature.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameterError(f"{name} must be a number.", name)
    if not low <= value <= high or value != value:
        message = f"{name} must be between {low:g} and {high:g}; got {value}."
        raise InvalidParameterError(message, name)


def _check_int(
    name: str,
    value: object,
    *,
    minimum: int,
    maximum: int | None = None,
    optional: bool = False,
) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(f"{name} must be an integer.", name)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise InvalidParameterError(f"{name} must be {bound}; got {value}.", name)
