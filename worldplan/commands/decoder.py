"""``worldplan decoder``: train the light pixel decoder used only to watch imagined rollouts.

Learns frames from their frozen encoder features on ``decoder.dataset`` (its feature cache, made if
missing) and writes ``decoder.out``. ``worldplan plan eval.decoder=<that dir>`` then shows, in each
episode video, what the plan predicts as "observation | imagined | goal"; the decoder never enters
the planning cost. Without a decoder, plan shows the nearest dataset frame instead (labelled so).
"""

from __future__ import annotations

from omegaconf import DictConfig

from worldplan.train.decoder import train_decoder


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan decoder``: trains, then prints the loss and where the decoder went."""
    result = train_decoder(cfg)
    print(f"trained the pixel decoder {result.steps} steps: {cfg.decoder.loss} pixel loss "
          f"{result.losses[0]:.4f} -> {result.losses[-1]:.4f}")
    print(f"decoder: {result.out} (watch plans with `worldplan plan ... eval.decoder={result.out}`)")
