"""Moves the shipped ``sentiment`` model to the fp16-stored format without retraining it.

The fine-tuned fp32 weights were not kept by the build that trained the model (only its int8
``MatMulNBits`` file was shipped), and retraining gives a different model. So the int8 weights
themselves are the reference: each ``MatMulNBits`` weight is dequantized exactly
(``(q - 128) * scale``) and stored as fp16 (:mod:`.fp16_storage`), computed in fp32; the int8
embedding tables stay as they are. What changes is the rounding of the weights to fp16 (and
no more int8 activations, which accuracy level 4 used), measured here on the held-out test
split against both the shipped file and the exact dequantized weights in fp32.

``python -m maaskit_server._build sentiment OUT --reformat-from SHIPPED_FOLDER`` (needs onnx
and the tweets corpus, no torch).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from maaskit_server._build import _common, fp16_storage
from maaskit_server._build.sentiment_data import (
    CANARIES,
    LABELS,
    collect,
    preprocess,
    stratified_split,
)

#: Test-split tweets whose reference logits go into the test fixture (plus the canaries).
FIXTURE_TWEETS = 48
#: The reformatted model may differ from the exact dequantized weights by this much per logit
#: (measured 0.0013 at most over the 3,601 test tweets).
MAX_LOGIT_DIFF = 0.01


def _convert(src: Path, dst: Path, *, fp16: bool) -> None:
    import onnx

    dst.mkdir(parents=True, exist_ok=True)
    for path in src.iterdir():
        if path.name not in ("model.onnx", "README.md"):
            shutil.copyfile(path, dst / path.name)
    model = onnx.load(str(src / "model.onnx"))
    fp16_storage.dequantize_matmul_nbits(model)
    if fp16:
        fp16_storage.store_fp16(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst / "model.onnx"))


def _agreement(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> dict[str, float]:
    return {
        "labels_agree": float((a.argmax(axis=1) == b.argmax(axis=1)).mean()),
        "max_logit_diff": float(np.abs(a - b).max()),
        "mean_logit_diff": float(np.abs(a - b).mean()),
    }


def _card_section(facts: dict[str, Any]) -> str:
    vs_old, vs_exact = facts["vs_shipped"], facts["vs_exact"]
    return f"""## Storage format (since {facts["date"]})
`model.onnx` stores its weights in fp16 behind a `Cast` to fp32 (folded by onnxruntime at load;
fp32 compute); the embedding tables stay int8. It was converted from the int8 `MatMulNBits`
file this card describes above (whose fp32 weights were not kept) by
`maaskit_server._build.sentiment_reformat`: each int8 weight dequantized exactly, then rounded
to fp16. On the {facts["n"]:,} test tweets:

| compared with | labels agree | max abs logit diff | mean abs logit diff |
|---|---|---|---|
| the exact dequantized int8 weights in fp32 (the reference) | \
{vs_exact["labels_agree"]:.4f} | {vs_exact["max_logit_diff"]:.4f} | \
{vs_exact["mean_logit_diff"]:.5f} |
| the int8 `MatMulNBits` file shipped before (int8 activations too) | \
{vs_old["labels_agree"]:.4f} | {vs_old["max_logit_diff"]:.4f} | \
{vs_old["mean_logit_diff"]:.5f} |

Test accuracy {facts["accuracy"]:.4f}, macro-F1 {facts["macro_f1"]:.4f} in this format (the
int8 figures above: {facts["old_accuracy"]:.4f}, {facts["old_macro_f1"]:.4f}). A text's logits
are the same alone and in a batch (max abs difference {facts["batch_diff"]:.1e}).
`model.onnx` {facts["mb"]:.1f} MB, sha256 `{facts["sha256"]}`.

