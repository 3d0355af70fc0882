"""What constrained decoding costs per token: the engine with and without a grammar.

``python -m benchmarks.grammar [--models DIR] [--quick]``

Rows, each the median of cycles that visit every row in turn (so the ratios compare
measurements taken under the same conditions):

* ``llguidance mask + consume``: the grammar's own work for one token (computing the mask of
  allowed tokens over the 4,096-token vocabulary, then advancing the grammar), measured alone
  for a JSON schema and for an open regex, in microseconds; and for 8 rows masked in one call,
  as the engine does each step.
* ``engine, 8 rows``: tokens/s of the in-process engine with 8 sampled sequences in one batch,
  free, and with every row under an open regex (``(.|\\n)*``: every token but EOS allowed, so
  both runs generate exactly the same number of tokens and only the grammar's cost differs).

A script, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ROOT / "reference_server" / "maaskit_server" / "models"
RESULTS = Path(__file__).resolve().parent / "results"
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age", "tags"],
    "additionalProperties": False,
}
OPEN_REGEX = r"(.|\n)*"
ROWS = 8


def mask_microseconds(model_dir: Path, grammar_kind: str, tokens: int, *, rows: int = 1) -> float:
    """Mean time of one row's mask + consume, ``rows`` matchers masked in one call, following
    a model-free walk (the last allowed token id each time: deterministic, avoids EOS)."""
    from maaskit_server.generation.engine import GenerationEngine
    from maaskit_server.generation.grammar import Grammar

    engine = GenerationEngine.from_folder(model_dir)
    grammar = (
        Grammar.json_schema(SCHEMA, param="bench")
        if grammar_kind == "json_schema"
        else Grammar.regex(OPEN_REGEX, param="bench")
    )
    compiler = engine.grammars
    vocab = compiler.vocab_size
    spent, steps = 0.0, 0
    while steps < tokens:
        matchers = [compiler.matcher(grammar) for _ in range(rows)]
        while steps < tokens and not any(matcher.done for matcher in matchers):
            started = time.perf_counter()
            allowed = compiler.allowed(matchers, vocab)
            for matcher, mask in zip(matchers, allowed, strict=True):
                matcher.consume(int(mask.nonzero()[0][-1]))
            spent += time.perf_counter() - started
            steps += rows
    return spent / steps * 1e6


def engine_tokens_per_second(model_dir: Path, tokens: int, repeats: int, *, grammar: bool) -> float:
    from maaskit_server.generation.engine import GenerationEngine
    from maaskit_server.generation.grammar import Grammar
    from maaskit_server.generation.params import SamplingParams

    engine = GenerationEngine.from_folder(model_dir)
    engine.start()
    constraint = Grammar.regex(OPEN_REGEX, param="bench") if grammar else None

    async def one(seed: int) -> int:
        params = SamplingParams(
            max_tokens=tokens, temperature=1.0, seed=seed, ignore_eos=True, grammar=constraint
        )
        handle = engine.submit(engine.encode("ROMEO:"), params)
        count = 0
        async for event in handle.events(timeout=120):
            count += hasattr(event, "token")
        return count

    async def all_runs() -> tuple[int, float]:
        started = time.perf_counter()
        total = 0
        for round_index in range(repeats):
            counts = await asyncio.gather(*(one(round_index * ROWS + i) for i in range(ROWS)))
            total += sum(counts)
        return total, time.perf_counter() - started

    try:
        total, seconds = asyncio.run(all_runs())
    finally:
        engine.close()
    return total / seconds


def run(models_dir: Path, *, quick: bool, model: str = "tiny-shakespeare") -> dict[str, Any]:
    model_dir = models_dir / model
    tokens = 32 if quick else 96
    repeats = 1 if quick else 4
    cycles = 1 if quick else 3
    samples: dict[str, list[float]] = {}
    free_name = f"engine, {ROWS} sampled rows, no grammar (tokens/s)"
    bound_name = f"engine, {ROWS} sampled rows, each under a grammar (tokens/s)"
    json_name = "llguidance mask + consume, JSON schema (us/token)"
    regex_name = "llguidance mask + consume, open regex (us/token)"
    batched_name = f"llguidance mask + consume, JSON schema, {ROWS} rows per call (us/token)"
    for _ in range(cycles):
        samples.setdefault(free_name, []).append(
            engine_tokens_per_second(model_dir, tokens, repeats, grammar=False)
        )
        samples.setdefault(bound_name, []).append(
            engine_tokens_per_second(model_dir, tokens, repeats, grammar=True)
        )
        samples.setdefault(json_name, []).append(
            mask_microseconds(model_dir, "json_schema", 200 if quick else 2000)
        )
        samples.setdefault(regex_name, []).append(
            mask_microseconds(model_dir, "regex", 200 if quick else 2000)
        )
        samples.setdefault(batched_name, []).append(
            mask_microseconds(model_dir, "json_schema", 400 if quick else 4000, rows=ROWS)
        )
    rows = {name: statistics.median(values) for name, values in samples.items()}
    figures: dict[str, Any] = {name: round(value, 1) for name, value in rows.items()}
    free, bound = rows[free_name], rows[bound_name]
    figures["constrained / free engine throughput"] = round(bound / free, 3)
    # What a grammar adds to each token, from the two throughputs (rows share a step).
    figures["grammar cost per token in the engine (us)"] = round(
        (1.0 / bound - 1.0 / free) * 1e6, 1
    )
    return {
        "model": model,
        "rows": ROWS,
        "new_tokens_per_row": tokens,
        "cycles": cycles,
        "samples": {name: [round(v, 2) for v in values] for name, values in samples.items()},
        "figures": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    args = parser.parse_args()
    result = run(args.models, quick=args.quick)
    for name, value in result["figures"].items():
        print(f"{name:<64} {value:>10}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "grammar.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
