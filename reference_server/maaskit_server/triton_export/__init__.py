"""Export model folders as a Triton / KServe model repository (scale-out beyond one machine).

Two backends, chosen per repository:

* ``"python"`` (the default): each encoder folder (embeddings, classification) becomes a Triton
  Python-backend model whose ``model.py`` runs the same tokenizer, onnxruntime session,
  pooling, normalisation, softmax and labels as the reference server, so Triton takes text (a
  ``text`` BYTES tensor) and answers like the server's KServe v2 routes (see ``_python``).
  Text-generation folders become decoupled models for Triton's generate extension, streaming
  text as it is decoded (``_templates/generation.py``).
* ``"onnxruntime"``: the graphs alone for Triton's ``onnxruntime_onnx`` backend, taking token ids
  (see ``_onnxruntime``); tokenization, pooling and softmax happen in the client.
* ``"ensemble"``: for clusters with the onnxruntime backend (GPUs): each encoder's graph on
  ``onnxruntime_onnx`` between a Python tokenizer step and a Python postprocess step, in a
  Triton ensemble named like the model, so text goes in there too (see ``_ensemble``).
"""

from __future__ import annotations

from pathlib import Path

from ..model_spec import ModelSpecError, looks_like_model_folder, read_model_spec
from ._config import Exported, ExportError
from ._ensemble import export_ensemble
from ._onnxruntime import export_onnx_model
from ._python import export_python_model

__all__ = [
    "BACKENDS",
    "GENERATION_NOT_EXPORTED",
    "TOKEN_CLASSIFICATION_NOT_EXPORTED",
    "ExportError",
    "Exported",
    "export_repository",
]

BACKENDS = ("python", "onnxruntime", "ensemble")
# Why the ensemble export skips text-generation folders (the CLI prints it).
GENERATION_NOT_EXPORTED = (
    "text generation is not exported as an ensemble: its decoding loop (sampling, the KV cache) "
    "cannot be a fixed pipeline; use --backend python (a decoupled model), Triton's vLLM or "
    "TensorRT-LLM backend, or --backend onnxruntime for the raw graph"
)
TOKEN_CLASSIFICATION_NOT_EXPORTED = (
    "token classification is not exported with text in and entities out (the Python-backend "
    "model and the ensemble serve embeddings and classification); use --backend onnxruntime "
    "for the raw graph (logits per token)"
)


def export_repository(models_dir: Path, out: Path, *, backend: str = "python") -> list[Exported]:
    """Export every servable model folder under ``models_dir`` into ``out``.

    ``backend`` is ``"python"`` (text in, answers out), ``"onnxruntime"`` (graphs only) or
    ``"ensemble"`` (text in, the graph on Triton's onnxruntime backend).
    Folders the backend cannot serve come back with ``skipped`` set to the reason.
    """
    if backend not in BACKENDS:
        raise ExportError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    if not models_dir.is_dir():
        raise ExportError(f"{models_dir} is not a directory")
    exported = []
    for folder in sorted(models_dir.iterdir()):
        if folder.name.startswith((".", "_")) or not looks_like_model_folder(folder):
            continue
        try:
            spec = read_model_spec(folder)
        except ModelSpecError as exc:
            raise ExportError(f"{folder.name}: {exc}") from exc
        if backend == "onnxruntime":
            exported.append(export_onnx_model(spec, out))
        elif backend == "ensemble" and spec.task == "text-generation":
            exported.append(
                Exported(spec.name, spec.task, out / spec.name, skipped=GENERATION_NOT_EXPORTED)
            )
        elif spec.task == "token-classification":
            exported.append(
                Exported(
                    spec.name, spec.task, out / spec.name, skipped=TOKEN_CLASSIFICATION_NOT_EXPORTED
                )
            )
        elif backend == "ensemble":
            exported.append(export_ensemble(spec, out))
        else:
            exported.append(export_python_model(spec, out))
    return exported
