"""One training loop for CPU, one GPU or torchrun DDP, with exact resume.

The loop trains an *objective*: an ``nn.Module`` whose ``forward(batch)`` returns the scalar loss
of a batch of windows (see ``worldplan.train.objective``), so DDP wraps exactly the module whose
gradients it must average. AdamW, linear warmup + cosine decay, gradient clipping, optional bf16
autocast. Every ``save_every`` steps and at the end, rank 0 calls ``save_model`` (the model
checkpoint for consumers, ``${workdir}/checkpoints/<name>/``, which ``save_checkpoint`` replaces
as a whole) and writes ``trainer_state.pt`` (weights, optimiser, step, every rank's RNG states) to
the run directory (``${workdir}/train/<name>/``, also holding ``log.jsonl`` and, with ``tensorboard``
installed, TensorBoard event files: ``worldplan.train.logging_sinks``). Re-running with the
same run directory and ``resume=True`` continues from there and ends with the same weights as an
uninterrupted run: batches are a pure function of the step (``StepBatchSampler``) and the
per-window randomness of the data is seeded by its index.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from worldplan.models.precision import autocast, resolve_train_dtype
from worldplan.train.distributed import DistContext, all_reduce_mean, gather_objects, wrap_model
from worldplan.train.logging_sinks import RunLog, open_run_log
from worldplan.train.sampler import StepBatchSampler
from worldplan.train.state import capture_rng, load_state, restore_rng, save_state, state_sha256

__all__ = ["NonFiniteLossError", "TrainSettings", "TrainResult", "Trainer", "build_optimizer", "lr_at"]

log = logging.getLogger(__name__)

# Settings that change the optimisation trajectory: a resume refuses to continue if they differ.
_TRAJECTORY_KEYS = (
    "steps", "batch_size", "lr", "min_lr_ratio", "weight_decay", "warmup_steps", "grad_clip", "amp", "seed",
)


def build_optimizer(model: nn.Module, *, lr: float, weight_decay: float,
                    betas: tuple[float, float] = (0.9, 0.95)) -> torch.optim.AdamW:
    """AdamW over the trainable parameters: weight decay on matrices (ndim >= 2) only, none on
    biases, norms, LayerScale gains and embeddings of one vector. Frozen parameters are left out."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters: check the fine-tuning mode")
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, betas=betas)


def lr_at(step: int, *, lr: float, steps: int, warmup_steps: int, min_lr_ratio: float) -> float:
    """Linear warmup from ``lr / warmup_steps`` to ``lr`` over ``warmup_steps``, then cosine decay
    to ``lr * min_lr_ratio`` at ``steps``. ``step`` counts from 0."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, steps - warmup_steps))
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


class NonFiniteLossError(ValueError):
    """The training loss became NaN or inf (learning rate too high, or bad data)."""


@dataclass(frozen=True)
class TrainSettings:
    """The trainer's knobs (``cfg.train`` minus the pretrain/finetune specifics).

    Attributes:
        steps: optimiser steps in all.
        batch_size: global batch (all processes together).
        lr: peak learning rate; ``min_lr_ratio`` x lr at the end of the cosine.
        weight_decay: AdamW decay of weight matrices.
        warmup_steps: linear warmup steps.
        grad_clip: max global gradient norm (0: no clipping).
        amp: ``auto`` | ``bf16`` | ``fp32`` autocast precision (``models.precision.resolve_train_dtype``:
            auto is bf16 on CUDA devices with bf16, fp32 on every CPU).
        save_every: checkpoint every this many steps (0: only at the end).
        log_every: log the mean loss every this many steps.
        eval_every: run the evaluation before training and every this many steps (0: only at the end).
        resume: continue from ``trainer_state.pt`` in the output directory if there is one.
        seed: shuffling seed.
        num_workers: DataLoader worker processes.
        tensorboard: also write TensorBoard event files to the run directory (if tensorboard is installed).
        wandb: also log to a Weights & Biases run (needs the wandb package).
    """

    steps: int
    batch_size: int
    lr: float
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.05
    warmup_steps: int = 0
    grad_clip: float = 1.0
    amp: str = "auto"
    save_every: int = 0
    log_every: int = 10
    eval_every: int = 0
    resume: bool = True
    seed: int = 0
    num_workers: int = 0
    tensorboard: bool = True
    wandb: bool = False

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"train.steps and train.batch_size must be >= 1, got {self.steps}, {self.batch_size}")
        if self.lr <= 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"need train.lr > 0 and 0 <= train.min_lr_ratio <= 1, got {self.lr}, {self.min_lr_ratio}")
        if min(self.warmup_steps, self.save_every, self.eval_every, self.num_workers) < 0 or self.log_every < 1:
            raise ValueError("train.warmup_steps/save_every/eval_every/num_workers must be >= 0 and log_every >= 1")

    @classmethod
    def from_config(cls, train_cfg: Any, *, seed: int) -> "TrainSettings":
        """Pick this dataclass's fields out of ``cfg.train`` (a DictConfig or mapping)."""
        names = {f.name for f in fields(cls)} - {"seed"}
        return cls(seed=seed, **{k: train_cfg[k] for k in names if k in train_cfg})