"""


def _card(old: str, facts: dict[str, Any]) -> str:
    text = old.replace("(int8 ONNX)", "(fp16-stored ONNX, fp32 compute)", 1)
    text = text.replace(
        "exported to ONNX and quantized to int8.",
        "exported to ONNX and quantized to int8, now stored in fp16 (see Storage format).",
        1,
    )
    text = re.sub(r"\n## Storage format \(since [^\n]*\n.*?(?=\n## )", "\n", text, flags=re.S)
    text = re.sub(
        r"\*\*Held-out test accuracy [0-9.]+, macro-F1 [0-9.]+\*\*",
        f"**Held-out test accuracy {facts['accuracy']:.4f}, macro-F1 {facts['macro_f1']:.4f}**",
        text,
        count=1,
    )
    marker = "\n## Interface"
    return text.replace(marker, "\n" + _card_section(facts).rstrip("\n") + "\n" + marker, 1)


def reformat(shipped: Path, out_dir: Path, fixture: Path | None = None) -> dict[str, Any]:
    """Write ``shipped`` in the fp16-stored format to ``out_dir``; optionally the test fixture."""
    from maaskit_server._build.sentiment_data import classification_metrics

    _, _, test_set = stratified_split(preprocess(collect())[0])
    texts = [e.text for e in test_set]
    with tempfile.TemporaryDirectory(prefix="maaskit-sentiment-") as tmp_name:
        tmp = Path(tmp_name)
        exact_dir, stage = tmp / "exact", tmp / "final"
        _convert(shipped, exact_dir, fp16=False)
        _convert(shipped, stage, fp16=True)
        shipped_logits = _common.OnnxEncoder(shipped).logits(texts)
        exact_logits = _common.OnnxEncoder(exact_dir).logits(texts)
        enc = _common.OnnxEncoder(stage)
        new_logits = enc.logits(texts)
        sample = [t for t, _ in CANARIES] + texts[:FIXTURE_TWEETS]
        together = enc.logits(sample)
        alone = np.concatenate([enc.logits([t]) for t in sample])
        gold = [e.label for e in test_set]
        new_metrics = classification_metrics(gold, new_logits.argmax(axis=1).tolist())
        old_metrics = classification_metrics(gold, shipped_logits.argmax(axis=1).tolist())
        facts: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d"),
            "n": len(texts),
            "vs_shipped": _agreement(new_logits, shipped_logits),
            "vs_exact": _agreement(new_logits, exact_logits),
            "accuracy": new_metrics["accuracy"],
            "macro_f1": new_metrics["macro_f1"],
            "old_accuracy": old_metrics["accuracy"],
            "old_macro_f1": old_metrics["macro_f1"],
            "batch_diff": float(np.abs(together - alone).max()),
            "mb": _common.size_mb(stage / "model.onnx"),
            "sha256": _common.sha256(stage / "model.onnx"),
        }
        if facts["vs_exact"]["max_logit_diff"] > MAX_LOGIT_DIFF:
            raise RuntimeError(f"fp16 storage moved a logit by {facts['vs_exact']}")
        card = _card((shipped / "README.md").read_text(encoding="utf-8"), facts)
        (stage / "README.md").write_text(card, encoding="utf-8")
        meta = json.loads((stage / "maaskit.json").read_text(encoding="utf-8"))
        meta["description"] = meta["description"].replace("int8 ONNX", "fp16-stored ONNX")
        meta["batching"] = _common.maaskit_json("classification", "")["batching"]
        _common.write_json(stage / "maaskit.json", meta)
        if fixture is not None:
            exact_sample = _common.OnnxEncoder(exact_dir).logits(sample)
            _common.write_json(
                fixture,
                {
                    "reference": "the shipped int8 weights dequantized exactly, fp32 compute",
                    "labels": list(LABELS),
                    "texts": sample,
                    "logits": [[round(float(x), 6) for x in row] for row in exact_sample],
                    "max_logit_diff": MAX_LOGIT_DIFF,
                },
            )
        if out_dir.resolve() == shipped.resolve():
            for path in shipped.iterdir():
                path.unlink()
        elif out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for path in stage.iterdir():
            shutil.copyfile(path, out_dir / path.name)
    print(f"sentiment: {json.dumps(facts)}")
    return facts
