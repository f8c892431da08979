"""``worldplan finetune``: action-conditioned fine-tuning, ``train.init=pretrained|scratch``.

``train.mode=actions|all`` picks what trains, ``train.finetune.episodes=k`` how many training
episodes are used. Runs as one process or under torchrun. Writes the checkpoint and
``metrics.json`` (validation latent error per rollout step, and the copy-last-frame baseline's) to
``train.finetune.out``, the trainer state and ``log.jsonl`` to ``train.finetune.run_dir``.
"""

from __future__ import annotations

from omegaconf import DictConfig

from worldplan.train.finetune import finetune


def _row(name: str, errors: list[float]) -> str:
    return f"{name:<16}" + "".join(f"{e:>10.4f}" for e in errors)


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan finetune``: trains, then prints the validation table."""
    result = finetune(cfg)
    metrics = result.metrics
    if not metrics:
        return
    horizon = len(metrics["model_mse"])
    print(f"fine-tuned (init={cfg.train.init}, mode={cfg.train.mode}) {result.step} steps; "
          f"validation latent MSE on {metrics['windows']} windows:")
    print(f"{'step':<16}" + "".join(f"{h:>10d}" for h in range(1, horizon + 1)))
    print(_row("model", metrics["model_mse"]))
    print(_row("other actions", metrics["shuffled_actions_mse"]))
    print(_row("copy-last-frame", metrics["copy_last_mse"]))
    print(f"checkpoint and metrics.json: {cfg.train.finetune.out}")
