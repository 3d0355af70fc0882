"""What the engine needs to know about a model folder (optimum export + maaskit.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MAX_RUNNING = 8
DEFAULT_MAX_WAITING = 64


@dataclass(frozen=True)
class GenerationModelConfig:
    name: str
    folder: Path
    max_context_tokens: int
    eos_token_ids: frozenset[int]
    chat_template: str | None
    special_tokens: dict[str, str] = field(default_factory=dict)
    max_running_sequences: int = DEFAULT_MAX_RUNNING
    max_waiting: int = DEFAULT_MAX_WAITING
    # Simulated slowness: a pause after every decode step, so that a laptop-sized model can
    # stand in for a slow provider (and streams last long enough to be interrupted in tests).
    step_delay_ms: float = 0.0

    @classmethod
    def from_folder(cls, folder: Path, name: str | None = None) -> GenerationModelConfig:
        config = _read_json(folder / "config.json")
        generation = _read_json(folder / "generation_config.json")
        tokenizer_config = _read_json(folder / "tokenizer_config.json")
        maaskit = _read_json(folder / "maaskit.json")
        batching = maaskit.get("batching") or {}

        max_context = (
            maaskit.get("max_context_tokens")
            or config.get("n_positions")
            or config.get("max_position_embeddings")
            or tokenizer_config.get("model_max_length")
        )
        if not isinstance(max_context, int) or max_context <= 0:
            raise ValueError(f"{folder}: cannot tell the model's maximum context length")

        # generation_config.json wins over config.json, as in transformers' generate().
        eos: set[int] = set()
        for source in (generation, config):
            eos.update(_as_ids(source.get("eos_token_id")))
            if eos:
                break

        special_tokens = {
            key: token
            for key in ("bos_token", "eos_token", "unk_token", "pad_token")
            if (token := _token_text(tokenizer_config.get(key))) is not None
        }
        template = tokenizer_config.get("chat_template")
        if isinstance(template, list):
            # The list form names several templates; "default" is the one for plain chat.
            named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
            template = named.get("default")
        return cls(
            name=name or folder.name,
            folder=folder,
            max_context_tokens=max_context,
            eos_token_ids=frozenset(eos),
            chat_template=template if isinstance(template, str) else None,
            special_tokens=special_tokens,
            max_running_sequences=int(batching.get("max_running_sequences", DEFAULT_MAX_RUNNING)),
            max_waiting=int(batching.get("max_waiting", DEFAULT_MAX_WAITING)),
            step_delay_ms=float(maaskit.get("step_delay_ms", 0.0)),
        )


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _as_ids(value: object) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    return []


def _token_text(value: object) -> str | None:
    # tokenizer_config.json stores special tokens either as strings or as AddedToken dicts.
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return str(value["content"])
    return None
