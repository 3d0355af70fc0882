"""Training loop for the ``tiny-shakespeare`` default model (torch, CPU, one thread)."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class TrainConfig:
    """Hyper-parameters; the run stops at ``max_minutes`` of wall time (a hard cap)."""

    n_layer: int = 4
    n_embd: int = 160
    n_head: int = 5
    n_positions: int = 256
    vocab_size: int = 4096
    batch_size: int = 8
    lr: float = 1.5e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    max_minutes: float = 25.0
    eval_every_s: float = 180.0
    eval_windows: int = 128
    seed: int = 0
    threads: int = 1


@dataclass
class TrainResult:
    """What the run measured (every figure of the model card comes from here)."""

    config: dict[str, Any]
    params: int
    steps: int = 0
    tokens_seen: int = 0
    wall_s: float = 0.0
    tokens_per_s: float = 0.0
    best_step: int = 0
    best_val_loss_subset: float = math.inf
    val_loss: float = math.inf
    history: list[dict[str, float]] = field(default_factory=list)


def windows(ids: list[int], length: int) -> np.ndarray:
    """Non-overlapping windows of ``length + 1`` tokens (input plus shifted target)."""
    arr = np.asarray(ids, dtype=np.int64)
    n = (len(arr) - 1) // length
    return np.stack([arr[i * length : i * length + length + 1] for i in range(n)])


def _lr_at(cfg: TrainConfig, step: int, progress: float) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return cfg.min_lr + (cfg.lr - cfg.min_lr) * cosine


def evaluate(model: Any, wins: np.ndarray, batch: int = 16) -> float:
    """Mean next-token cross-entropy (nats) over the windows, dropout off."""
    import torch
    import torch.nn.functional as F

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(wins), batch):
            chunk = torch.from_numpy(wins[start : start + batch])
            logits = model(input_ids=chunk[:, :-1]).logits
            loss = F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1), reduction="sum"
            )
            total += float(loss)
            count += chunk[:, 1:].numel()
    model.train(was_training)
    return total / count


def train(cfg: TrainConfig, train_ids: list[int], val_ids: list[int]) -> tuple[Any, TrainResult]:
    """Train a GPT-2 model from scratch; return the best weights (by validation loss)."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm
    from transformers import GPT2LMHeadModel

    from maaskit_server._build.lm_export import model_config

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    config = model_config(cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_positions, cfg.vocab_size)
    model = GPT2LMHeadModel(config)
    model.train()
    params = sum(p.numel() for p in model.parameters())
    result = TrainResult(config=asdict(cfg), params=params)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )
    data = np.asarray(train_ids, dtype=np.int64)
    val_all = windows(val_ids, cfg.n_positions)
    pick = np.random.default_rng(cfg.seed + 1).permutation(len(val_all))[: cfg.eval_windows]
    val_subset = val_all[np.sort(pick)]
    t_len = cfg.n_positions
    budget = cfg.max_minutes * 60.0
    best_state: dict[str, Any] = copy.deepcopy(model.state_dict())
    start = time.monotonic()
    next_eval = cfg.eval_every_s
    eval_time = 0.0
    bar = tqdm(total=int(budget), unit="s", desc="train", mininterval=10.0)
    step = 0
    loss_ema = math.nan
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= budget:
            break
        lr = _lr_at(cfg, step, elapsed / budget)
        for group in opt.param_groups:
            group["lr"] = lr
        starts = rng.integers(0, len(data) - t_len - 1, size=cfg.batch_size)
        batch = torch.from_numpy(np.stack([data[s : s + t_len + 1] for s in starts]))
        logits = model(input_ids=batch[:, :-1]).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        result.tokens_seen += cfg.batch_size * t_len
        value = float(loss)
        loss_ema = value if math.isnan(loss_ema) else 0.98 * loss_ema + 0.02 * value
        now = time.monotonic() - start
        bar.n = min(int(now), int(budget))
        bar.set_postfix(step=step, loss=f"{loss_ema:.3f}", lr=f"{lr:.2e}", refresh=False)
        bar.update(0)
        if now >= next_eval or now >= budget:
            t0 = time.monotonic()
            val = evaluate(model, val_subset)
            eval_time += time.monotonic() - t0
            train_tps = result.tokens_seen / max(1e-9, now - eval_time)
            result.history.append(
                {
                    "step": step,
                    "minutes": round(now / 60.0, 2),
                    "train_loss_ema": round(loss_ema, 4),
                    "val_loss_subset": round(val, 4),
                    "tokens_per_s": round(train_tps, 1),
                }
            )
            bar.write(
                f"step {step} {now / 60:.1f} min train {loss_ema:.3f} val {val:.3f} "
                f"(ppl {math.exp(val):.1f}) {train_tps:.0f} tok/s"
            )
            if val < result.best_val_loss_subset:
                result.best_val_loss_subset = val
                result.best_step = step
                best_state = copy.deepcopy(model.state_dict())
            next_eval = now + cfg.eval_every_s
    bar.close()
    wall = time.monotonic() - start
    result.steps = step
    result.wall_s = round(wall, 1)
    result.tokens_per_s = round(result.tokens_seen / max(1e-9, wall - eval_time), 1)
    model.load_state_dict(best_state)
    model.eval()
    result.val_loss = evaluate(model, val_all)
    return model, result
