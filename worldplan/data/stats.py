"""Running per-dimension mean and standard deviation, merged one batch at a time.

Chan et al.'s parallel form of Welford's update: a batch's count, mean and sum of squared deviations
are merged into the running ones in float64, so a dataset's normalisation statistics are kept up to
date episode by episode without re-reading earlier episodes, and a resumed collection reproduces
the statistics of an uninterrupted one bit for bit (the same merges in the same order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RunningStats:
    """Running statistics of vectors of size D.

    Attributes:
        count: number of vectors merged so far.
        mean: (D,) float64 running mean.
        m2: (D,) float64 running sum of squared deviations from the mean.
    """

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def empty(cls, dim: int) -> RunningStats:
        """No data yet, for vectors of size ``dim``."""
        return cls(count=0, mean=np.zeros(dim, np.float64), m2=np.zeros(dim, np.float64))

    @property
    def std(self) -> np.ndarray:
        """(D,) population standard deviation (zeros before any data)."""
        if self.count == 0:
            return np.zeros_like(self.m2)
        return np.sqrt(self.m2 / self.count)

    def update(self, batch: np.ndarray) -> None:
        """Merge a batch of vectors.

        Args:
            batch: (N, D) values; N may be 0.
        """
        batch = np.asarray(batch, dtype=np.float64)
        if batch.ndim != 2 or batch.shape[1] != self.mean.shape[0]:
            raise ValueError(f"RunningStats of size {self.mean.shape[0]} got a batch of shape {batch.shape}")
        n = batch.shape[0]
        if n == 0:
            return
        batch_mean = batch.mean(axis=0)
        batch_m2 = ((batch - batch_mean) ** 2).sum(axis=0)
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + batch_m2 + delta**2 * (self.count * n / total)
        self.count = total

    def to_dict(self) -> dict:
        """JSON-ready: count, mean, std (for readers) and m2 (to keep merging after a resume)."""
        return {
            "count": self.count,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "m2": self.m2.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> RunningStats:
        """Inverse of ``to_dict`` (``std`` is recomputed from ``m2``)."""
        mean = np.asarray(data["mean"], dtype=np.float64)
        m2 = np.asarray(data["m2"], dtype=np.float64)
        if mean.ndim != 1 or mean.shape != m2.shape:
            raise ValueError(f"statistics have mean of shape {mean.shape} and m2 of shape {m2.shape}")
        return cls(count=int(data["count"]), mean=mean, m2=m2)
