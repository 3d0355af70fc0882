"""Export, quantization and onnxruntime checks for the ``tiny-shakespeare`` default model."""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

EOT = "<|endoftext|>"
# Each message renders as "ROLE:\ncontent\n\n" (role upper-cased, like a speaker line of the
# training text); with add_generation_prompt the template ends with "ASSISTANT:\n".
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ message['role'] | upper }}:\n{{ message['content'] | trim }}\n\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:\n{% endif %}"
)
FINAL_FILES = (
    "model.onnx",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "config.json",
    "generation_config.json",
    "maaskit.json",
    "README.md",
)


def model_config(n_layer: int, n_embd: int, n_head: int, n_positions: int, vocab: int) -> Any:
    """The GPT-2 configuration of the model."""
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=vocab,
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        resid_pdrop=0.1,
        embd_pdrop=0.1,
        attn_pdrop=0.1,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
        tie_word_embeddings=True,
    )


def save_tokenizer_files(tok: Any, out: Path, n_positions: int) -> None:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``."""
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    special = {"bos_token": EOT, "eos_token": EOT, "unk_token": EOT, "pad_token": EOT}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": n_positions,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        **special,
        "added_tokens_decoder": {
            "0": {
                "content": EOT,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
        },
        "chat_template": CHAT_TEMPLATE,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")


def save_hf_folder(model: Any, tok: Any, out: Path) -> None:
    """Save a transformers folder (weights, config, generation config, tokenizer)."""
    from transformers import GenerationConfig

    model.save_pretrained(str(out))
    gen = GenerationConfig(bos_token_id=0, eos_token_id=0, pad_token_id=0)
    gen.save_pretrained(str(out))
    save_tokenizer_files(tok, out, int(model.config.n_positions))


def export_onnx(hf_dir: Path, out: Path) -> None:
    """optimum export with ``text-generation-with-past``: one merged ``model.onnx``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from optimum.exporters.onnx import main_export

    main_export(
        str(hf_dir),
        output=str(out),
        task="text-generation-with-past",
        library_name="transformers",
        device="cpu",
        no_post_process=False,
    )
    if not (out / "model.onnx").exists():
        raise RuntimeError(f"optimum wrote no model.onnx into {out}: {sorted(os.listdir(out))}")


def write_maaskit_json(out: Path, n_positions: int, description: str) -> None:
    data = {
        "task": "text-generation",
        "max_context_tokens": n_positions,
        "batching": {"max_running_sequences": 8, "max_waiting": 64},
        "price_per_million_tokens": 0.0,
        "description": description,
    }
    (out / "maaskit.json").write_text(json.dumps(data, indent=2) + "\n")


def lm_head_nodes(path: Path) -> list[str]:
    """Names of the nodes that produce ``logits`` (the output projection)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return [str(node.name) for node in graph.node if "logits" in node.output]


def quantize_int8(src: Path, dst: Path, exclude: list[str] | None = None) -> None:
    """Dynamic int8 quantization, per channel (per-tensor loses too much)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        per_channel=True,
        nodes_to_exclude=exclude or [],
    )


def session(path: Path) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def describe_io(sess: Any) -> str:
    """Text listing of the ONNX inputs and outputs (name, shape, dtype)."""
    lines = ["inputs:"]
    lines += [f"  {i.name}  shape={i.shape}  dtype={i.type}" for i in sess.get_inputs()]
    lines.append("outputs:")
    lines += [f"  {o.name}  shape={o.shape}  dtype={o.type}" for o in sess.get_outputs()]
    return "\n".join(lines) + "\n"


def _empty_past(sess: Any, batch: int) -> dict[str, np.ndarray]:
    past: dict[str, np.ndarray] = {}
    for inp in sess.get_inputs():
        if inp.name.startswith("past_key_values."):
            heads, head_dim = int(inp.shape[1]), int(inp.shape[3])
            past[inp.name] = np.zeros((batch, heads, 0, head_dim), dtype=np.float32)
    return past


def ort_decode(
    sess: Any,
    prompt_ids: list[int],
    new_tokens: int,
    eos_id: int | None = None,
    pick: Callable[[np.ndarray], int] | None = None,
) -> list[int]:
    """Plain onnxruntime decode with the KV cache (batch 1, numpy); greedy unless ``pick``.

    Stops after ``new_tokens`` tokens or after emitting ``eos_id`` (which is included).
    """
    out_names = [o.name for o in sess.get_outputs()]
    past = _empty_past(sess, 1)
    ids = np.array([prompt_ids], dtype=np.int64)
    total = len(prompt_ids)
    positions = np.arange(total, dtype=np.int64)[None, :]
    generated: list[int] = []
    for _ in range(new_tokens):
        feed = {
            "input_ids": ids,
            "attention_mask": np.ones((1, total), dtype=np.int64),
            "position_ids": positions,
            **past,
        }
        results = dict(zip(out_names, sess.run(None, feed), strict=True))
        row = results["logits"][0, -1]
        nxt = int(np.argmax(row)) if pick is None else pick(row)
        generated.append(nxt)
        if eos_id is not None and nxt == eos_id:
            break
        past = {
            name.replace("present.", "past_key_values."): value
            for name, value in results.items()
            if name.startswith("present.")
        }
        ids = np.array([[nxt]], dtype=np.int64)
        positions = np.array([[total]], dtype=np.int64)
        total += 1
    return generated


def top_k_sampler(seed: int, temperature: float = 0.8, k: int = 40) -> Callable[[np.ndarray], int]:
    """A seeded top-k sampler over one row of logits."""
    rng = np.random.default_rng(seed)

    def pick(row: np.ndarray) -> int:
        top = np.argpartition(row, -k)[-k:]
        scaled = row[top].astype(np.float64) / temperature
        probs = np.exp(scaled - scaled.max())
        probs /= probs.sum()
        return int(top[rng.choice(k, p=probs)])

    return pick


def ort_val_loss(sess: Any, windows: np.ndarray, batch: int = 8) -> float:
    """Mean next-token cross-entropy (nats) of ``windows`` (n, T+1) with onnxruntime."""
    total, count = 0.0, 0
    n, length = windows.shape[0], windows.shape[1] - 1
    for start in range(0, n, batch):
        chunk = windows[start : start + batch]
        b = chunk.shape[0]
        feed = {
            "input_ids": chunk[:, :-1].astype(np.int64),
            "attention_mask": np.ones((b, length), dtype=np.int64),
            "position_ids": np.tile(np.arange(length, dtype=np.int64), (b, 1)),
            **_empty_past(sess, b),
        }
        logits = sess.run(["logits"], feed)[0].astype(np.float64)
        logits -= logits.max(axis=-1, keepdims=True)
        logz = np.log(np.exp(logits).sum(axis=-1))
        targets = chunk[:, 1:]
        picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
        total += float((logz - picked).sum())
        count += targets.size
    return total / count


def perplexity(loss: float) -> float:
    return math.exp(loss)


def keep_only_final(folder: Path) -> None:
    """Delete everything in ``folder`` except the final model files."""
    for entry in folder.iterdir():
        if entry.name in FINAL_FILES:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