@dataclass(frozen=True)
class TrainResult:
    """What a ``fit`` did: the final step, the step it resumed from, the last logged mean loss,
    the last evaluation's metrics (empty on ranks other than 0 or without an evaluation), the
    SHA-256 of the trained module's final weights as this process holds them, and its rank."""

    step: int
    resumed_from: int
    loss: float
    metrics: dict
    weights_sha256: str
    rank: int


class Trainer:
    """Trains ``objective`` on ``dataset``; checkpoints through ``save_model``, state in ``run_dir``.

    Args:
        objective: module with ``forward(batch: dict[str, Tensor]) -> loss ()``; its trainable
            parameters are the ones with ``requires_grad``.
        dataset: map-style dataset of window dicts accepting epoch-tagged indices
            (``worldplan.data.windows.WindowDataset``).
        settings: the knobs.
        run_dir: where ``trainer_state.pt``, ``log.jsonl`` and event files go (rank 0 writes them).
        ctx: the process context from ``init_distributed``.
        save_model: ``save_model(step)`` writes the model checkpoint (called on rank 0 only).
        evaluate: optional ``evaluate(step) -> metrics`` run on rank 0 (every ``eval_every``
            steps and at the end); the metrics are logged with the losses.
        progress: show a tqdm bar on rank 0.
    """

    def __init__(
        self,
        objective: nn.Module,
        dataset: Dataset,
        *,
        settings: TrainSettings,
        run_dir: Path,
        ctx: DistContext,
        save_model: Callable[[int], None],
        evaluate: Callable[[int], dict] | None = None,
        progress: bool = True,
    ) -> None:
        self.module = objective.to(ctx.device)
        self.model = wrap_model(self.module, ctx)
        self.dataset, self.settings, self.ctx = dataset, settings, ctx
        self.run_dir, self.save_model, self.evaluate, self.progress = Path(run_dir), save_model, evaluate, progress
        self.optimizer = build_optimizer(self.module, lr=settings.lr, weight_decay=settings.weight_decay)
        self.precision = resolve_train_dtype(settings.amp, ctx.device)
        self._trainable = [p for p in self.module.parameters() if p.requires_grad]
        self._run_log = RunLog([])

    def fit(self) -> TrainResult:
        """Train from the resume point (or step 0) to ``settings.steps``; checkpoint at the end."""
        s = self.settings
        start = self._resume()
        if self.ctx.is_main:
            self._run_log = open_run_log(self.run_dir, start=start, tensorboard=s.tensorboard, wandb=s.wandb)
        with self._run_log:
            return self._fit(start)

    def _fit(self, start: int) -> TrainResult:
        s = self.settings
        loader = self._loader(start)
        if s.eval_every and start == 0:
            self._evaluate(0)  # the starting point: what initialisation alone gives
        bar = tqdm(total=s.steps, initial=start, disable=not (self.ctx.is_main and self.progress), desc="train")
        loss_sum, loss_count, last_loss = torch.zeros((), device=self.ctx.device), 0, float("nan")
        clock = time.perf_counter()
        for step, batch in zip(range(start, s.steps), loader):
            loss_sum += self._train_step(step, batch)
            loss_count += 1
            done = step + 1
            bar.update(1)
            if done % s.log_every == 0 or done == s.steps:
                last_loss = self._log_loss(done, loss_sum / loss_count, time.perf_counter() - clock, bar)
                loss_sum, loss_count, clock = torch.zeros_like(loss_sum), 0, time.perf_counter()
            if s.eval_every and done % s.eval_every == 0 and done < s.steps:
                self._evaluate(done)
            if s.save_every and done % s.save_every == 0 and done < s.steps:
                self._checkpoint(done)
        bar.close()
        metrics = self._evaluate(s.steps)
        self._checkpoint(s.steps)
        return TrainResult(step=s.steps, resumed_from=start, loss=last_loss, metrics=metrics,
                           weights_sha256=state_sha256(self.module.state_dict()), rank=self.ctx.rank)

    def _loader(self, start: int) -> DataLoader:
        s, ctx = self.settings, self.ctx
        sampler = StepBatchSampler(
            len(self.dataset), batch_size=s.batch_size, rank=ctx.rank, world_size=ctx.world_size,
            seed=s.seed, start_step=start, steps=s.steps,
        )
        return DataLoader(
            self.dataset, batch_sampler=sampler, num_workers=s.num_workers, pin_memory=ctx.device.type == "cuda"
        )

    def _train_step(self, step: int, batch: dict[str, Any]) -> torch.Tensor:
        s = self.settings
        lr = lr_at(step, lr=s.lr, steps=s.steps, warmup_steps=s.warmup_steps, min_lr_ratio=s.min_lr_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        batch = {k: v.to(self.ctx.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
        self.model.train()
        with autocast(self.ctx.device, self.precision):
            loss = self.model(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if s.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self._trainable, s.grad_clip)
        self.optimizer.step()
        return loss.detach().float()

    def _log_loss(self, step: int, mean_loss: torch.Tensor, seconds: float, bar: tqdm) -> float:
        loss = float(all_reduce_mean(mean_loss, self.ctx))
        if not math.isfinite(loss):  # all ranks see the same reduced loss, so all stop together
            raise NonFiniteLossError(f"non-finite training loss by step {step}: lower train.lr or check the data")
        if self.ctx.is_main:
            lr = self.optimizer.param_groups[0]["lr"]
            bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}")
            self._run_log.write({"step": step, "loss": loss, "lr": lr, "seconds": round(seconds, 3)})
        return loss

    def _evaluate(self, step: int) -> dict:
        metrics: dict = {}
        if self.evaluate is not None and self.ctx.is_main:
            metrics = self.evaluate(step)
            self._run_log.write({"step": step, "eval": metrics})
            log.info("step %d evaluation: %s", step, metrics)
        self._barrier()
        return metrics

    def _checkpoint(self, step: int) -> None:
        rng = gather_objects(capture_rng(), self.ctx)
        if self.ctx.is_main:
            self.save_model(step)
            save_state(self.run_dir, {
                "step": step, "model": self.module.state_dict(), "optimizer": self.optimizer.state_dict(),
                "rng": rng, "settings": self._signature(), "world_size": self.ctx.world_size,
            })
            log.info("checkpoint at step %d in %s", step, self.run_dir)
        self._barrier()

    def _signature(self) -> dict:
        return {k: v for k, v in asdict(self.settings).items() if k in _TRAJECTORY_KEYS}

    def _resume(self) -> int:
        state = load_state(self.run_dir) if self.settings.resume else None
        if state is None:
            return 0
        saved = state["settings"]
        changed = {k: (v, saved.get(k)) for k, v in self._signature().items() if saved.get(k) != v}
        if changed:
            raise ValueError(
                f"{self.run_dir} holds a run with other settings {changed} (new, saved): "
                "use a new output directory or train.resume=false to start over"
            )
        self.module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        rngs = state["rng"]
        restore_rng(rngs[self.ctx.rank] if len(rngs) == self.ctx.world_size else rngs[0])
        log.info("resuming %s from step %d", self.run_dir, state["step"])
        return int(state["step"])

    def _barrier(self) -> None:
        if self.ctx.is_distributed:
            dist.barrier()
