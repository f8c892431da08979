"""Paired comparison of two models' successes on the same goal tasks.

Two models planned the same tasks (same cell seed, same task seeds), so their outcomes are pairs.
The paired difference in success rate, with a paired bootstrap interval (pairs resampled together,
so the tasks' difficulty, shared by both, cancels) and the exact McNemar test (only tasks where the
two disagree carry information), says more than two overlapping Wilson intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000


def mcnemar_exact_p(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: the discordant pairs as a fair-coin binomial.

    Args:
        only_a: pairs where only the first model succeeded.
        only_b: pairs where only the second model succeeded.

    Returns:
        min(1, 2 * P[Binomial(only_a + only_b, 1/2) <= min(only_a, only_b)]); 1.0 with no discordant pair.
    """
    if only_a < 0 or only_b < 0:
        raise ValueError(f"discordant counts must be >= 0, got {only_a} and {only_b}")
    n, k = only_a + only_b, min(only_a, only_b)
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_difference(a: Sequence[bool], b: Sequence[bool], *, resamples: int = BOOTSTRAP_RESAMPLES,
                      seed: int = 0) -> dict[str, float | int | list[float]]:
    """Success-rate difference of model a over model b on the same tasks.

    Args:
        a, b: successes of the two models, pair i = the same task.
        resamples: bootstrap resamples of the pairs.
        seed: the bootstrap's generator seed (the same inputs and seed give the same interval).

    Returns:
        ``pairs``, ``difference`` (mean(a) - mean(b)), ``ci95`` [low, high] (paired percentile
        bootstrap), ``only_a``, ``only_b`` (discordant pairs) and ``mcnemar_p``.
    """
    a_arr, b_arr = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a_arr.shape != b_arr.shape or a_arr.ndim != 1 or a_arr.size == 0:
        raise ValueError(f"need two equal-length non-empty sequences of outcomes, got {a_arr.shape} and {b_arr.shape}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    diff = a_arr.astype(np.float64) - b_arr.astype(np.float64)  # per pair: -1, 0 or 1
    picks = np.random.default_rng(seed).integers(0, diff.size, size=(resamples, diff.size))
    means = diff[picks].mean(axis=1)
    only_a, only_b = int((a_arr & ~b_arr).sum()), int((b_arr & ~a_arr).sum())
    return {
        "pairs": int(diff.size), "difference": float(diff.mean()),
        "ci95": [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))],
        "only_a": only_a, "only_b": only_b, "mcnemar_p": mcnemar_exact_p(only_a, only_b),
    }
