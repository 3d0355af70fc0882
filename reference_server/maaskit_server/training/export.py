"""Exporting a trained Hugging Face model to the served ONNX form: optimum, then int8 weights.

Used by ``maaskit train classification --method finetune`` and by the default-model builders
(``maaskit models build``). Needs the ``export`` extra; nothing heavy is imported at module
level.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OFFLINE_ENV: dict[str, str] = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def optimum_export_command(model_dir: Path, task: str, out_dir: Path) -> list[str]:
    """The ``optimum-cli export onnx`` command line, run with the current interpreter."""
    return [
        sys.executable,
        "-m",
        "optimum.commands.optimum_cli",
        "export",
        "onnx",
        "--model",
        str(model_dir),
        "--task",
        task,
        "--library-name",
        "transformers",
        str(out_dir),
    ]


def optimum_export(model_dir: Path, task: str, out_dir: Path) -> None:
    """Export a local Hugging Face model folder to ONNX with optimum (offline)."""
    cmd = optimum_export_command(model_dir, task, out_dir)
    env = {**os.environ, **OFFLINE_ENV}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not (out_dir / "model.onnx").is_file():
        raise RuntimeError(f"optimum export failed ({proc.returncode}):\n{proc.stderr[-4000:]}")


def quantize_int8(src: Path, dst: Path, *, block_size: int = 64) -> None:
    """int8 weights: blockwise weight-only MatMuls (MatMulNBits) + per-channel embedding tables.

    ``quantize_dynamic(per_channel=True)`` on every op was tried first: it also quantizes the
    *activations* per tensor at run time, which costs MiniLM up to 0.05 of cosine on short
    inputs and makes a text's vector depend on what it is batched with. Here the MatMul weights
    get int8 with one scale per block of ``block_size`` input rows (``accuracy_level=4``: int8
    compute with block-wise activation scales, independent of the rest of the batch), and the
    Gather (embedding) tables get int8 per channel with ``quantize_dynamic``.
    """
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    dst.parent.mkdir(parents=True, exist_ok=True)
    gather_q = dst.with_name(dst.stem + ".gather.onnx")
    quantize_dynamic(
        model_input=str(src),
        model_output=str(gather_q),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["Gather"],
    )
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer logs every node at INFO
    try:
        quantizer = MatMulNBitsQuantizer(
            onnx.load(str(gather_q)),
            bits=8,
            block_size=block_size,
            is_symmetric=True,
            accuracy_level=4,
            op_types_to_quantize=("MatMul",),
        )
        quantizer.process()
        quantizer.model.save_model_to_file(str(dst), False)
    finally:
        logging.getLogger().setLevel(level)
        gather_q.unlink(missing_ok=True)
    if dst.with_name(dst.name + ".data").exists():
        raise RuntimeError("quantized model unexpectedly has external data")
