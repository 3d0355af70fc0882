"""The default encoders' storage formats side by side: int8 ``MatMulNBits`` (before) vs
fp16-stored weights with fp32 compute (now).

The old files are read from git history (the commit before the change), so the comparison
needs a git checkout; each format gets the same tokenizer and ``maaskit.json``. Reported per
model and format: raw onnxruntime sentences/s at batch 1 / 8 / 64 (wall clock with every core,
and per CPU-second with one thread, which a busy shared machine disturbs less), then the server
at 8 and 64 clients. Every figure is a median over interleaved cycles (old, new, old, new...).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._encoder_model import PlainEncoder
from benchmarks._load import post_load
from benchmarks._process import free_port, running
from benchmarks._stats import median_of_cycles
from benchmarks._texts import sentences

#: The last commit whose default encoders were int8 MatMulNBits files.
OLD_FORMAT_COMMIT = "e35e387"
FORMATS = ("int8_matmulnbits", "fp16_stored")
BATCH_SIZES = (1, 8, 64)
CLIENTS = (8, 64)
ROUTES = {"embeddings": "/v1/embeddings", "classification": "/v1/classify"}
REPO = Path(__file__).resolve().parent.parent


def _old_model(model: str, out: Path) -> bool:
    path = f"reference_server/maaskit_server/models/{model}/model.onnx"
    found = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{OLD_FORMAT_COMMIT}:{path}"],
        capture_output=True,
        check=False,
    )
    if found.returncode != 0:
        return False
    out.write_bytes(found.stdout)
    return True


def _raw(folder: Path, texts: list[str]) -> dict[str, Any]:
    wide, narrow = PlainEncoder(folder), PlainEncoder(folder, threads=1)
    wide.run(texts[:8])
    narrow.run(texts[:8])
    found: dict[str, Any] = {}
    for batch_size in BATCH_SIZES:
        batches = [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]
        started = time.perf_counter()
        for batch in batches:
            wide.run(batch)
        wall = time.perf_counter() - started
        cpu_started = time.process_time()
        for batch in batches:
            narrow.run(batch)
        cpu = time.process_time() - cpu_started
        found[str(batch_size)] = {
            "sentences_per_second": round(len(texts) / wall, 2),
            "one_thread_sentences_per_cpu_second": round(len(texts) / cpu, 2),
        }
    return found


def _served(base: str, route: str, model: str, texts: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for clients in CLIENTS:
        summary = post_load(
            f"{base}{route}",
            lambda i: {"model": model, "input": texts[i % len(texts)]},
            concurrency=clients,
            total=len(texts),
        )
        found[str(clients)] = {"per_second": round(summary.per_second, 2)}
    return found


def run(models_dir: Path, model: str, *, quick: bool) -> dict[str, Any] | None:
    """Old vs new format of ``model``; None when the old file is not in git history."""
    total = 64 if quick else 512
    cycles = 1 if quick else 3
    texts = sentences(total)
    with tempfile.TemporaryDirectory(prefix="maaskit-formats-") as tmp_name:
        roots = {name: Path(tmp_name) / name for name in FORMATS}
        for root in roots.values():
            shutil.copytree(models_dir / model, root / model)
        if not _old_model(model, roots["int8_matmulnbits"] / model / "model.onnx"):
            return None
        task = PlainEncoder(roots["fp16_stored"] / model).task
        ports = {name: free_port() for name in FORMATS}
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in FORMATS}
        commands = {
            name: ["-m", "maaskit_server", "--models", str(roots[name]), "--port",
                   str(ports[name]), "--no-access-log"]
            for name in FORMATS
        }  # fmt: skip
        with (
            running(commands[FORMATS[0]], f"http://127.0.0.1:{ports[FORMATS[0]]}/ready"),
            running(commands[FORMATS[1]], f"http://127.0.0.1:{ports[FORMATS[1]]}/ready"),
        ):
            for _ in range(cycles):
                for name in FORMATS:
                    base = f"http://127.0.0.1:{ports[name]}"
                    samples[name].append(
                        {
                            "raw_onnxruntime": _raw(roots[name] / model, texts),
                            "server_sentences_per_second": _served(
                                base, ROUTES[task], model, texts
                            ),
                        }
                    )
        sizes = {
            name: (roots[name] / model / "model.onnx").stat().st_size / 1e6 for name in FORMATS
        }
    found: dict[str, Any] = {
        name: {"model_mb": round(sizes[name], 1), **median_of_cycles(samples[name])}
        for name in FORMATS
    }
    old, new = found["int8_matmulnbits"], found["fp16_stored"]
    ratios = {
        f"raw batch {b} (new / old)": round(
            new["raw_onnxruntime"][str(b)]["sentences_per_second"]
            / old["raw_onnxruntime"][str(b)]["sentences_per_second"],
            3,
        )
        for b in BATCH_SIZES
    }
    ratios.update(
        {
            f"raw batch {b}, one thread, per CPU-second (new / old)": round(
                new["raw_onnxruntime"][str(b)]["one_thread_sentences_per_cpu_second"]
                / old["raw_onnxruntime"][str(b)]["one_thread_sentences_per_cpu_second"],
                3,
            )
            for b in BATCH_SIZES
        }
    )
    ratios.update(
        {
            f"served at {c} clients (new / old)": round(
                new["server_sentences_per_second"][str(c)]["per_second"]
                / old["server_sentences_per_second"][str(c)]["per_second"],
                3,
            )
            for c in CLIENTS
        }
    )
    return {"model": model, "cycles": cycles, "sentences_per_point": total, **found,
            "ratios": ratios}  # fmt: skip
