"""``worldplan plan``: evaluate a checkpoint (or the oracle / random baseline) by MPC on ``cfg.env``.

``worldplan.evaluate.plan`` says what it reads and writes; this prints the summary as a markdown table.
"""

from __future__ import annotations

from omegaconf import DictConfig

from worldplan.evaluate.metrics import markdown_table
from worldplan.evaluate.plan import plan_from_config

SUMMARY_COLUMNS = ("name", "episodes", "success_rate", "success_ci95", "mean_final_state_distance",
                   "mean_final_latent_distance", "plan_seconds_per_plan", "evaluations_per_plan")


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan plan``."""
    summary, out = plan_from_config(cfg)
    print(markdown_table([summary], SUMMARY_COLUMNS))
    print(f"outputs: {out}")
