"""Evaluation: the batched MPC loop, oracle and random baselines, metrics, videos and plots.

Axis legend: B episodes, N candidates, T context frames, H horizon (model steps), P patches,
D feature size, A action size of one model step, S image side.
"""

from worldplan.evaluate.episode import EpisodeResult
from worldplan.evaluate.metrics import markdown_table, summarize, wilson_interval
from worldplan.evaluate.mpc import EvalModel, TrueStateModel, run_episodes
from worldplan.evaluate.oracle import OracleModel
from worldplan.evaluate.runner import eval_episode_seed, evaluate_episodes, save_evaluation

__all__ = [
    "EpisodeResult",
    "EvalModel",
    "OracleModel",
    "TrueStateModel",
    "eval_episode_seed",
    "evaluate_episodes",
    "markdown_table",
    "run_episodes",
    "save_evaluation",
    "summarize",
    "wilson_interval",
]
